"""Provides Event, one thing that happened as the user is told it, and how each severity looks.

Its own module so that the event line, the event log and the App's EventsOwner share it without importing each
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

SEVERITY_STYLE = {"information": "green", "warning": "yellow", "error": "bold red"}
SEVERITY_MARK = {"information": "·", "warning": "!", "error": "✖"}


@dataclass(frozen=True)
class Event:
    """One thing that happened, as the user is told it."""

    at: datetime
    severity: str
    title: str
    message: str
    """Plain text (never markup): it may hold file names and server text."""

    def line(self) -> Text:
        """`HH:MM:SS ✖ Title: message` on one line, in the severity's colour."""
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        text.append(self.at.astimezone().strftime("%H:%M:%S "), style="dim")
        style = SEVERITY_STYLE.get(self.severity, "")
        text.append(f"{SEVERITY_MARK.get(self.severity, '·')} ", style=style)
        head = f"{self.title}: " if self.title else ""
        text.append(head + " ".join(self.message.split()), style=style if self.severity != "information" else "")
        return text
