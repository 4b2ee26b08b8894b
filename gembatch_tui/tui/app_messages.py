"""Provides the messages the App's own workers post to it (store reads, polls, downloads, usage, demo seed).

Why it is its own module: these are the App's worker reports, past tense like the app-wide ones in
messages.py, but only the App handles them; keeping them here leaves app.py to the App itself.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from gembatch_tui.core.models import Record


class JobsLoaded(Message):
    """The store was read: every record, and how many of its lines could not be parsed."""

    def __init__(self, records: list[Record], problems: int, seq: int, first_problem: str = "") -> None:
        super().__init__()
        self.records, self.problems, self.seq = records, problems, seq
        self.first_problem = first_problem  # the first problem's own sentence (it names the line)


class PollFinished(Message):
    """One poll pass ended: its report and the store as it stands afterwards."""

    def __init__(self, report: Any, records: list[Record], changed: bool = True) -> None:
        super().__init__()
        self.report, self.records, self.changed = report, records, changed


class DownloadProgressed(Message):
    """Bytes of a results file received so far; only the latest one matters."""

    def __init__(self, name: str, done: int, total: int) -> None:
        super().__init__()
        self.name, self.done, self.total = name, done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DownloadProgressed)


class UsageFilled(Message):
    """Token usage was read from results files that had none recorded; `keys` are the records updated."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__()
        self.keys = keys


class DemoSeeded(Message):
    def __init__(self, line: str, ok: bool) -> None:
        super().__init__()
        self.line, self.ok = line, ok


__all__ = ["DemoSeeded", "DownloadProgressed", "JobsLoaded", "PollFinished", "UsageFilled"]
