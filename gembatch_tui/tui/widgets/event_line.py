"""Provides EventLine: one line at the bottom of a screen showing the session's latest event (E opens them all).

It repaints only when an event arrives (never on a timer), with `layout=False`: the idle terminal stays silent.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from gembatch_tui.tui.events_model import Event


class EventLine(Static):
    """The latest event, in its severity's colour; empty until something happens."""

    DEFAULT_CSS = """
    EventLine {
        height: 1;
        width: 1fr;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = "event-line") -> None:  # noqa: A002 - Textual's name
        super().__init__("", id=id, markup=False)
        self.latest: Event | None = None

    def on_mount(self) -> None:
        events = getattr(self.app, "events", None)
        if events:
            self.show(events[-1])
        else:
            self.update(Text("no events yet · E event log · ctrl+p every command", style="dim", end=""))

    def show(self, event: Event) -> None:
        self.latest = event
        self.update(event.line(), layout=False)
