"""Provides ResultsIndex: a results file joined by key to its input file, kept on disk and read lazily.

Why it looks like this: a results file can be hundreds of MB, and lines come back in any order (or not at
all), so rows are matched by key, never by position. Holding every line (or a dict of every key) would cost
gigabytes, so one streaming pass over each file keeps only a 64-bit digest of each key (as keyset.py does) and
the byte offset of its line, in `array`s; the join puts the results' digests in a flat open-addressing table
and looks every input key up in it. What stays in memory is ~25 bytes a row. A row is materialised only when
it is shown, exported or searched, by seeking to its offsets and parsing those two lines again.

Rows are the input requests in input order (ok / error / missing), then the result lines no input asked for,
in results order (unexpected, duplicate repeats of a key, and lines that are not valid results).
Two different keys share a digest with probability ~n**2 / 2**65; equal digests are taken as equal keys.

The parts live in their own modules: the statuses and `classify` in results_status, the index pass (scans,
digests, join) in results_join, and a row read back from disk (JoinedRow, RowSummary, text helpers) in
results_rows. Their public names are re-exported here, where callers have always imported them from.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from gembatch_tui.core.results.join import (
    IndexCancelled,
    Progress,
    ResultHook,
    RowColumns,
    check_cancel,
    scan_and_join,
    scan_input,
)
from gembatch_tui.core.results.rows import (
    JoinedRow,
    RowFiles,
    RowSummary,
    join_row,
    pretty_answer,
    preview_line,
    request_texts,
)
from gembatch_tui.core.results.status import (
    DUPLICATE,
    ERROR,
    INVALID,
    MISSING,
    NOT_OK,
    OK,
    RETRY,
    STATUS_NAMES,
    UNEXPECTED,
)

MAX_SEARCH_MATCHES = 10_000


class ResultsIndex:
    """A results file joined to its input by key. Build it with `ResultsIndex.build` (in a worker)."""

    def __init__(self, results_path: Path, input_path: Path | None) -> None:
        self.results_path = results_path
        self.input_path = input_path
        """None when there is no input to compare with (then rows are the result lines in file order)."""
        self.input_problem: str | None = None
        """Why the input could not be joined (unreadable or no longer valid), or None."""
        self.results_size = 0
        self.input_size = 0
        self._use(RowColumns())

    def _use(self, columns: RowColumns) -> None:
        self.counts = columns.counts
        """Rows per status, indexed by OK, ERROR, MISSING, ..."""
        self._in_off = columns.in_off  # per row: input line offset, -1 for none
        self._in_line = columns.in_line  # per row: input line number, 0 for none
        self._res_off = columns.res_off  # per row: result line offset, -1 for none
        self._res_line = columns.res_line  # per row: result line number, 0 for none
        self._status = columns.status

    # ----------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        results_path: str | os.PathLike[str],
        input_path: str | os.PathLike[str] | None,
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        on_result: ResultHook | None = None,
    ) -> ResultsIndex:
        """One streaming pass over each file. `on_result(obj)` sees every valid result line once (for usage).

        Raises OSError if the results file cannot be read and IndexCancelled when `cancel` is set; an input
        that cannot be read or is no longer valid only sets `input_problem`.
        """
        index = cls(Path(results_path), Path(input_path) if input_path is not None else None)
        index.results_size = os.path.getsize(index.results_path)
        inputs = None
        if index.input_path is not None:
            scan = scan_input(index.input_path, index.results_size, progress, cancel)
            index.input_size, index.input_problem, inputs = scan.size, scan.problem, scan.keys
        index._use(scan_and_join(index.results_path, index.results_size, inputs, index.input_size,
                                 progress, cancel, on_result))
        return index

    # ----------------------------------------------------------------- facts
    def __len__(self) -> int:
        return len(self._status)

    @property
    def keys_compared(self) -> bool:
        return self.input_path is not None and self.input_problem is None

    def row_input_line(self, row: int) -> int:
        """The input line number of a row, 0 for a row that has no input (unexpected, duplicate, invalid)."""
        return self._in_line[row]

    def count(self, *statuses: int) -> int:
        return sum(self.counts[s] for s in statuses)

    def summary(self) -> str:
        """`7 rows: 4 ok, 1 error, 1 missing, 1 unexpected` (statuses with no rows left out)."""
        parts = [f"{self.counts[s]:,} {STATUS_NAMES[s]}" for s in range(len(STATUS_NAMES)) if self.counts[s] or s == OK]
        text = f"{len(self):,} row{'s' if len(self) != 1 else ''}: " + ", ".join(parts)
        if self.input_problem:
            text += f" (input not joined: {self.input_problem})"
        elif self.input_path is None:
            text += " (no input file to join)"
        return text

    # ----------------------------------------------------------------- views
    def all_rows(self) -> range:
        return range(len(self))

    def rows_with(self, statuses: Iterable[int]) -> array:
        """Row numbers whose status is one of `statuses`, in row order."""
        chosen = set(statuses)
        wanted = bytes(1 if s in chosen else 0 for s in range(256))
        return array("I", (i for i, s in enumerate(self._status) if wanted[s]))

    def not_ok_rows(self) -> array:
        return self.rows_with(NOT_OK)

    def keys_with(self, status: int, limit: int = 50) -> list[str]:
        """The first `limit` keys of rows with `status` (e.g. MISSING or UNEXPECTED), in row order."""
        rows = []
        for i, s in enumerate(self._status):
            if s == status:
                rows.append(i)
                if len(rows) >= limit:
                    break
        return [summary.key for summary in self.summaries(rows)]

    def search(
        self,
        text: str,
        rows: Sequence[int] | None = None,
        *,
        cap: int = MAX_SEARCH_MATCHES,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[array, bool]:
        """Rows (of `rows`, default all) whose key, request text, answer or error contains `text`, ignoring case.

        Streams row by row; returns (matching rows, True if it stopped at `cap` matches).
        """
        needle = text.casefold()
        # An ASCII needle without characters JSON may escape appears in an ok row's decoded texts only if it
        # appears in its raw lines too, so most rows are ruled out without parsing them.
        quick = needle.encode() if needle.isascii() and not any(c in needle for c in '"\\/') else None
        candidates = self.all_rows() if rows is None else rows
        found = array("I")
        total = len(candidates)
        with self._open() as (inp, res):
            for done, row in enumerate(candidates):
                if done % 1000 == 0:
                    check_cancel(cancel)
                    if progress is not None:
                        progress(done, total)
                in_raw, res_raw = self._read_lines(row, inp, res)
                if quick is not None and self._status[row] == OK and not any(
                    raw is not None and quick in raw.lower() for raw in (in_raw, res_raw)
                ):
                    continue
                if needle in self._join_lines(row, in_raw, res_raw).search_text().casefold():
                    found.append(row)
                    if len(found) >= cap:
                        return found, True
        if progress is not None:
            progress(total, total)
        return found, False

    # ----------------------------------------------------------------- materialising
    def _open(self) -> RowFiles:
        return RowFiles(self.input_path if self.keys_compared else None, self.results_path)

    def row(self, row: int) -> JoinedRow:
        """One row in full (opens and closes both files)."""
        with self._open() as (inp, res):
            return self._materialise(row, inp, res)

    def rows(self, rows: Iterable[int]) -> Iterable[JoinedRow]:
        """Rows in full, lazily, with both files open for the whole iteration (for export and resubmit)."""
        with self._open() as (inp, res):
            for row in rows:
                yield self._materialise(row, inp, res)

    def raw_results(self, rows: Iterable[int]) -> Iterator[tuple[int, bytes | None]]:
        """(row, its raw result line or None) for `rows`, the results file alone open once: for a pass over a
        few rows' errors that needs no input line (resubmit's look at why each failed)."""
        with open(self.results_path, "rb") as res:
            for row in rows:
                offset = self._res_off[row]
                if offset < 0:
                    yield row, None
                    continue
                res.seek(offset)
                yield row, res.readline()

    def summaries(self, rows: Iterable[int]) -> list[RowSummary]:
        """The table cells of `rows` (one page: a few hundred at most)."""
        with self._open() as (inp, res):
            return [self._materialise(row, inp, res).summary() for row in rows]

    def _materialise(self, row: int, inp: BinaryIO | None, res: BinaryIO) -> JoinedRow:
        return self._join_lines(row, *self._read_lines(row, inp, res))

    def _read_lines(self, row: int, inp: BinaryIO | None, res: BinaryIO) -> tuple[bytes | None, bytes | None]:
        """The row's raw input line and raw result line (None where it has none)."""
        in_raw = res_raw = None
        if self._in_off[row] >= 0 and inp is not None:
            inp.seek(self._in_off[row])
            in_raw = inp.readline()
        if self._res_off[row] >= 0:
            res.seek(self._res_off[row])
            res_raw = res.readline()
        return in_raw, res_raw

    def _join_lines(self, row: int, in_raw: bytes | None, res_raw: bytes | None) -> JoinedRow:
        return join_row(row, STATUS_NAMES[self._status[row]], self._in_line[row], self._res_line[row], in_raw, res_raw)


__all__ = [
    "DUPLICATE",
    "ERROR",
    "INVALID",
    "MISSING",
    "NOT_OK",
    "OK",
    "RETRY",
    "STATUS_NAMES",
    "UNEXPECTED",
    "IndexCancelled",
    "JoinedRow",
    "ResultsIndex",
    "RowSummary",
    "pretty_answer",
    "preview_line",
    "request_texts",
]
