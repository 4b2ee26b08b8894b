"""Provides ConfirmSubmit: a y/n question before anything is sent, because a submit costs money.

It shows what will happen (files, requests, cost, model, files that will be refused) and dismisses with True
(submit) or False (back to the screen, nothing done).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


class ConfirmSubmit(ModalScreen[bool]):
    """Submit these files? y / enter = yes, n / escape = no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Submit", tooltip="In the confirm dialog: submit the files",
                id="confirm-submit.yes"),
        Binding("n,escape,q", "answer(False)", "Back", tooltip="In the confirm dialog: back, nothing is sent",
                id="confirm-submit.no"),
    ]

    DEFAULT_CSS = """
    ConfirmSubmit {
        align: center middle;
        & > Vertical {
            width: 72;
            max-width: 100%;
            height: auto;
            max-height: 90%;
            border: thick $accent;
            background: $surface;
            padding: 0 1;
        }
        #confirm-title { text-style: bold; }
        #confirm-body { height: auto; }
        #confirm-keys { color: $text-muted; }
    }
    """

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self._title = title
        self._lines = lines

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self._title), id="confirm-title")
            yield Static(Text("\n".join(self._lines)), id="confirm-body")
            yield Static(Text("y / enter: submit    n / escape: back"), id="confirm-keys")
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


__all__ = ["ConfirmSubmit"]
