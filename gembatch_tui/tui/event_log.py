"""Provides EventsScreen (E, or "Event log" in the palette): every event of this session, newest last, whole.

The event line shows only the latest event on one line; here each one is shown in full (a long error wraps),
with its time and severity, so nothing a toast once said is lost.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Label, RichLog

from gembatch_tui.tui.events_model import SEVERITY_MARK, SEVERITY_STYLE, Event


def event_text(event: Event) -> Text:
    text = Text(end="")
    text.append(event.at.astimezone().strftime("%H:%M:%S "), style="dim")
    style = SEVERITY_STYLE.get(event.severity, "")
    text.append(f"{SEVERITY_MARK.get(event.severity, '·')} ", style=style)
    if event.title:
        text.append(f"{event.title}: ", style=style or "bold")
    text.append(event.message)
    return text


class EventsScreen(Screen[None]):
    """The session's events; escape or q goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="events.back"),
        Binding("q", "back", "Back", show=False, id="events.back_q"),
        Binding("j", "scroll('down')", "Down", show=False, id="events.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="events.up"),
        Binding("g", "scroll('home')", "First", show=False, id="events.first"),
        Binding("G", "scroll('end')", "Last", show=False, id="events.last"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("Events of this session (newest last)", classes="screen-title", markup=False)
        # min_width: RichLog renders at least that wide (78 by default), wider than its 77 columns at 80 with the
        # scrollbar: a long path lost its last character. Shrinking to the room there is wins with a small one.
        yield RichLog(id="events-log", wrap=True, markup=False, highlight=False, auto_scroll=True, min_width=20)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        events = list(getattr(self.app, "events", []))
        if not events:
            log.write(Text("Nothing has happened yet in this session.", style="dim"))
        for event in events:
            log.write(event_text(event))
        log.focus()

    def add(self, event: Event) -> None:
        self.query_one(RichLog).write(event_text(event))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_scroll(self, where: str) -> None:
        log = self.query_one(RichLog)
        {"down": log.scroll_down, "up": log.scroll_up, "home": log.scroll_home, "end": log.scroll_end}[where]()
