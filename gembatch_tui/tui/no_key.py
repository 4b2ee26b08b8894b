"""Provides NoKeyScreen: what the full-screen app shows first when it was started with no API key and no --demo.

Why: a user who forgot `export GEMINI_API_KEY` (a new SSH session) must not see their real jobs vanish behind
a demo store. The screen names both key variables, the real store and how many jobs it holds, and lets the
user choose: the demo (its own emulator and store), their store read-only, or quit. It dismisses with
"demo", "browse" or "quit"; the App acts on the answer (see app.py `_no_key_answered`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from gembatch_tui.core.models import Record
from gembatch_tui.tui.widgets.safe_text import safe

if TYPE_CHECKING:
    from gembatch_tui.tui.host import AppHost

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")


def jobs_phrase(n: int) -> str:
    return "1 job" if n == 1 else f"{n:,} jobs"


def store_line(path: str, records: list[Record] | None, exists: bool) -> Text:
    """`Your job store: PATH holds N jobs` (or: is being read / does not exist yet)."""
    text = Text(end="")
    text.append("Your job store: ")
    text.append(safe(path), style="bold")
    if not exists:
        text.append(" does not exist yet (0 jobs)")
    elif records is None:
        text.append(" (reading…)", style="dim")
    else:
        text.append(" holds ")
        text.append(jobs_phrase(len(records)), style="bold")
    return text


class NoKeyScreen(Screen[str]):
    """No API key: say which, show the real store and its job count, and offer demo, read-only or quit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "choose('demo')", "Demo", tooltip="Open the demo: a built-in emulator with its own store",
                id="nokey.demo"),
        Binding("b", "choose('browse')", "Browse read-only", tooltip="Show your store without polling or submitting",
                id="nokey.browse"),
        Binding("q", "choose('quit')", "Quit", tooltip="Leave, set the key, start again", id="nokey.quit"),
        Binding("escape", "choose('quit')", "Quit", show=False, id="nokey.escape"),
    ]

    def __init__(self, store_path: str, store_exists: bool, demo_store: str) -> None:
        super().__init__(classes="nokey-screen")
        self.store_path = store_path
        self.store_exists = store_exists
        self.demo_store = demo_store

    @property
    def gapp(self) -> AppHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog nokey"):
            yield Label("No API key", classes="dialog-title", markup=False)
            missing = Text(end="")
            missing.append("Neither ")
            missing.append(KEY_VARIABLES[0], style="bold")
            missing.append(" nor ")
            missing.append(KEY_VARIABLES[1], style="bold")
            missing.append(" is set (nor --api-key), so nothing can reach the Gemini API.")
            yield Static(missing, id="nokey-missing", markup=False)
            yield Static(self._store_text(), id="nokey-store", markup=False)
            yield Static(
                Text(
                    "To use it: quit, run `export GEMINI_API_KEY=...` and start gembatch-tui again.\n"
                    f"The demo uses its own store ({self.demo_store}); your jobs are not touched.",
                    style="dim",
                    end="",
                ),
                id="nokey-hint",
                markup=False,
            )
            keys = Text(end="")
            for key, what in (("d", "demo"), ("b", "browse my store read-only"), ("q", "quit")):
                keys.append(f" {key} ", style="reverse bold")
                keys.append(f" {what}   ")
            yield Static(keys, classes="dialog-keys", markup=False)
        yield Footer(compact=True)

    def _store_text(self) -> Text:
        app = self.gapp
        return store_line(self.store_path, app.records if app.loaded else None, self.store_exists)

    def on_mount(self) -> None:
        self.gapp.jobs_changed.subscribe(self, self._jobs_changed)

    def _jobs_changed(self, records: list[Record]) -> None:
        self.query_one("#nokey-store", Static).update(self._store_text())

    def action_choose(self, answer: str) -> None:
        self.dismiss(answer)
