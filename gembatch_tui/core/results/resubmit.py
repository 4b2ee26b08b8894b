"""Provides the resubmit-failures file: the requests of a job whose result is missing or an error a retry can fix.

An error the service gives a request it refuses as written (400 INVALID_ARGUMENT) is left out and counted: sent
again unchanged it fails the same way, and a real-time retry would only spend time on it.

The file holds canonical `{"key": ..., "request": {...}}` lines with the same keys, in input order, so the new
job's results join to the old input too. It is named `<input stem>.retry-N.jsonl` beside the input (N the first
free number; a `.retry-N` already in the stem is replaced, not stacked), or in the results file's folder when
the input's folder cannot be written. The caller submits it with `service.submit(path, ..., extra=
resubmit_extra(old_record))`, which links the new job to the old one in the store; `link_resubmits` makes the
same link after the fact for a job submitted from the submit screen.
"""

from __future__ import annotations

import json
import os
import re
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core.fsutil import atomic_writer
from gembatch_tui.core.models import Record, batch_name, record_key
from gembatch_tui.core.results.index import ERROR, RETRY, ResultsIndex
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.input_read import iter_requests

_RETRY_STEM = re.compile(r"^(?P<base>.+)\.retry-\d+$")
MAX_RETRY_NUMBER = 10_000


class ResubmitError(Exception):
    """Nothing to resubmit, or the file cannot be built; the message is one line for the user."""


@dataclass(frozen=True)
class RetryFile:
    path: Path
    count: int  # requests in the file
    selection: RetrySelection | None = None  # what was chosen, and what was left out and why

    def note(self) -> str:
        return self.selection.note() if self.selection is not None else ""


def resubmit_extra(record: Record) -> dict[str, Any]:
    """The fields that link a resubmitted job to the job it retries (for `service.submit(..., extra=)`)."""
    return {"resubmit_of": record_key(record), "resubmit_of_batch": batch_name(record)}


def retry_path(input_path: str | os.PathLike[str], fallback_dir: str | os.PathLike[str] | None = None) -> Path:
    """`data/batch.jsonl` -> `data/batch.retry-1.jsonl` (the first N not taken); `batch.retry-1` -> `batch.retry-2`."""
    source = Path(input_path)
    folder = source.parent
    if not os.access(folder, os.W_OK | os.X_OK) and fallback_dir is not None:
        folder = Path(fallback_dir)
    match = _RETRY_STEM.match(source.stem)
    base = match.group("base") if match else source.stem
    for n in range(1, MAX_RETRY_NUMBER):
        candidate = folder / f"{base}.retry-{n}.jsonl"
        if not candidate.exists():
            return candidate
    raise ResubmitError(f"{folder}: {MAX_RETRY_NUMBER} retry files already; remove some")


REJECTED_CODES = frozenset({400})
"""Item errors the service gives a request it refuses as written (400 INVALID_ARGUMENT, FAILED_PRECONDITION):
sent again unchanged, it fails the same way, so a retry leaves it out and says so."""


@dataclass(frozen=True)
class RetrySelection:
    lines: array  # input line numbers to send again (errors worth a retry, and missing), in input order
    rejected: int = 0  # errors left out: the service refused the request as written
    example: str = ""  # one of those errors, as the message names it (`400 INVALID_ARGUMENT: why`)

    @property
    def head(self) -> str:
        """The example's code and status alone (`400 INVALID_ARGUMENT`), for a one-line note."""
        return self.example.split(":", 1)[0]

    def short_note(self) -> str:
        """`2 requests refused as written (400 INVALID_ARGUMENT): fix the input` (one line of 80 columns)."""
        if not self.rejected:
            return ""
        what = "1 request" if self.rejected == 1 else f"{self.rejected:,} requests"
        return f"{what} refused as written ({self.head}): fix the input"

    def note(self) -> str:
        """`3 requests the service rejected as written (400 INVALID_ARGUMENT: why) left out: ...; fix the input`."""
        if not self.rejected:
            return ""
        what = "1 request" if self.rejected == 1 else f"{self.rejected:,} requests"
        return (f"{what} the service rejected as written ({self.example}) left out: sent again unchanged, "
                f"{'it fails' if self.rejected == 1 else 'they fail'} the same way; fix the input to send "
                f"{'it' if self.rejected == 1 else 'them'}")


def rejected_error(raw: bytes | None) -> str | None:
    """`400 INVALID_ARGUMENT: why` for a result line whose error is a refusal of the request as written, else None
    (a transient error, a blocked answer, a line that is not JSON: those are worth sending again)."""
    if raw is None:
        return None
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    error = obj.get("error") if type(obj) is dict else None
    if type(error) is not dict:
        return None
    code = error.get("code")
    if type(code) is str and code.isdigit():
        code = int(code)
    status = error.get("status")
    if code not in REJECTED_CODES and status != "INVALID_ARGUMENT":
        return None
    head = " ".join(str(x) for x in (code, status) if x not in (None, ""))
    message = error.get("message")
    text = f"{head}: {message}" if type(message) is str and message else head
    return text if len(text) <= 120 else text[:119] + "…"


def select_retry(index: ResultsIndex) -> RetrySelection:
    """The rows a retry sends: missing ones, and errors other than a refusal of the request as written. Reads the
    result line of each error row (errors are few; the index holds their offsets)."""
    rows = index.rows_with(RETRY)
    errors = index.rows_with((ERROR,)) if index.count(ERROR) else array("I")
    refused: set[int] = set()
    example = ""
    for row, raw in index.raw_results(errors):
        why = rejected_error(raw)
        if why is not None:
            refused.add(row)
            example = example or why
    lines = array("I", (index.row_input_line(row) for row in rows if row not in refused))
    return RetrySelection(lines, len(refused), example)


def failed_lines(index: ResultsIndex) -> array:
    """Input line numbers of the rows to retry (missing, and errors a retry can fix), in input order."""
    return select_retry(index).lines


def build_retry_file(index: ResultsIndex, *, dest: str | os.PathLike[str] | None = None) -> RetryFile:
    """Write the retry file for `index` (at `dest`, default `retry_path`) and return it.

    Raises ResubmitError when there is nothing to retry or the input cannot be read; OSError on a write error.
    """
    if index.input_path is None or not index.keys_compared:
        why = index.input_problem or "the job has no input file recorded"
        raise ResubmitError(f"cannot tell which requests failed: {why}")
    chosen = select_retry(index)
    lines = chosen.lines
    if not lines:
        if chosen.rejected:
            raise ResubmitError(f"nothing to resubmit: {chosen.note()}")
        raise ResubmitError("no failed or missing requests: nothing to resubmit")
    target = Path(dest) if dest is not None else retry_path(index.input_path, index.results_path.parent)
    with atomic_writer(target, binary=True, mode=0o644) as out:
        count = _copy_lines(index.input_path, lines, out)
        if count != len(lines):
            raise ResubmitError(f"{index.input_path}: the input file changed since the results were indexed")
    return RetryFile(target, count, chosen)


def _copy_lines(input_path: Path, wanted: array, out: Any) -> int:
    """Stream the input once and write the requests on `wanted` line numbers (sorted) as canonical lines."""
    count = 0
    pos = 0
    try:
        for line_no, key, request in iter_requests(input_path):
            while pos < len(wanted) and wanted[pos] < line_no:
                pos += 1  # a wanted line that is no longer a request: counted as missing by the caller
            if pos >= len(wanted):
                break
            if line_no != wanted[pos]:
                continue
            obj = {"key": key, "request": request}
            try:
                data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate escaped in the input: keep it escaped
                data = json.dumps(obj, separators=(",", ":")).encode("ascii")
            out.write(data + b"\n")
            count += 1
            pos += 1
    except ValueError as exc:
        raise ResubmitError(f"input file is not valid: {exc}") from None
    except OSError as exc:
        raise ResubmitError(f"{input_path}: cannot read input file: {exc.strerror or exc}") from None
    return count


def link_resubmits(store: JobStore, retry_file: str | os.PathLike[str], old: Record) -> list[str]:
    """Mark every job submitted from `retry_file` as a resubmit of `old` (if not already); returns their keys.

    For a retry file submitted through the submit screen, which knows nothing about the old job.
    Blocking: call from a worker.
    """
    wanted = str(Path(retry_file).absolute())
    extra = resubmit_extra(old)
    changes = {}
    for rec in store.read_all():
        if rec.get("input_file") == wanted and not rec.get("resubmit_of"):
            changes[record_key(rec)] = lambda r: r.update(extra)
    if not changes:
        return []
    return list(store.update_many(changes))


__all__ = [
    "ResubmitError",
    "RetryFile",
    "RetrySelection",
    "build_retry_file",
    "failed_lines",
    "link_resubmits",
    "rejected_error",
    "resubmit_extra",
    "retry_path",
    "select_retry",
]
