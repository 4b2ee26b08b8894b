"""Provides the resubmit-failures file: exactly the requests of a job whose result is an error or missing.

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
from gembatch_tui.core.results.index import RETRY, ResultsIndex
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


def failed_lines(index: ResultsIndex) -> array:
    """Input line numbers of the rows to retry (errors and missing), in input order."""
    return array("I", (index.row_input_line(row) for row in index.rows_with(RETRY)))


def build_retry_file(index: ResultsIndex, *, dest: str | os.PathLike[str] | None = None) -> RetryFile:
    """Write the retry file for `index` (at `dest`, default `retry_path`) and return it.

    Raises ResubmitError when there is nothing to retry or the input cannot be read; OSError on a write error.
    """
    if index.input_path is None or not index.keys_compared:
        why = index.input_problem or "the job has no input file recorded"
        raise ResubmitError(f"cannot tell which requests failed: {why}")
    lines = failed_lines(index)
    if not lines:
        raise ResubmitError("no failed or missing requests: nothing to resubmit")
    target = Path(dest) if dest is not None else retry_path(index.input_path, index.results_path.parent)
    with atomic_writer(target, binary=True, mode=0o644) as out:
        count = _copy_lines(index.input_path, lines, out)
        if count != len(lines):
            raise ResubmitError(f"{index.input_path}: the input file changed since the results were indexed")
    return RetryFile(target, count)


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
    "build_retry_file",
    "failed_lines",
    "link_resubmits",
    "resubmit_extra",
    "retry_path",
]
