"""Provides MarkedList: every marked file in one list, however it was marked (tree, path field, glob, R).

Why: a file marked by a path or a glob may sit in a folder the tree does not show, and a mark you cannot see
is a file you submit by surprise. Each row shows the file name first (always visible at 80 columns) and its
folder after it; space or delete unmarks the highlighted file, and highlighting one previews it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from gembatch_tui.tui.widgets.safe_text import safe


def row_text(path: Path, folder_label: str) -> Text:
    """`name  folder/`: the name in full, then the folder (muted) where it lives, `""` for the start folder."""
    text = Text(safe(path.name), no_wrap=True, overflow="ellipsis", end="")
    if folder_label:
        text.append("  " + safe(folder_label.rstrip("/")) + "/", style="dim")
    return text


class MarkedList(OptionList):
    """The marked files in marking order; posts `MarkedList.UnmarkWanted` for space/delete on a row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,delete", "unmark", "Unmark", tooltip="In the marked list: unmark the highlighted file",
                id="submit.marked.unmark"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    DEFAULT_CSS = """
    MarkedList {
        height: auto;
        max-height: 8;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        scrollbar-size-vertical: 1;
    }
    """

    class UnmarkWanted(Message):
        """The user asked to unmark `path` from the list."""

        def __init__(self, marked_list: MarkedList, path: Path) -> None:
            super().__init__()
            self.marked_list = marked_list
            self.path = path

        @property
        def control(self) -> MarkedList:
            return self.marked_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.paths: list[Path] = []
        """The files on show, in list order."""

    def show(self, paths: Iterable[Path], folder_label: Callable[[Path], str]) -> None:
        """Show `paths`, keeping the highlight on the same file (or the row where it was, when it went)."""
        old = self.highlighted_path
        old_index = self.highlighted
        self.paths = list(paths)
        self.set_options(Option(row_text(p, folder_label(p.parent)), id=str(p)) for p in self.paths)
        self.border_title = f"Marked ({len(self.paths):,})"
        if not self.paths:
            return
        if old is not None and old in self.paths:
            self.highlighted = self.paths.index(old)
        elif old_index is not None:
            self.highlighted = min(old_index, len(self.paths) - 1)

    def on_focus(self) -> None:
        if self.highlighted is None and self.paths:
            self.highlighted = 0  # the first row, so space unmarks what the cursor shows

    @property
    def highlighted_path(self) -> Path | None:
        index = self.highlighted
        if index is None or not 0 <= index < len(self.paths):
            return None
        return self.paths[index]

    def action_unmark(self) -> None:
        path = self.highlighted_path
        if path is None:
            self.app.bell()
            return
        self.post_message(self.UnmarkWanted(self, path))


__all__ = ["MarkedList", "row_text"]
