"""Provides the status line and the poll schedule it describes.

Why a schedule object: the back-off rule (double on failure up to 5 minutes, reset on success) and
the coarse "next poll in ~30 s" wording are plain logic, tested without a terminal. The StatusLine
repaints only when its text really changes, and without a relayout, so an idle dashboard sends
nothing to the terminal between these coarse steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from gembatch_tui.core.text import format_bytes
from gembatch_tui.tui.widgets.safe_text import safe

MAX_BACKOFF_S = 300.0


@dataclass
class PollSchedule:
    """When the next poll is due and how the last ones went."""

    interval: float
    max_backoff: float = MAX_BACKOFF_S
    failures: int = 0
    """Consecutive failed polls; each one doubles the wait, up to `max_backoff`."""
    last_error: str = ""
    last_poll: datetime | None = None
    """Wall-clock time the last poll finished (the app's clock)."""
    next_due: float | None = None
    """`time.monotonic()` when the next poll starts; None when no poll is scheduled."""
    running: bool = False
    show_running: bool = False
    """Set a moment after a poll starts, so that quick polls do not flash "polling…"."""
    download: str = ""
    """What is downloading now, e.g. `batches/x: 45% of 2.1 MB`; empty when nothing is."""

    def delay(self) -> float:
        if self.failures <= 0:
            return self.interval
        return min(self.max_backoff, max(self.interval, self.interval * (2**self.failures)))

    def started(self) -> None:
        self.running = True
        self.next_due = None

    def succeeded(self, at: datetime) -> None:
        self.running = self.show_running = False
        self.failures = 0
        self.last_error = ""
        self.last_poll = at
        self.download = ""

    def failed(self, at: datetime, error: str) -> None:
        self.running = self.show_running = False
        self.failures += 1
        self.last_error = error
        self.last_poll = at
        self.download = ""

    def downloading(self, name: str, done: int, total: int) -> None:
        """Note a results download's progress (shown until the poll ends)."""
        # The figure first: at 80 columns a long batch name is what gets cut (with …), not the progress.
        if total:
            self.download = f"{min(100, done * 100 // total)}% of {format_bytes(total)} · {name}"
        else:
            self.download = f"{format_bytes(done)} · {name}"

    def describe(self, now: float | None = None) -> Text:
        """One line: what the poller is doing and when it runs next, coarse enough to change rarely."""
        now = time.monotonic() if now is None else now
        if self.download:
            return Text(f"↓ downloading results: {safe(self.download)}", style="cyan", end="", no_wrap=True,
                        overflow="ellipsis")
        if self.running and self.show_running:
            return Text("⟳ polling…", style="cyan", end="")
        text = Text(end="")
        if self.failures:
            when = "now" if self.running else (coarse_wait(self.next_due - now) if self.next_due is not None else "later")
            text.append(f"✖ poll failed {self.failures}×, backing off: next try {when}", style="bold red")
            text.append(f" · {safe(first_line(self.last_error))}", style="red")
            return text
        if self.last_poll is not None:
            text.append(f"polled {self.last_poll.astimezone().strftime('%H:%M:%S')} · ", style="dim")
        if self.running:
            text.append("polling…")
        elif self.next_due is not None:
            text.append(f"next poll {coarse_wait(self.next_due - now)} · r polls now", style="dim")
        elif self.last_poll is None:
            text.append("not polled yet", style="dim")
        return text


def first_line(message: str, limit: int = 70) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def coarse_wait(seconds: float) -> str:
    """`in ~30 s`, `in ~2 min`: rounded up to 10 s (or minutes), so a 5 s ticker changes it rarely."""
    if seconds <= 3:
        return "in a moment"
    if seconds < 90:
        return f"in ~{int(math.ceil(seconds / 10.0) * 10)} s"
    return f"in ~{int(math.ceil(seconds / 60.0))} min"


class StatusLine(Static):
    """A one-line label that repaints only when its text changes, and never re-lays out the screen. A text too
    long for the line ends in … (a wrapped second line would be hidden under the next widget)."""

    DEFAULT_CSS = """
    StatusLine { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id, classes=classes, markup=False)
        self._shown: tuple[str, list] | None = None

    def show(self, text: Text | str) -> bool:
        """Show `text` (a str is shown literally); returns whether anything was repainted."""
        value = text if isinstance(text, Text) else Text(safe(text), end="")
        key = (value.plain, [(s.start, s.end, str(s.style)) for s in value.spans] + [str(value.style)])
        if key == self._shown:
            return False
        self._shown = key
        self.update(value, layout=False)
        return True

    @property
    def plain(self) -> str:
        return self._shown[0] if self._shown else ""
