"""Provides the y/n confirmation dialog every question of the app uses (cancel, quit, clean-up, overwrite).

A long body (say, 41 remote items to delete) scrolls inside the dialog, so its y/n line always shows and every
item can be read before a destructive answer."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
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
        self._scrolls = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger" if self._danger else "dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(self._body, classes="dialog-body", markup=False)
            yield Static(self._keys(scrolls=False), classes="dialog-keys", markup=False)
        yield Footer(compact=True)

    def set_body(self, body: Text | Group) -> None:
        """Say something else while the question is open (what it asks about changed meanwhile)."""
        self._body = body
        if self.is_mounted:
            self.query_one(".dialog-body", Static).update(body)

    def _keys(self, *, scrolls: bool) -> Text:
        keys = Text(end="")
        keys.append(" y ", style="reverse bold")
        keys.append(f" {self._yes}    ")
        keys.append(" n ", style="reverse")
        keys.append(" / ")
        keys.append(" esc ", style="reverse")
        keys.append(" no, change nothing")
        if scrolls:
            keys.append("   ↑↓ scroll", style="dim")
        return keys

    def on_mount(self) -> None:
        self.query_one(".dialog-scroll", VerticalScroll).focus()  # up/down/pgup/pgdn scroll; y, n, esc answer

    def on_resize(self, event: events.Resize) -> None:
        """Laid out (again): a body taller than the room it has says that it scrolls."""
        self.call_after_refresh(self._say_scroll)

    def _say_scroll(self) -> None:
        scrolls = self.query_one(".dialog-scroll", VerticalScroll).max_scroll_y > 0
        if scrolls != self._scrolls:
            self._scrolls = scrolls
            self.query_one(".dialog-keys", Static).update(self._keys(scrolls=scrolls))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
