"""Provides the messages the results screen's workers post, and `throttled` for their progress reports.

Why it is its own module: the workers (index, filter, page, detail, export, resubmit) run in threads and
only ever report by these messages; keeping them apart leaves results.py to the screen itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from textual.screen import Screen

    from gembatch_tui.core.results import ledger
    from gembatch_tui.core.results.index import ResultsIndex
    from gembatch_tui.core.results.rows import JoinedRow, RowSummary

PROGRESS_EVERY = 0.1


class IndexProgressed(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done, self.total = done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, IndexProgressed)


class IndexBuilt(Message):
    def __init__(self, index: ResultsIndex | None, usage: ledger.Usage | None, cost: float | None,
                 error: str = "") -> None:
        super().__init__()
        self.index, self.usage, self.cost, self.error = index, usage, cost, error


class SearchProgressed(Message):
    def __init__(self, gen: int, done: int, total: int) -> None:
        super().__init__()
        self.gen, self.done, self.total = gen, done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SearchProgressed)


class ViewComputed(Message):
    def __init__(self, gen: int, rows: Sequence[int], capped: bool) -> None:
        super().__init__()
        self.gen, self.rows, self.capped = gen, rows, capped


class PageLoaded(Message):
    def __init__(self, gen: int, rows: list[RowSummary]) -> None:
        super().__init__()
        self.gen, self.rows = gen, rows


class DetailLoaded(Message):
    def __init__(self, row: JoinedRow) -> None:
        super().__init__()
        self.row = row


class ResultsActionFinished(Message):
    """An export, retry-file build or resubmit ended: a line for the user, and what comes next."""

    def __init__(self, text: str, *, ok: bool = True, retry_file: Path | None = None, count: int = 0) -> None:
        super().__init__()
        self.text, self.ok, self.retry_file, self.count = text, ok, retry_file, count


def throttled(screen: Screen[Any], make: Callable[[int, int], Message]) -> Callable[[int, int], None]:
    """A (done, total) callback for a worker thread that posts `make(done, total)` at most every PROGRESS_EVERY."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            screen.post_message(make(done, total))

    return report


__all__ = [
    "PROGRESS_EVERY",
    "DetailLoaded",
    "IndexBuilt",
    "IndexProgressed",
    "PageLoaded",
    "ResultsActionFinished",
    "SearchProgressed",
    "ViewComputed",
    "throttled",
]
