"""Provides the joined export of a job's results: one record per row of a ResultsIndex, as JSONL or CSV.

Each record holds the key, the row status (ok, error, missing, unexpected, duplicate, invalid), the request,
the answer's text, the answer parsed as JSON when the request asked for JSON (`responseMimeType:
application/json`; null when it did not, or when the answer does not parse, e.g. cut off at the token limit),
the error, the finish reason and the token counts. Token counts are null (JSONL) or empty
(CSV) when the response carried no usage, so a reader never mistakes unknown usage for zero. Rows are read
one at a time from the index's offsets and written as they come, so memory stays flat whatever the size;
the file is written under a temporary name and renamed, so a half-written export never looks complete
(and, like the results it is made of, it is private to the user: mode 0600).
An input made by `prepare` is exported joined to its source rows instead (source_join.py).
"""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from gembatch_tui.core.fsutil import atomic_writer
from gembatch_tui.core.results.index import IndexCancelled, JoinedRow, ResultsIndex

FORMATS = ("jsonl", "csv")
FIELDS = (
    "key",
    "status",
    "request",
    "response_text",
    "error",
    "finish_reason",
    "prompt_tokens",
    "output_tokens",
    "thinking_tokens",
    "cached_tokens",
    "total_tokens",
    "response_json",  # last, so the columns before it keep their places in CSV exports made before it existed
)
_TOKEN_FIELDS = (
    ("prompt_tokens", "promptTokenCount"),
    ("output_tokens", "candidatesTokenCount"),
    ("thinking_tokens", "thoughtsTokenCount"),
    ("cached_tokens", "cachedContentTokenCount"),
)
PROGRESS_ROWS = 1000


def export_record(row: JoinedRow) -> dict[str, Any]:
    """The export record of one row (the request as an object; tokens None when unknown)."""
    result = row.result
    out: dict[str, Any] = {
        "key": row.key,
        "status": row.status,
        "request": row.request,
        "response_text": result.text if result is not None and result.ok else None,
        "error": row.error_text() or None,
        "finish_reason": result.finish_reason if result is not None else None,
    }
    known = result is not None and result.ok and not row.usage_missing()
    for name, wire in _TOKEN_FIELDS:
        out[name] = result.usage.get(wire, 0) if known and result is not None else None
    out["total_tokens"] = row.total_tokens() if known else None
    out["response_json"] = _parsed_answer(row.request, result.text) if result is not None and result.ok else None
    return out


def _asks_for_json(request: Any) -> bool:
    if not isinstance(request, dict):
        return False
    config = request.get("generationConfig", request.get("generation_config"))
    if not isinstance(config, dict):
        return False
    mime = config.get("responseMimeType", config.get("response_mime_type"))
    return isinstance(mime, str) and mime.split(";")[0].strip().lower() == "application/json"


def _parsed_answer(request: Any, text: str | None) -> Any:
    """The answer as JSON when the request asked for JSON and it parses; None otherwise."""
    if not text or not _asks_for_json(request):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _parsed_of(row: JoinedRow) -> Any:
    result = row.result
    return _parsed_answer(row.request, result.text) if result is not None and result.ok else None


def default_export_path(results_path: str | os.PathLike[str], fmt: str) -> Path:
    """`results/batch.jsonl` -> `results/batch.export.jsonl` (or `.export.csv`), beside the results file.

    The results path comes from a store record: its name is made one harmless component
    (`paths.safe_component`), so the export lands in the results file's own folder whatever the name holds."""
    from gembatch_tui.core import paths

    path = Path(results_path)
    stem = paths.safe_component(Path(paths.safe_component(path.name, "results")).stem, "results")
    return path.parent / f"{stem}.export.{paths.safe_component(fmt, 'out')}"


def write_export(
    index: ResultsIndex,
    out: IO[str],
    fmt: str = "jsonl",
    *,
    rows: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Write the rows (default: all) to a text stream; returns how many were written.

    All rows of a prepared input (its key map beside it, the source unchanged) are joined to the source rows
    instead (core/results/source_join.py): the source's columns, then the answer's."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use jsonl or csv")
    if rows is None:
        from gembatch_tui.core.results.source_join import prepared_source, write_source_export

        prepared = prepared_source(index)
        if prepared is not None and prepared.problem is None:
            return write_source_export(index, prepared, out, fmt, export_record, _parsed_of,
                                       progress=progress, cancel=cancel)
    chosen = index.all_rows() if rows is None else rows
    total = len(chosen)
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\r\n") if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    for row in index.rows(chosen):
        if count % PROGRESS_ROWS == 0:
            if cancel is not None and cancel.is_set():
                raise IndexCancelled()
            if progress is not None:
                progress(count, total)
        record = export_record(row)
        if writer is None:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            for name in ("request", "response_json"):
                if record[name] is not None:
                    record[name] = json.dumps(record[name], ensure_ascii=False, separators=(",", ":"))
            writer.writerow({k: "" if v is None else v for k, v in record.items()})
        count += 1
    if progress is not None:
        progress(count, total)
    return count


def export_to_file(
    index: ResultsIndex,
    dest: str | os.PathLike[str],
    fmt: str = "jsonl",
    *,
    rows: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Write the export to `dest` atomically (temporary file + rename); returns the row count.

    Raises OSError when `dest`'s folder cannot be written, ValueError for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use jsonl or csv")
    with atomic_writer(dest, mode=0o644, encoding="utf-8", newline="") as out:
        count = write_export(index, out, fmt, rows=rows, progress=progress, cancel=cancel)
    return count


def read_export(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read an export back (JSONL or CSV by extension), the request parsed: for tests and scripts on small files."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as f:
        if path.suffix == ".csv":
            rows: list[dict[str, Any]] = []
            for raw in csv.DictReader(f):
                record: dict[str, Any] = {k: (v if v != "" else None) for k, v in raw.items()}
                for name in ("request", "response_json"):
                    if record.get(name) is not None:
                        record[name] = json.loads(record[name])
                for name in ("prompt_tokens", "output_tokens", "thinking_tokens", "cached_tokens", "total_tokens"):
                    if record[name] is not None:
                        record[name] = int(record[name])
                rows.append(record)
            return rows
        return [json.loads(line) for line in f if line.strip()]


__all__ = ["FIELDS", "FORMATS", "default_export_path", "export_record", "export_to_file", "read_export", "write_export"]
