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
"""

from __future__ import annotations

import json
import os
import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gembatch_tui.core.keyset import key_hash
from gembatch_tui.core.results import ResultLine, parse_result_line
from gembatch_tui.core.validate import _parse as _parse_input_line
from gembatch_tui.core.validate import iter_keys

OK, ERROR, MISSING, UNEXPECTED, DUPLICATE, INVALID = range(6)
STATUS_NAMES = ("ok", "error", "missing", "unexpected", "duplicate", "invalid")
NOT_OK = frozenset({ERROR, MISSING, UNEXPECTED, DUPLICATE, INVALID})
"""What the "errors only" filter shows: every row that is not a plain good answer."""
RETRY = frozenset({ERROR, MISSING})
"""What a resubmit sends again: input requests whose result is an error or never came back."""

PROGRESS_STEP = 1 << 20  # report progress about every MiB
MAX_SEARCH_MATCHES = 10_000
PREVIEW_CHARS = 200
DETAIL_CHARS = 200_000
"""A request or answer longer than this is cut in the detail view (a base64 image can be many MB)."""
_MASK32 = 0xFFFFFFFF

Progress = Callable[[int, int], None]
ResultHook = Callable[[dict[str, Any]], None]
_Keys = tuple[array, array, array]  # digests, line offsets, line numbers of the input's keys


class IndexCancelled(Exception):
    """The caller's cancel event was set during a pass."""


@dataclass
class RowSummary:
    """What the table shows for one row."""

    row: int
    key: str
    status: str
    finish_reason: str = ""
    tokens: int | None = None  # total tokens; None when the row has no usage to show
    usage_missing: bool = False  # an answer whose usage is missing or all zero
    preview: str = ""  # first line of the answer (compact JSON for JSON answers) or the error


@dataclass
class JoinedRow:
    """One row in full: the request and the whole result line."""

    row: int
    key: str
    status: str
    request: dict[str, Any] | None = None
    result: ResultLine | None = None
    raw: dict[str, Any] | None = None  # the result line as parsed JSON
    input_line: int | None = None
    result_line: int | None = None
    problem: str | None = None  # why an invalid line is invalid

    def usage_missing(self) -> bool:
        """An answer whose usageMetadata is missing or all zero: its tokens are unknown, not free."""
        if self.result is None or not self.result.ok:
            return False
        response = (self.raw or {}).get("response")
        usage = None
        if isinstance(response, dict):
            usage = response.get("usageMetadata", response.get("usage_metadata"))
        return not isinstance(usage, dict) or not any(self.result.usage.values())

    def total_tokens(self) -> int | None:
        if self.result is None or not self.result.ok or self.usage_missing():
            return None
        u = self.result.usage
        return u.get("totalTokenCount") or (
            u.get("promptTokenCount", 0) + u.get("candidatesTokenCount", 0) + u.get("thoughtsTokenCount", 0)
        )

    def error_text(self) -> str:
        if self.problem and self.result is None:
            return self.problem
        if self.status == "missing":
            return "no result for this key in the results file"
        if self.result is not None and self.result.error:
            return self.result.error
        return ""

    def answer_text(self) -> str:
        """The answer as text: text parts joined, a JSON answer pretty-printed, an embedding described."""
        if self.result is None:
            return ""
        if self.result.embedding_dims is not None and not self.result.text:
            return f"(embedding with {self.result.embedding_dims} dimensions)"
        return pretty_answer(self.result.text)

    def summary(self) -> RowSummary:
        out = RowSummary(self.row, self.key, self.status)
        if self.result is not None:
            out.finish_reason = self.result.finish_reason or ""
            out.tokens = self.total_tokens()
            out.usage_missing = self.usage_missing()
        error = self.error_text()
        out.preview = error if error and self.status != "ok" else preview_line(self.result.text if self.result else "")
        if not out.preview and self.result is not None and self.result.embedding_dims is not None:
            out.preview = f"(embedding, {self.result.embedding_dims} dims)"
        return out

    def search_text(self) -> str:
        parts = [self.key, self.error_text()]
        if self.request is not None:
            parts.extend(request_texts(self.request))
        if self.result is not None:
            parts.append(self.result.text)
        return "\n".join(parts)

    def request_json(self) -> str:
        if self.request is None:
            return ""
        return _cut(json.dumps(self.request, ensure_ascii=False, indent=2))

    def error_json(self) -> str:
        """The whole error object of an error line, pretty-printed."""
        error = (self.raw or {}).get("error")
        return _cut(json.dumps(error, ensure_ascii=False, indent=2)) if error is not None else ""


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise IndexCancelled()


def classify(obj: Any) -> tuple[str | None, int]:
    """(key, OK or ERROR) of a parsed result line, or (None, INVALID); the same rules as parse_result_line.

    ERROR is an error status, or a response whose prompt was blocked (it carries no answer either). This is
    the index pass's hot path, so it reads only the few fields it needs instead of flattening the line.
    """
    if not isinstance(obj, dict):
        return None, INVALID
    key = obj.get("key")
    if not isinstance(key, str) or not key:
        return None, INVALID
    if obj.get("error") is not None:
        return key, ERROR
    response = obj.get("response")
    if not isinstance(response, dict):
        return None, INVALID
    feedback = response.get("promptFeedback", response.get("prompt_feedback"))
    if isinstance(feedback, dict) and (feedback.get("blockReason") or feedback.get("block_reason")):
        return key, ERROR
    return key, OK


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
        self.counts = [0] * len(STATUS_NAMES)
        """Rows per status, indexed by OK, ERROR, MISSING, ..."""
        self._in_off = array("q")  # per row: input line offset, -1 for none
        self._in_line = array("I")  # per row: input line number, 0 for none
        self._res_off = array("q")  # per row: result line offset, -1 for none
        self._res_line = array("I")  # per row: result line number, 0 for none
        self._status = array("B")

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
        inputs = index._scan_input(progress, cancel)
        index._scan_and_join(inputs, progress, cancel, on_result)
        return index

    def _scan_input(self, progress: Progress | None, cancel: threading.Event | None) -> _Keys | None:
        """(digests, offsets, line numbers) of the input's keys, or None when there is no usable input."""
        if self.input_path is None:
            return None
        digests, offsets, lines = array("Q"), array("q"), array("I")
        try:
            self.input_size = os.path.getsize(self.input_path)
            total = self.input_size + self.results_size
            next_tick = PROGRESS_STEP
            for line_no, offset, key in iter_keys(self.input_path):
                digests.append(key_hash(key))
                offsets.append(offset)
                lines.append(line_no)
                if offset >= next_tick:
                    next_tick = offset + PROGRESS_STEP
                    _check(cancel)
                    if progress is not None:
                        progress(offset, total)
        except ValueError as exc:
            self.input_problem = f"input file is not valid: {exc}"
            return None
        except OSError as exc:
            self.input_problem = f"{self.input_path}: cannot read input file: {exc.strerror or exc}"
            return None
        return digests, offsets, lines

    def _scan_and_join(
        self,
        inputs: _Keys | None,
        progress: Progress | None,
        cancel: threading.Event | None,
        on_result: ResultHook | None,
    ) -> None:
        digests, offsets, lines, states = array("Q"), array("q"), array("I"), array("B")
        base = self.input_size if inputs is not None else 0
        total = base + self.results_size
        next_tick = PROGRESS_STEP
        offset = 0
        with open(self.results_path, "rb") as f:
            for line_no, raw in enumerate(f, 1):
                line_offset = offset
                offset += len(raw)
                if offset >= next_tick:
                    next_tick = offset + PROGRESS_STEP
                    _check(cancel)
                    if progress is not None:
                        progress(base + offset, total)
                if raw.isspace():
                    continue
                digest, state = 0, INVALID
                try:
                    obj = json.loads(raw)
                except (ValueError, RecursionError):
                    obj = None
                key, state = classify(obj)
                if key is not None:
                    digest = key_hash(key)
                    if on_result is not None:
                        on_result(obj)
                digests.append(digest)
                offsets.append(line_offset)
                lines.append(line_no)
                states.append(state)
        if progress is not None:
            progress(total, total)
        self._join(inputs, digests, offsets, lines, states)

    def _join(self, inputs: _Keys | None, digests: array, offsets: array, lines: array,
              states: array) -> None:
        n = len(digests)
        if n >= _MASK32:
            raise ValueError("too many result lines")
        table = _DigestTable(digests)
        repeat = bytearray(n)  # 1 for every line whose key an earlier line already had
        for i in range(n):
            if states[i] != INVALID and not table.add(i):
                repeat[i] = 1
        matched = bytearray(n)
        if inputs is not None:
            in_h, in_off, in_line = inputs
            for j, h in enumerate(in_h):
                i = table.get(h)
                if i >= 0:
                    matched[i] = 1
                    self._add_row(in_off[j], in_line[j], offsets[i], lines[i], states[i])
                else:
                    self._add_row(in_off[j], in_line[j], -1, 0, MISSING)
        del table
        for i in range(n):
            if matched[i]:
                continue
            state = states[i]
            if state != INVALID and repeat[i]:
                state = DUPLICATE
            elif state != INVALID and inputs is not None:
                state = UNEXPECTED
            self._add_row(-1, 0, offsets[i], lines[i], state)

    def _add_row(self, in_off: int, in_line: int, res_off: int, res_line: int, status: int) -> None:
        self._in_off.append(in_off)
        self._in_line.append(in_line)
        self._res_off.append(res_off)
        self._res_line.append(res_line)
        self._status.append(status)
        self.counts[status] += 1

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
                    _check(cancel)
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
    def _open(self) -> _Files:
        return _Files(self.input_path if self.keys_compared else None, self.results_path)

    def row(self, row: int) -> JoinedRow:
        """One row in full (opens and closes both files)."""
        with self._open() as (inp, res):
            return self._materialise(row, inp, res)

    def rows(self, rows: Iterable[int]) -> Iterable[JoinedRow]:
        """Rows in full, lazily, with both files open for the whole iteration (for export and resubmit)."""
        with self._open() as (inp, res):
            for row in rows:
                yield self._materialise(row, inp, res)

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
        out = JoinedRow(row, "", STATUS_NAMES[self._status[row]])
        if in_raw is not None:
            out.input_line = self._in_line[row]
            key, request, _canonical, error = _parse_input_line(in_raw, out.input_line)
            out.key = key or ""
            out.request = request
            if error:
                out.problem = f"input line {out.input_line}: {error}"
        if res_raw is not None:
            out.result_line = self._res_line[row]
            try:
                obj = json.loads(res_raw)
                out.result = parse_result_line(obj)
                out.raw = obj
                out.key = out.key or out.result.key
            except (ValueError, RecursionError) as exc:
                out.problem = f"results line {out.result_line}: {_why(exc)}"
        if not out.key:
            out.key = f"(results line {out.result_line})" if out.result_line else "?"
        return out


class _DigestTable:
    """An open-addressing hash table from key digest to the first result line with it, in one flat array.

    A slot holds a line's index + 1 (0 is free) and the digest is read from `digests`, so the table costs
    4 bytes a slot at most 2/3 full: ~6 bytes a result line and no Python object per key (a dict of a million
    keys would cost ~100 MB). Digests are uniform, so their low bits pick the slot.
    """

    def __init__(self, digests: array) -> None:
        size = 1 << max(4, (len(digests) * 3 // 2).bit_length())
        self._mask = size - 1
        self._slots = array("I", [0]) * size
        self._digests = digests

    def add(self, index: int) -> bool:
        """Store line `index` under its digest unless a line with that digest is there already; True if new."""
        digest = self._digests[index]
        pos = digest & self._mask
        while True:
            held = self._slots[pos]
            if held == 0:
                self._slots[pos] = index + 1
                return True
            if self._digests[held - 1] == digest:
                return False
            pos = (pos + 1) & self._mask

    def get(self, digest: int) -> int:
        """The first line index stored with `digest`, or -1."""
        pos = digest & self._mask
        while True:
            held = self._slots[pos]
            if held == 0:
                return -1
            if self._digests[held - 1] == digest:
                return held - 1
            pos = (pos + 1) & self._mask


class _Files:
    """Both files open for one batch of reads; the input side is None when there is no input."""

    def __init__(self, input_path: Path | None, results_path: Path) -> None:
        self._paths = (input_path, results_path)
        self._inp: BinaryIO | None = None
        self._res: BinaryIO | None = None

    def __enter__(self) -> tuple[BinaryIO | None, BinaryIO]:
        input_path, results_path = self._paths
        self._res = open(results_path, "rb")  # noqa: SIM115 - closed in __exit__
        if input_path is not None:
            try:
                self._inp = open(input_path, "rb")  # noqa: SIM115 - closed in __exit__
            except OSError:
                self._inp = None  # the input vanished since the index was built: show results only
        return self._inp, self._res

    def __exit__(self, *exc: object) -> None:
        for f in (self._inp, self._res):
            if f is not None:
                f.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "not valid JSON: nested too deeply"
    return str(exc)


def _cut(text: str, limit: int = DETAIL_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters not shown)"


def pretty_answer(text: str) -> str:
    """A JSON answer (structured output) pretty-printed; any other text as it is. Cut at DETAIL_CHARS."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            return _cut(json.dumps(json.loads(stripped), ensure_ascii=False, indent=2))
        except (ValueError, RecursionError):
            pass
    return _cut(text)


def preview_line(text: str) -> str:
    """The first non-blank line of an answer; a JSON answer as compact JSON. At most PREVIEW_CHARS."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            return json.dumps(json.loads(stripped), ensure_ascii=False, separators=(", ", ": "))[:PREVIEW_CHARS]
        except (ValueError, RecursionError):
            pass
    for line in stripped.splitlines():
        if line.strip():
            return line.strip()[:PREVIEW_CHARS]
    return ""


def request_texts(request: dict[str, Any]) -> list[str]:
    """Every `text` string in a request (contents, system instruction), for search."""
    out: list[str] = []
    stack: list[Any] = [request]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, (dict, list)):
                    stack.append(item)
                elif isinstance(item, str) and key in ("text", "contents", "content"):
                    out.append(item)
        elif isinstance(value, list):
            stack.extend(item for item in value if isinstance(item, (dict, list)))
            out.extend(item for item in value if isinstance(item, str))
    return out


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
