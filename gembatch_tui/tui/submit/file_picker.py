"""Provides FilePicker: a directory tree for choosing batch input files, with marks.

JSONL files stand out and other files are dimmed; marked files carry a check mark. Icons are plain
characters (no emoji), because emoji widths differ between terminals and break alignment over ssh.
Folder listings run in the tree's own thread workers; a folder that cannot be read is remembered and
reported by message instead of silently showing as empty.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DirectoryTree
from textual.widgets._directory_tree import DirEntry
from textual.widgets._tree import TreeNode
from textual.worker import Worker

from gembatch_tui.tui.widgets.safe_text import safe

JSONL_SUFFIXES = (".jsonl", ".jsonl.txt", ".ndjson")
MARK = "✓ "
NO_MARK = "  "


def is_jsonl_name(name: str) -> bool:
    """Whether a file name looks like a batch input file (by its suffix only)."""
    return name.lower().endswith(JSONL_SUFFIXES)


def entry_note(path: Path) -> str:
    """A short remark for entries that are not plain files or folders (`symlink loop`, `broken link`), or ""."""
    try:
        st = os.lstat(path)
    except OSError:
        return "vanished"
    if not stat.S_ISLNK(st.st_mode):
        return ""
    try:
        os.stat(path)
    except FileNotFoundError:
        return "broken link"
    except OSError as exc:
        return "symlink loop" if exc.errno == errno.ELOOP else "unreadable link"
    return ""


class FilePicker(DirectoryTree):
    """A directory tree that marks files (space) and tells JSONL files apart from the rest."""

    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "
    ICON_FILE = ""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark", tooltip="Mark or unmark the highlighted file, then go to the next",
                id="submit.mark"),
        Binding("right,l", "expand", "Open folder", show=False),
        Binding("left,h", "collapse", "Close folder", show=False),
        Binding("backspace", "parent", "Parent folder", show=False, tooltip="In the tree: show the folder above",
                id="submit.parent"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g,home", "first", "First", show=False, tooltip="In the tree: the first entry", id="submit.first"),
        Binding("G,end", "last", "Last", show=False, tooltip="In the tree: the last entry", id="submit.last"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = DirectoryTree.COMPONENT_CLASSES | {
        "file-picker--jsonl",
        "file-picker--other",
        "file-picker--marked",
        "file-picker--note",
    }

    DEFAULT_CSS = """
    FilePicker {
        & > .file-picker--jsonl { color: $text; }
        & > .file-picker--other { color: $text-muted; text-style: dim; }
        & > .file-picker--marked { color: $success; text-style: bold; }
        & > .file-picker--note { color: $warning; text-style: italic; }
        & > .directory-tree--extension { text-style: none; }
    }
    """

    class MarksChanged(Message):
        """The set of marked files changed; `marked` is the new list, in marking order."""

        def __init__(self, picker: FilePicker, marked: list[Path]) -> None:
            super().__init__()
            self.picker = picker
            self.marked = marked

        @property
        def control(self) -> FilePicker:
            return self.picker

    class Rerooted(Message):
        """The tree now shows `path` (typed in the path field, or the parent folder); its rows are loaded."""

        def __init__(self, picker: FilePicker, path: Path) -> None:
            super().__init__()
            self.picker = picker
            self.path = path

        @property
        def control(self) -> FilePicker:
            return self.picker

    class ParentWanted(Message):
        """backspace in the tree: the screen re-roots it at the parent folder."""

        def __init__(self, picker: FilePicker) -> None:
            super().__init__()
            self.picker = picker

        @property
        def control(self) -> FilePicker:
            return self.picker

    class FolderUnreadable(Message):
        """A folder could not be listed (permission, vanished, loop); posted from the listing thread."""

        def __init__(self, path: Path, reason: str) -> None:
            super().__init__()
            self.path = path
            self.reason = reason

    def __init__(self, path: str | Path, *, root_label: str | None = None, id: str | None = None) -> None:
        self.marked: dict[Path, None] = {}
        """Marked files (an ordered set), absolute paths as the tree builds them."""
        self.notes: dict[Path, str] = {}
        """Remarks per entry (symlink loop, broken link), filled by the listing thread."""
        self.unreadable: dict[Path, str] = {}
        """Folders whose listing failed, with the reason."""
        self.root_label = root_label
        """What the root shows instead of its absolute path (keeps home paths off the screen)."""
        self.land_on: Path | None = None
        """An entry of the root to put the cursor on once the root is loaded (the folder left, a retry file)."""
        super().__init__(path, id=id)

    # ------------------------------------------------------------------ marks
    def is_marked(self, path: Path) -> bool:
        return path in self.marked

    def set_marks(self, paths: Iterable[Path], marked: bool = True) -> int:
        """Mark (or unmark) several files at once; returns how many changed."""
        changed = 0
        for path in paths:
            if marked and path not in self.marked:
                self.marked[path] = None
                changed += 1
            elif not marked and path in self.marked:
                del self.marked[path]
                changed += 1
        if changed:
            self._marks_changed()
        return changed

    def clear_marks(self, paths: Iterable[Path] | None = None) -> None:
        if paths is None:
            if self.marked:
                self.marked.clear()
                self._marks_changed()
        else:
            self.set_marks(paths, marked=False)

    def _marks_changed(self) -> None:
        self._updates += 1  # Tree's line cache key: repaint every label
        self.refresh()
        self.post_message(self.MarksChanged(self, list(self.marked)))

    def action_toggle_mark(self) -> None:
        node = self.cursor_node
        if node is None or node.data is None:
            return
        if node.allow_expand:
            self.app.bell()
            self.notify("Folders cannot be marked: press a to mark every JSONL file in it", severity="warning")
            return
        path = node.data.path
        self.set_marks([path], marked=path not in self.marked)
        self.action_cursor_down()

    def reroot(self, folder: Path, label: str, *, land_on: Path | None = None) -> None:
        """Show `folder` as the tree's root, labelled `label`, the cursor on its entry `land_on` if given;
        Rerooted follows once its rows are loaded."""
        self.root_label = label
        self.land_on = land_on
        self.path = folder

    async def watch_path(self) -> None:
        # Textual keeps the root node, so a cursor already on the root posts no NodeHighlighted: say it here.
        await super().watch_path()
        self._land()
        if isinstance(self.path, Path):
            self.post_message(self.Rerooted(self, self.path))

    def _populate_node(self, node: TreeNode[DirEntry], content: Iterable[Path]) -> None:
        super()._populate_node(node, content)
        if node is self.root and self.cursor_node is None:  # the first load: land where asked
            self._land()

    def _land(self) -> None:
        target, self.land_on = self.land_on, None
        if target is None:
            return
        for child in self.root.children:
            if child.data is not None and child.data.path == target:
                _ = self._tree_lines  # the lines must exist for the node to have one
                self.move_cursor(child, animate=False)
                return

    def action_first(self) -> None:
        self.cursor_line = 0

    def action_last(self) -> None:
        self.cursor_line = max(0, self.last_line)

    def action_parent(self) -> None:
        """Show the folder above the root (the screen labels it); the cursor lands on the folder left."""
        self.post_message(self.ParentWanted(self))

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    # --------------------------------------------------------------- listing
    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Runs in the listing thread: keep everything except hidden entries, and note odd ones."""
        kept = []
        for path in paths:
            if path.name.startswith("."):
                continue
            note = entry_note(path)
            if note:
                self.notes[path] = note
            kept.append(path)
        return kept

    def _directory_content(self, location: Path, worker: Worker[list[Path]]) -> Iterator[Path]:
        # Textual's version swallows OSError, which would show an unreadable folder as an empty one.
        try:
            for entry in location.iterdir():
                if worker.is_cancelled:
                    break
                yield entry
        except OSError as exc:
            reason = f"cannot read this folder: {exc.strerror or exc}"
            self.unreadable[location] = reason
            self.post_message(self.FolderUnreadable(location, reason))

    # ----------------------------------------------------------------- labels
    def render_label(self, node: TreeNode[DirEntry], base_style: Style, style: Style) -> Text:
        path = node.data.path if node.data is not None else None
        if node is self.root:
            name = self.root_label or (path.name if path else "") or str(path)
            label = Text(safe(name.rstrip("/")) + "/")
        else:
            label = Text(safe(path.name if path is not None else str(node.label)))
            if node.allow_expand:
                label.append("/")
        if not self.is_mounted:
            return label
        note = self.notes.get(path) if path is not None else None
        if path is not None and path in self.unreadable:
            note = "cannot read"
        if node.allow_expand:
            prefix = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            label.stylize_before(self.get_component_rich_style("directory-tree--folder", partial=True))
        elif path is not None and path in self.marked:
            prefix = MARK
            label.stylize_before(self.get_component_rich_style("file-picker--marked", partial=True))
        else:
            prefix = NO_MARK
            wanted = path is not None and is_jsonl_name(path.name)
            cls = "file-picker--jsonl" if wanted else "file-picker--other"
            label.stylize_before(self.get_component_rich_style(cls, partial=True))
        label.stylize(style)
        text = Text.assemble((prefix, base_style), label)
        if note:
            text.append(f"  ({safe(note)})", self.get_component_rich_style("file-picker--note", partial=True))
        return text


__all__ = ["FilePicker", "is_jsonl_name", "entry_note", "JSONL_SUFFIXES"]
