"""Provides the y/n confirmation dialog every question of the app uses (cancel, quit, clean-up, overwrite)."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static


class ConfirmDialog(ModalScreen[bool]):
    """A question with a yes and a no: y confirms, n or escape declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "No", show=False, id="confirm.escape"),
        Binding("q", "answer(False)", "No", show=False, id="confirm.q"),
    ]

    def __init__(self, title: str, body: Text | Group, yes: str = "yes", *, danger: bool = False) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body
        self._yes = yes
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger" if self._danger else "dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Static(self._body, classes="dialog-body", markup=False)
            keys = Text(end="")
            keys.append(" y ", style="reverse bold")
            keys.append(f" {self._yes}    ")
            keys.append(" n ", style="reverse")
            keys.append(" / ")
            keys.append(" esc ", style="reverse")
            keys.append(" no, change nothing")
            yield Static(keys, classes="dialog-keys", markup=False)
        yield Footer(compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
