"""Provides MarksAndFolders, mixed into SubmitScreen: the list of marked files, the path field, folder moves.

Why its own module: these are the ways a file gets marked or the tree moves (a glob or a folder typed in the
path field, backspace to the parent folder, the marked list's unmark), and each must leave the preview showing
what is under the cursor; screen.py keeps the checks, totals and the submit run. Handlers go by name
(`on_file_picker_rerooted`), since `@on` is only collected on Textual classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.widgets import Input, OptionList

from gembatch_tui.tui.submit import messages as msg
from gembatch_tui.tui.submit.file_picker import FilePicker
from gembatch_tui.tui.submit.marked_list import MarkedList
from gembatch_tui.tui.submit.paths import expand_path

if TYPE_CHECKING:
    from textual.screen import Screen

    _ScreenBase = Screen[None]
else:
    _ScreenBase = object


class MarksAndFolders(_ScreenBase):
    """The marked list, the path field and the tree's moves, for a screen with a picker and a preview."""

    picker: FilePicker
    marked_list: MarkedList
    root: Path
    current: Path | None
    running: bool

    if TYPE_CHECKING:
        def label(self, path: Path) -> str: ...
        def _show(self, pane: str) -> None: ...
        def _tree_folder(self) -> Path: ...
        def _preview_node(self, node: Any) -> None: ...
        def preview_file(self, path: Path) -> None: ...
        def preview_folder(self, path: Path) -> None: ...

    # ------------------------------------------------------------------ the tree moves
    def on_file_picker_rerooted(self, event: FilePicker.Rerooted) -> None:
        """The tree shows another folder: the preview follows its cursor (Textual posts no highlight when the
        cursor stays on the root, which left the old folder's preview on show)."""
        node = self.picker.cursor_node
        if node is None or node is self.picker.root:
            if not self.running:
                self._show("preview")
            self.preview_folder(event.path)
        else:
            self._preview_node(node)

    def on_file_picker_parent_wanted(self, _event: FilePicker.ParentWanted) -> None:
        self.action_parent_folder()

    def action_parent_folder(self) -> None:
        """Show the folder above the tree's root, with the cursor on the folder just left."""
        here = self._tree_folder()
        parent = here.parent
        if parent == here:
            self.app.bell()
            self.notify(f"{self.label(here)} has no parent folder", severity="warning")
            return
        self.picker.reroot(parent, self.label(parent), land_on=here)

    # ------------------------------------------------------------------ the marked list
    def _show_marked(self) -> None:
        """The marked list shows every marked file (hidden while there is none)."""
        marked = self.marked_list
        if not self.picker.marked and marked.has_focus:
            self.picker.focus()
        marked.show(self.picker.marked, lambda folder: "" if folder == self.root else self.label(folder))
        marked.set_class(not self.picker.marked, "-empty")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list is not self.marked_list:
            return
        path = self.marked_list.highlighted_path
        if path is not None and self.marked_list.has_focus and path != self.current:
            if not self.running:
                self._show("preview")
            self.preview_file(path)

    def on_marked_list_unmark_wanted(self, message: MarkedList.UnmarkWanted) -> None:
        self.picker.set_marks([message.path], marked=False)
        self.notify(f"Unmarked {self.label(message.path)}", markup=False, timeout=2)

    def action_focus_marked(self) -> None:
        if not self.picker.marked:
            self.notify("No files marked: space marks the highlighted file in the tree", severity="warning")
            return
        self.marked_list.focus()
        path = self.marked_list.highlighted_path
        if path is not None and path != self.current:
            self.preview_file(path)

    # ------------------------------------------------------------------ the path field
    def action_focus_path(self) -> None:
        self.query_one("#path", Input).focus()

    @work(thread=True, exclusive=True, group="submit-path", exit_on_error=False, description="expand path")
    def _expand(self, text: str, base: Path) -> None:
        self.post_message(msg.PathExpanded(expand_path(text, base)))

    def on_path_expanded(self, message: msg.PathExpanded) -> None:
        found = message.expansion
        if found.folder is not None:
            self.picker.reroot(found.folder, self.label(found.folder))
            self.picker.focus()
        elif len(found.files) == 1:
            self.picker.set_marks(found.files)
            self._show("preview")
            self.preview_file(found.files[0])
            self.notify(f"Marked {self.label(found.files[0])}", markup=False)
        elif found.files:
            n = self.picker.set_marks(found.files)
            self.notify(f"Marked {n} new of {len(found.files)} files matching {found.text}", markup=False)
        if found.message:
            self.notify(found.message, severity="warning" if found.files else "error", markup=False)


__all__ = ["MarksAndFolders"]
