"""Provides the export of a prepared input's results joined back to its source rows: a CSV in gives a CSV out.

When a job's input file was written by `prepare` (its key map sits beside it: core/prepare/mapfile.py), each
exported row is the source record's columns (in the source's order and the source's row order), then `status`,
`answer` (the answer's text), one `answer.<field>` column per top-level field of the response schema (the
parsed JSON answer's value; objects and lists as compact JSON), `error` and `total_tokens`; when the requests were
keyed by row number (no id column) a `key` column comes first among them. A result column whose name a source
column already has gets a `_` appended. JSONL exports keep their records and gain a `source` object.

The source is read again, in order, next to the results index's rows in input-line order (batch line R is
record R), so memory holds one array of row numbers, not the data. Each record's key is worked out again (its
id column or its row number) and compared with the batch line's key: a source that changed in a way its size
and mtime did not show stops the export (SourceMismatch) rather than put answers beside the wrong rows. Rows of
the results that have no request (unexpected or duplicate keys) come last with empty source columns.
"""

from __future__ import annotations

import csv
import json
import threading
from array import array
from collections.abc import Callable, Iterator
from typing import IO, Any

from gembatch_tui.core.prepare.mapfile import PreparedMap, find_map, map_path_for
from gembatch_tui.core.prepare.readers import BadRecord, Source, SourceError
from gembatch_tui.core.prepare.template import cell_text
from gembatch_tui.core.results.index import IndexCancelled, JoinedRow, ResultsIndex

PROGRESS_ROWS = 1000


class SourceMismatch(OSError):
    """The source rows no longer match the batch (a changed data file); the export stops, naming the row."""


def prepared_source(index: ResultsIndex) -> PreparedMap | None:
    """The key map of the index's input when it was prepared and its rows can be joined (input joined by key)."""
    if not index.keys_compared:
        return None
    return find_map(index.input_path)


def source_note(index: ResultsIndex) -> str | None:
    """What an export of this index will do about source rows, for a line on stderr (None: not prepared)."""
    if index.input_path is None:
        return None
    prepared = find_map(index.input_path)
    if prepared is None:
        damaged = map_path_for(index.input_path)
        if damaged.is_file():  # made by prepare, then cut short or edited: say so rather than export plainly
            return (f"warning: results not joined to the source rows: the key map {damaged} is not one prepare "
                    "wrote whole (damaged or edited); `prepare --force` writes it again")
        return None
    if not index.keys_compared:
        return "warning: results not joined to the source rows: the batch input could not be read"
    if prepared.problem:
        return f"warning: results not joined to the source rows: {prepared.problem}"
    return f"joined to the rows of {prepared.source} (a prepared input)"


def _result_columns(prepared: PreparedMap, source_columns: list[str]) -> list[str]:
    names = ([] if prepared.header.get("id_column") else ["key"]) + ["status", "answer"]
    names += [f"answer.{name}" for name in prepared.answer_fields] + ["error", "total_tokens"]
    taken = set(source_columns)
    out = []
    for name in names:
        while name in taken:
            name += "_"
        taken.add(name)
        out.append(name)
    return out


def _row_order(index: ResultsIndex, rows: int) -> tuple[array, list[int]]:
    """(result row of each batch line 1..rows, the rows that have no request)."""
    order = array("l", [-1]) * rows
    extra = []
    for row in index.all_rows():
        line = index.row_input_line(row)
        if 0 < line <= rows and order[line - 1] < 0:
            order[line - 1] = row
        else:
            extra.append(row)
    return order, extra


def write_source_export(
    index: ResultsIndex,
    prepared: PreparedMap,
    out: IO[str],
    fmt: str,
    record_of: Callable[[JoinedRow], dict[str, Any]],
    parsed_of: Callable[[JoinedRow], Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Write every row joined to its source record; returns the row count. `record_of` is the plain export
    record of a row (export.export_record), `parsed_of` its answer parsed as JSON (or None)."""
    source = Source(prepared.source, str(prepared.header.get("format") or "") or None)
    columns = source.columns if source.columns is not None else prepared.columns
    result_columns = _result_columns(prepared, columns)
    id_column = prepared.header.get("id_column")
    id_index = columns.index(id_column) if id_column and source.columns is not None else None
    order, extra = _row_order(index, prepared.rows)
    if any(r < 0 for r in order):
        raise SourceMismatch(f"{index.input_path}: the batch has fewer requests than the key map's "
                             f"{prepared.rows}; was it edited after prepare?")
    writer = csv.writer(out, lineterminator="\r\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(columns + result_columns)
    total = len(index)
    count = 0

    def joined() -> Iterator[tuple[Any, JoinedRow]]:
        records = _source_records(source, prepared)
        for row in index.rows(order):
            yield next(records), row
        for row in index.rows(extra):
            yield None, row

    for record, row in joined():
        if count % PROGRESS_ROWS == 0:
            if cancel is not None and cancel.is_set():
                raise IndexCancelled()
            if progress is not None:
                progress(count, total)
        if record is not None:
            number, line, values = record
            key = _key_of(values, number, id_column, id_index)
            if key != row.key:
                raise SourceMismatch(f"{prepared.source}:{line}: row {number} has key {key!r} but the batch has "
                                     f"{row.key!r} there; the data changed since it was prepared (prepare again)")
        plain = record_of(row)
        parsed = parsed_of(row)
        if writer is None:
            values_obj = _as_dict(record[2], columns) if record is not None else None
            out.write(json.dumps({**plain, "source": values_obj}, ensure_ascii=False) + "\n")
        else:
            cells = _cells(record[2], columns) if record is not None else [""] * len(columns)
            answers = [cell_text(parsed.get(f)) if isinstance(parsed, dict) else "" for f in prepared.answer_fields]
            result = ([] if id_column else [row.key]) + [row.status, plain["response_text"] or ""] + answers
            result += [plain["error"] or "", "" if plain["total_tokens"] is None else plain["total_tokens"]]
            writer.writerow(cells + result)
        count += 1
    if progress is not None:
        progress(count, total)
    return count


def _source_records(source: Source, prepared: PreparedMap) -> Iterator[tuple[int, int, Any]]:
    try:
        for record in source.records():
            if isinstance(record[2], BadRecord):
                raise SourceMismatch(f"{prepared.source}:{record[1]}: {record[2]}; the data changed since it "
                                     "was prepared (prepare again)")
            yield record
    except SourceError as exc:
        raise SourceMismatch(str(exc)) from None
    raise SourceMismatch(f"{prepared.source}: fewer records than the {prepared.rows} prepared from it")


def _key_of(values: Any, number: int, id_column: Any, id_index: int | None) -> str:
    if not id_column:
        return str(number)
    if id_index is not None:
        return values[id_index] if id_index < len(values) else ""
    return cell_text(values.get(id_column)) if isinstance(values, dict) else ""


def _cells(values: Any, columns: list[str]) -> list[str]:
    if isinstance(values, list):
        return values[: len(columns)] + [""] * (len(columns) - len(values))
    return [cell_text(values.get(name)) for name in columns]


def _as_dict(values: Any, columns: list[str]) -> dict[str, Any]:
    if isinstance(values, dict):
        return values
    return dict(zip(columns, values))


__all__ = ["SourceMismatch", "prepared_source", "source_note", "write_source_export"]
