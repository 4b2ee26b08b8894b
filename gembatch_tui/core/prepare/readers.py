"""Provides streaming records of a data file: CSV, TSV, a JSON list of objects, or JSONL (one object a line).

Why streaming: a data file can be bigger than memory (a 1 GB CSV), so each format is read one record at a time
(csv.reader, a JSON list decoded element by element with JSONDecoder.raw_decode over a sliding buffer, JSONL a
line at a time); only a block of records (about BLOCK_CHARS of text) and a read buffer are held. Each record
comes with where it is: its 1-based row (the record number: CSV/TSV data rows after the header, JSON list
elements, JSONL non-blank lines) and the line of the file it starts on, which is what messages name
(`data.csv:12: ...`).

Why blocks (`blocks()`): at 100 MB a second a Python loop over a million rows is a real share of the time, so
the CSV reader's loop does only what needs the reader (the line a row starts on), and `prepare` does the rest
of a row's work with C-level loops (map, join) over the whole block.

A record is a list of cells (CSV/TSV, in header order) or a dict (JSON, JSONL). A record that cannot be read
(a JSONL line that is not a JSON object) comes as a BadRecord with the reason, so the caller can report it and
go on; a file that cannot be read on at all raises SourceError.

Why an end-of-file line after a CSV/TSV's last line (`_EOF_LINES`): csv.reader, lenient (strict=False) so that
a stray quote inside a cell is kept as text, silently ends a quoted field that is never closed at the end of
the file, and that field has then swallowed every line after its opening quote. The marker line shows it: read
as a row of its own, all was closed; found inside the last row's last cell, that cell ran to the end of the file.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

FORMATS = ("csv", "tsv", "json", "jsonl")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
JSON_CHUNK = 1 << 20
CSV_FIELD_LIMIT = 1 << 26  # one cell up to 64 MiB (csv's default, 128 KiB, refuses long articles)
MAX_RECORD_CHARS = 1 << 26  # a JSON list element is read whole: past this, a decode error is final

_NOT_READ = object()
Row = tuple[int, int, Any]  # (row number, line number, cells list | dict | BadRecord)
Block = tuple[int, list[int], list[Any]]  # (first row number, line numbers, records): consecutive rows
BLOCK_ROWS = 64  # records in a block to start with (and always, for JSON and JSONL)
# CSV blocks then hold about this much text: a block of 512 rows of 1 KB cost a fifth more CPU, in page faults
# (malloc gives the freed memory back to the system and faults it in again for the next block)
BLOCK_CHARS = 1 << 16
MAX_BLOCK_ROWS = 4096
# read after a CSV/TSV's last line: a blank line (so a file without a final newline ends its row first), then
# a marker no table holds (private-use characters), which is a row of its own unless a quoted field is open
_EOF_MARK = "\ue000gembatch-tui end of file\ue000"
_EOF_LINES = ("\n", _EOF_MARK)


class SourceError(ValueError):
    """A data file that cannot be read (on); the message starts with `PATH:` (and the line when known)."""


class BadRecord(str):
    """Why one record could not be read (the rest of the file still can)."""


def detect_format(path: Path, given: str | None = None) -> str:
    """`given`, else the format the file name's suffix says; SourceError when neither says one."""
    if given:
        return given
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None and path.is_dir():  # the more useful thing to say of a folder
        raise SourceError(f"{path}: is a directory; give a CSV, TSV, JSON or JSONL file")
    if fmt is None:
        raise SourceError(f"{path}: cannot tell the format from the name; pass --format {'|'.join(FORMATS)}")
    return fmt


class Source:
    """One data file: its format, its columns (CSV/TSV: the header; JSON: None, each record has its own keys)
    and its records, read again from the start each time `records()` is called."""

    def __init__(self, path: str | os.PathLike[str], fmt: str | None = None) -> None:
        self.path = Path(path)
        self.format = detect_format(self.path, fmt)
        self.columns: list[str] | None = None
        if self.format in ("csv", "tsv"):
            self.columns = self._header()

    # ----------------------------------------------------------------- CSV / TSV
    def _open_text(self) -> Any:
        try:
            return open(self.path, encoding="utf-8-sig", newline="", buffering=1 << 20)  # noqa: SIM115
        except FileNotFoundError:
            raise SourceError(f"{self.path}: file not found") from None
        except IsADirectoryError:
            raise SourceError(f"{self.path}: is a directory, not a data file") from None
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read: {exc.strerror or exc}") from None

    def _csv_reader(self, f: Any) -> Any:
        if csv.field_size_limit() < CSV_FIELD_LIMIT:
            csv.field_size_limit(CSV_FIELD_LIMIT)
        return csv.reader(chain(f, _EOF_LINES), delimiter="\t" if self.format == "tsv" else ",", strict=False)

    def _unclosed(self, start: int, cells: list[str]) -> SourceError:
        """The error for a row (starting on line `start`) whose last cell ran to the end of the file: it names
        the line the cell's opening quote is on (the cells before it can hold line breaks of their own)."""
        line = start + sum(map(_line_breaks, cells[:-1]))
        return SourceError(f"{self.path}:{line}: a quoted field is never closed (it takes in the rest of the "
                           'file; write "" for a quote inside quotes)')

    def _not_utf8(self, near: int | None) -> SourceError:
        """The error for bytes that are not UTF-8: the exact line when a re-read finds it, else where the reader
        was (`near`: the text decoder reads a chunk ahead, so the byte is on that line or a later one)."""
        found = first_bad_utf8(self.path)
        if found is not None:
            line, byte = found
            return SourceError(f"{self.path}:{line}: not UTF-8 text (byte 0x{byte:02x}; save the file as UTF-8)")
        if near is None:
            return SourceError(f"{self.path}: not UTF-8 text near the start (save the file as UTF-8)")
        return SourceError(f"{self.path}:{near}: not UTF-8 text on this line or within the next few KiB "
                           "(save the file as UTF-8)")

    def _header(self) -> list[str]:
        with self._open_text() as f:
            reader = self._csv_reader(f)
            try:
                header = next(reader, None)
            except UnicodeDecodeError:  # the first read block holds more than the header
                raise self._not_utf8(None) from None
            except csv.Error as exc:
                raise SourceError(f"{self.path}:1: cannot read the header row: {exc}") from None
        if header and header[-1].endswith(_EOF_MARK):  # (an empty file's first row is the blank line before it)
            raise self._unclosed(1, header)
        if not header or not any(cell.strip() for cell in header):
            raise SourceError(f"{self.path}:1: no header row (the first row names the columns)")
        seen: dict[str, int] = {}
        for i, name in enumerate(header, 1):
            if name in seen and name:
                raise SourceError(f"{self.path}:1: column {name!r} appears twice (columns {seen[name]} and {i})")
            seen[name] = i
        return header

    def _csv_blocks(self) -> Iterator[Block]:
        # The one loop a CSV row goes through in Python: everything else about a row is done a block at a time.
        with self._open_text() as f:
            reader = self._csv_reader(f)
            first = end = 1
            size = BLOCK_ROWS
            lines: list[int] = []
            records: list[Any] = []
            add_line, add_record = lines.append, records.append
            error = None
            try:
                next(reader)
                end = reader.line_num
                for cells in reader:
                    if cells:  # else a blank line
                        add_record(cells)
                        add_line(end + 1)
                        if len(records) >= size and not cells[-1].endswith(_EOF_MARK):  # that row: below
                            yield first, lines, records
                            chars = sum(map(len, chain.from_iterable(records)))
                            size = max(1, min(MAX_BLOCK_ROWS, size * BLOCK_CHARS // max(chars, 1)))
                            first += len(records)
                            lines, records = [], []
                            add_line, add_record = lines.append, records.append
                    end = reader.line_num
                # the last row read holds the end-of-file marker: alone, or after a field that was never closed
                last, start = records.pop(), lines.pop()
                if last != [_EOF_MARK]:
                    error = self._unclosed(start, last)
            except UnicodeDecodeError:
                error = self._not_utf8(end + 1)
            except csv.Error as exc:
                if "field limit" in str(exc):  # tens of MiB in one cell: a quote left open, most likely
                    error = SourceError(f"{self.path}:{end + 1}: a cell longer than {CSV_FIELD_LIMIT >> 20} MiB "
                                        "(is a quoted field never closed?)")
                else:
                    error = SourceError(f"{self.path}:{end + 1}: {exc}")
            if records:
                yield first, lines, records
            if error is not None:
                raise error

    # ----------------------------------------------------------------- JSONL
    def _jsonl_records(self) -> Iterator[Row]:
        try:
            f = open(self.path, "rb", buffering=1 << 20)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        with f:
            row = 0
            for line_no, raw in enumerate(f, 1):
                if raw.isspace():
                    continue
                row += 1
                if line_no == 1:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
                try:
                    obj = orjson.loads(raw)  # fast; what it refuses is read again by json, whose word is final
                except orjson.JSONDecodeError:
                    obj = _NOT_READ
                try:
                    if obj is _NOT_READ:
                        obj = json.loads(raw)
                except UnicodeDecodeError as exc:
                    yield row, line_no, BadRecord(f"not UTF-8 text at byte {exc.start} of the line")
                    continue
                except ValueError as exc:
                    yield row, line_no, BadRecord(f"not valid JSON: {getattr(exc, 'msg', exc)}")
                    continue
                yield row, line_no, obj if isinstance(obj, dict) else BadRecord(
                    f"expected a JSON object (a record), got {type(obj).__name__}")

    # ----------------------------------------------------------------- JSON list
    def _json_records(self) -> Iterator[Row]:
        decoder = json.JSONDecoder()
        with self._open_text() as f:
            buf, pos, line, eof = "", 0, 1, False

            def fill(need_more: bool) -> bool:
                nonlocal buf, pos, eof
                if eof:
                    return False
                chunk = f.read(max(JSON_CHUNK, len(buf) - pos) if need_more else JSON_CHUNK)
                buf, pos = buf[pos:] + chunk, 0
                eof = not chunk
                return bool(chunk)

            def skip_ws() -> str:
                nonlocal pos, line
                while True:
                    while pos < len(buf) and buf[pos] in " \t\r\n":
                        line += buf[pos] == "\n"
                        pos += 1
                    if pos < len(buf) or not fill(False):
                        return buf[pos] if pos < len(buf) else ""

            try:
                if skip_ws() != "[":
                    raise SourceError(f"{self.path}:{line}: expected a JSON list of objects ([{{...}}, ...]); "
                                      "for one record a line, name the file .jsonl")
                pos += 1
                row = 0
                while True:
                    ch = skip_ws()
                    if ch == "]" and row == 0:
                        return
                    if ch == "":
                        raise SourceError(f"{self.path}:{line}: the list is not closed (']' missing)")
                    while True:
                        try:
                            obj, end = decoder.raw_decode(buf, pos)
                            break
                        except json.JSONDecodeError as exc:  # cut off by the buffer's end, or really bad
                            if len(buf) - pos > MAX_RECORD_CHARS or not fill(True):
                                at = line + buf.count("\n", pos, exc.pos)
                                raise SourceError(f"{self.path}:{at}: not valid JSON: {exc.msg}") from None
                    row += 1
                    yield row, line, obj if isinstance(obj, dict) else BadRecord(
                        f"expected a JSON object (a record), got {type(obj).__name__}")
                    line += buf.count("\n", pos, end)
                    pos = end
                    ch = skip_ws()
                    if ch == "]":
                        if skip_ws_after(self, buf, pos + 1, f):
                            raise SourceError(f"{self.path}:{line}: text after the end of the list")
                        return
                    if ch == "":
                        raise SourceError(f"{self.path}:{line}: the list is not closed (']' missing)")
                    if ch != ",":
                        raise SourceError(f"{self.path}:{line}: expected ',' or ']' after record {row}")
                    pos += 1
            except UnicodeDecodeError as exc:
                raise SourceError(f"{self.path}:{line}: {_why(exc)}") from None

    # ----------------------------------------------------------------- all formats
    def records(self) -> Iterator[Row]:
        """(row, line, record) for every record, in file order; raises SourceError when the file cannot be read."""
        if self.format in ("csv", "tsv"):
            return chain.from_iterable(zip(range(first, first + len(records)), lines, records)
                                       for first, lines, records in self._csv_blocks())
        if self.format == "jsonl":
            return self._jsonl_records()
        return self._json_records()

    def blocks(self) -> Iterator[Block]:
        """The records a block at a time, as (first row, lines, records) with rows first, first + 1, ...; a file
        that cannot be read on gives the records before the problem, then raises SourceError."""
        if self.format in ("csv", "tsv"):
            return self._csv_blocks()
        return _grouped(self.records(), BLOCK_ROWS)


def _grouped(rows: Iterator[Row], size: int) -> Iterator[Block]:
    first = 1
    lines: list[int] = []
    records: list[Any] = []
    error = None
    try:
        for row, line, record in rows:
            if not records:
                first = row
            lines.append(line)
            records.append(record)
            if len(records) == size:
                yield first, lines, records
                lines, records = [], []
    except SourceError as exc:
        error = exc
    if records:
        yield first, lines, records
    if error is not None:
        raise error


def skip_ws_after(source: Source, buf: str, pos: int, f: Any) -> bool:
    """Whether anything but blanks follows the closing ']' of a JSON list (the rest of the file is read)."""
    if buf[pos:].strip():
        return True
    while chunk := f.read(JSON_CHUNK):
        if chunk.strip():
            return True
    return False


def _line_breaks(text: str) -> int:
    """Line breaks in a cell as the file is read in lines (newline=""): \\n, \\r and \\r\\n are one each."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def first_bad_utf8(path: Path) -> tuple[int, int] | None:
    """(line, byte value) of the first byte of `path` that is not UTF-8, or None (none, or unreadable).

    Why a second read: the text reader decodes a chunk ahead of the rows it gives, so when decoding fails it is
    not known which line the byte is on. This re-read is C-level (a chunk's decode and its line-break counts),
    and only happens on the way to an error.
    """
    line, carry, prev_cr = 1, b"", False
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(JSON_CHUNK)
                data = carry + chunk
                if not data:
                    return None
                try:
                    data.decode("utf-8")
                    bad, carry = -1, b""
                except UnicodeDecodeError as exc:
                    if chunk and exc.reason == "unexpected end of data":  # a character cut by the chunk's end
                        bad, carry = -1, data[exc.start:]
                        data = data[:exc.start]
                    else:
                        bad, carry = exc.start, b""
                head = data if bad < 0 else data[:bad]
                line += head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n")
                if prev_cr and head.startswith(b"\n"):
                    line -= 1  # a \r\n split between two chunks is one line break
                if bad >= 0:
                    return line, data[bad]
                if head:
                    prev_cr = head.endswith(b"\r")
                if not chunk:
                    return None
    except OSError:
        return None


def _why(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text (save the file as UTF-8)"
    return str(exc)


__all__ = ["FORMATS", "BadRecord", "Block", "Row", "Source", "SourceError", "detect_format", "first_bad_utf8"]
