"""Provides EventsOwner, mixed into the App: every notification becomes an event of this session, shown on the
one-line event line (widgets/event_line.py) and kept for the event log screen (event_log.py, `E`).

Why: at 80x24 toasts covered the job table and even the confirm dialog. Now
- every `notify()` (and `record_event()`, for news that needs no toast) is kept in `events` and shown on the
  event line of every screen that has one (the latest event, in its severity's colour);
- a toast is shown only when no dialog is open; a warning or an error that arrives while a dialog is open waits
  and is shown when the dialog closes, information is not (it is on the event line and in the log);
- information toasts go away after a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.screen import ModalScreen

from gembatch_tui.tui.events_model import Event

if TYPE_CHECKING:
    from textual.app import App

    _AppBase = App[int]
else:
    _AppBase = object

MAX_EVENTS = 2000
"""The log keeps this many events of the session (the oldest go first)."""
INFO_TOAST_S = 3.0

def plain(message: object, markup: bool) -> str:
    """The text a notification shows, without its markup (a bad markup string is kept as it is)."""
    text = str(message)
    if not markup:
        return text
    try:
        return Text.from_markup(text).plain
    except Exception:  # noqa: BLE001 - an unbalanced tag: show the string
        return text


class EventsOwner(_AppBase):
    """Needs the App's `clock`."""

    clock: Callable[[], datetime]

    def _init_events(self) -> None:
        self.events: list[Event] = []
        """This session's events, oldest first."""
        self._held_toasts: list[dict[str, Any]] = []

    def record_event(self, message: str, *, title: str = "", severity: str = "information") -> Event:
        """Keep an event and show it on the event lines, without a toast."""
        from gembatch_tui.tui.widgets.safe_text import safe

        event = Event(self.clock(), severity, safe(title), safe(message, multiline=True))
        self.events.append(event)
        if len(self.events) > MAX_EVENTS:
            del self.events[: len(self.events) - MAX_EVENTS]
        from gembatch_tui.tui.widgets.event_line import EventLine

        for screen in self.screen_stack:
            for line in screen.query(EventLine):
                line.show(event)
        from gembatch_tui.tui.event_log import EventsScreen

        if isinstance(self.screen, EventsScreen):
            self.screen.add(event)
        return event

    def say(self, message: str, *, title: str = "", severity: str = "information") -> None:
        """News about what a key did (or why it did nothing): on the event line where the screen has one (no toast
        over the table), as a toast on a screen without one (the job detail), so it is seen either way."""
        from gembatch_tui.tui.widgets.event_line import EventLine

        if self.screen.query(EventLine):
            self.record_event(message, title=title, severity=severity)
        else:
            self.notify(message, title=title, severity=severity, markup=False)

    @property
    def dialog_open(self) -> bool:
        return isinstance(self.screen, ModalScreen)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Keep the event; toast it unless a dialog is open (a warning or error then waits for the dialog to close)."""
        self.record_event(plain(message, markup), title=plain(title, markup), severity=str(severity))
        if timeout is None and severity == "information":
            timeout = INFO_TOAST_S
        toast = {"message": message, "title": title, "severity": severity, "timeout": timeout, "markup": markup}
        if self.dialog_open:
            if severity in ("warning", "error"):
                self._held_toasts.append(toast)
            return
        super().notify(**toast)

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        """A dialog opens clear of toasts: those still up are taken down (each one is in the log), and a warning or
        error among them comes back when the dialog closes, as one raised meanwhile does."""
        if isinstance(screen, ModalScreen) and len(self._notifications):
            for note in list(self._notifications):
                if note.severity in ("warning", "error") and not note.has_expired:
                    self._held_toasts.append({"message": note.message, "title": note.title, "severity": note.severity,
                                              "timeout": max(note.time_left, 3.0), "markup": note.markup})
            self.clear_notifications()
        return super().push_screen(screen, *args, **kwargs)

    def pop_screen(self) -> Any:
        done = super().pop_screen()
        if self._held_toasts:
            self.call_after_refresh(self._show_held_toasts)
        return done

    def _show_held_toasts(self) -> None:
        if self.dialog_open:
            return
        held, self._held_toasts = self._held_toasts, []
        for toast in held[-3:]:  # the latest few; every one is in the log
            super().notify(**toast)


__all__ = ["Event", "EventsOwner", "MAX_EVENTS", "plain"]
