"""Provides streaming validation and normalisation of Batch API input files (JSON Lines).

Users bring files in several shapes, and the service only reports a bad line hours later as a failed job, so
every file is checked locally first, line by line in binary, in bounded memory (a 1 GB file is fine). Accepted
line shapes, and the key each one gets:

- `{"key": "k", "request": {...}}`: canonical; key `k`. Other top-level fields are kept as they are.
- `{"request": {...}}`: key `request-<line number>` (1-based physical line, blank lines counted).
- a bare request `{"contents": [...], ...}` (or `{"content": ...}` for embeddings): key `request-<line number>`,
  or its own `"key"` field, which is then taken out of the request.
- OpenAI style `{"custom_id": "k", "body": {...}}`: key `k`, request = `body` as it is (`method`/`url` dropped).

An assigned key that equals an explicit key elsewhere is a duplicate like any other. Any line that is not
canonical makes `needs_normalising` true; `write_normalised` then writes a canonical copy, which is what gets
uploaded, and the original is never touched.

Each request's shape is checked as the service's parser would (request_shape.py: `contents` a non-empty list of
contents with non-empty `parts` lists of parts, `role` "user"/"model", object and list fields of the right type);
the SDK's string shorthand (`"contents": "hi"`) is expanded in the uploaded copy, which makes it non-canonical.

`[[FILE:path]]` media references (see media.py) are checked here too: each referenced file must exist and be
readable (`line N: referenced file 'x' not found`) and lie inside the input file's directory unless
`allow_media_outside`; relative paths resolve against the input file's directory, and a file with references
always needs normalising (its uploaded copy carries fileData parts instead).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Dict, Optional

from gembatch_tui.core.fsutil import regular_file
from gembatch_tui.core.jsonpos import json_error_text
from gembatch_tui.core.submit import media, request_fields, request_shape
from gembatch_tui.core.submit.plain_line import plain_request
from gembatch_tui.core.submit.keyset import KeySet
from gembatch_tui.core.api.pricing import estimate_request_tokens
from gembatch_tui.core.text import format_bytes

try:
    import orjson

    _fast_loads: Callable[[bytes], Any] | None = orjson.loads
    _FastError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - orjson is a dependency; validation stays exact without it
    _fast_loads, _FastError = None, ValueError

MAX_FILE_BYTES = 2 * 1024**3  # the Files API limit per file
MAX_REPORTED = 200
PREVIEW_LINES = 5
PREVIEW_CHARS = 300
PROGRESS_STEP = 1 << 20
READ_BUFFER = 1 << 20  # a 4 KiB buffer is a read system call per 4 lines of 1 KB
GENERATE = "generate"
EMBED = "embed"
_MAX_KEY_SHOWN = 80


class ValidationCancelled(Exception):
    """Raised out of validate_file when its cancel event is set."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file; line is 1-based, or None for the whole file."""

    line: int | None
    message: str

    def format(self, path: str | os.PathLike[str]) -> str:
        where = os.fspath(path)
        return f"{where}: {self.message}" if self.line is None else f"{where}:{self.line}: {self.message}"


@dataclass
class ValidationReport:
    """Everything the submit screen and CLI need to know about one input file, from a single pass."""

    path: Path
    size_bytes: int
    request_count: int  # non-blank lines, i.e. the requests the batch would hold
    est_input_tokens: int
    problems: list[Problem]  # the first MAX_REPORTED, in line order (whole-file problems first)
    problem_count: int
    sha256: str  # "" when the file was not read to the end (too big, binary, unreadable)
    needs_normalising: bool
    kind: str
    first_lines: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # do not block a submission (request_fields.py)
    media_refs: int = 0  # [[FILE:...]] references, counting repeats
    media_files: int = 0  # distinct readable files referenced
    media_bytes: int = 0  # their total size
    allow_media_outside: bool = False  # whether references outside the input's directory were allowed

    @property
    def ok(self) -> bool:
        return self.problem_count == 0 and self.request_count > 0

    def messages(self) -> list[str]:
        out = [p.format(self.path) for p in self.problems]
        more = self.problem_count - len(self.problems)
        if more > 0:
            out.append(f"... and {more} more problem{'s' if more != 1 else ''}")
        return out


def detect_kind(request: dict[str, Any]) -> str:
    """`embed` for an EmbedContentRequest (`content`, no `contents`), otherwise `generate`."""
    return EMBED if "content" in request and "contents" not in request else GENERATE


# --- one line ---------------------------------------------------------------------------------------------------

_Parsed = tuple[Optional[str], Optional[Dict[str, Any]], bool, Optional[str]]  # key, request, canonical, error


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _load_line(raw: bytes, line_no: int, fast: bool = False) -> tuple[Any, bool, str | None]:
    """(the line's JSON value, whether its bytes may stay as they are, error) as the standard library reads it.

    With `fast`, orjson reads it first (`bench_submit.py` prints both rates). orjson refuses everything the standard
    library would read differently (a BOM, NaN, lone surrogates, deep nesting: those go to `json`, whose messages
    we print) except integers beyond 64 bits, which it reads as floats; so callers trust a fast reading only for a
    line with no problem and no warning, and read any other line again without `fast` (`_scan`)."""
    if fast and _fast_loads is not None:
        try:
            return _fast_loads(raw), True, None
        except _FastError:
            pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, False, json_error_text(raw, exc)
    canonical = True
    if line_no == 1 and text.startswith("\ufeff"):
        text = text[1:]
        canonical = False
    try:
        return json.loads(text), canonical, None
    except json.JSONDecodeError as exc:
        return None, False, json_error_text(raw, exc)
    except RecursionError:
        return None, False, "not valid JSON: nested too deeply"
    except ValueError as exc:  # e.g. an integer literal over the 4300-digit conversion limit
        return None, False, f"not valid JSON: {exc}"


def _parse(raw: bytes, line_no: int, fast: bool = False) -> _Parsed:
    """Parse one non-blank line into (key, request, canonical, error); request contents are checked elsewhere."""
    obj, canonical, problem = _load_line(raw, line_no, fast)
    if problem is not None:
        return None, None, False, problem
    if not isinstance(obj, dict):
        return None, None, False, f"expected a JSON object, got {_type_name(obj)}"
    assigned = f"request-{line_no}"
    if "request" in obj:
        request = obj["request"]
        if "key" in obj:
            key = obj["key"]
            if not isinstance(key, str) or not key:
                return None, None, False, "'key' must be a non-empty string"
        else:
            key, canonical = assigned, False
        if not isinstance(request, dict):
            return key, None, False, f"'request' must be an object, not {_type_name(request)}"
        return key, request, canonical, None
    if "custom_id" in obj or "body" in obj:
        key = obj.get("custom_id")
        if not isinstance(key, str) or not key:
            return None, None, False, "'custom_id' must be a non-empty string"
        body = obj.get("body")
        if not isinstance(body, dict):
            return key, None, False, f"'body' must be an object, not {_type_name(body)}"
        return key, body, False, None
    if "contents" in obj or "content" in obj:
        key = obj.pop("key", assigned)
        if not isinstance(key, str) or not key:
            return None, None, False, "'key' must be a non-empty string"
        return key, obj, False, None
    key = obj.get("key")
    return (key if isinstance(key, str) and key else None), None, False, (
        "no 'request' object (expected {\"key\": ..., \"request\": {\"contents\": [...]}})"
    )


def _describe(kind: str) -> str:
    return "an embedding request ('content')" if kind == EMBED else "a generate request ('contents')"


class _KindChecker:
    """Checks each request's payload and that a file does not mix generate and embed requests."""

    def __init__(self, kind: str | None) -> None:
        if kind not in (None, GENERATE, EMBED):
            raise ValueError(f"kind must be {GENERATE!r} or {EMBED!r}, not {kind!r}")
        self.kind = kind
        self.first_line: int | None = None

    def check(self, request: dict[str, Any], line_no: int) -> tuple[str | None, dict[str, Any] | None, list[str]]:
        """(error or None, the request with string shorthands expanded or None, shape warnings): see
        request_shape.py for what the service accepts."""
        if "contents" not in request and "content" not in request:
            return f"request has no {'content' if self.kind == EMBED else 'contents'!r}", None, []
        this = detect_kind(request)
        if self.kind is None:
            self.kind, self.first_line = this, line_no
        elif this != self.kind:
            if self.first_line is None:
                return f"{_describe(this)} in a batch of {self.kind} requests", None, []
            why = f"{_describe(this)}, but line {self.first_line} is {_describe(self.kind)}; a file cannot mix both"
            return why, None, []
        return request_shape.check(request, this)


def _preview(raw: bytes) -> str:
    text = raw[: PREVIEW_CHARS * 4].decode("utf-8", "replace").rstrip("\r\n")
    if len(text) > PREVIEW_CHARS or len(raw) > PREVIEW_CHARS * 4:
        return text[:PREVIEW_CHARS] + "…"
    return text


def _quote_key(key: str) -> str:
    return repr(key if len(key) <= _MAX_KEY_SHOWN else key[:_MAX_KEY_SHOWN] + "…")


def read_key_at(f: BinaryIO, offset: int, line_no: int) -> str | None:
    """The key of the line starting at byte `offset` (same assignment rules as everywhere here), or None."""
    f.seek(offset)
    key, _request, _canonical, _error = _parse(f.readline(), line_no)
    return key


# --- whole files ------------------------------------------------------------------------------------------------


def _open_problem(path: Path) -> tuple[str | None, int]:
    """(why this path cannot be read as an input file or None, its size)."""
    wrong, detail, size = regular_file(path)
    if wrong is None:
        return None, size
    return {"missing": "file not found", "inaccessible": f"cannot access file: {detail}",
            "directory": "is a directory, not a JSONL file", "special": "is not a regular file"}[wrong], 0


def validate_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = MAX_FILE_BYTES,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    kind: str | None = None,
    allow_media_outside: bool = False,
    watch: Callable[[str], None] | None = None,
) -> ValidationReport:
    """Check every line of an input file in one streaming pass; problems are reported, never raised.

    Only ValidationCancelled escapes (when `cancel` is set). `progress(done, total)` is called about every MiB.
    `max_bytes=None` accepts any size (for inputs that will be split into several jobs).
    `allow_media_outside`: `[[FILE:...]]` may name files outside the input file's directory (symlinks
    resolved); without it each such reference is a problem (`submit --allow-media-outside` sets it).
    `watch("problem")` is called at the first problem a line has, `watch("normalising")` at the first line that
    makes the file need a normalised copy: a submission that uploads while validating stops its upload then.
    """
    abs_path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    checker = _KindChecker(kind)
    report = ValidationReport(abs_path, 0, 0, 0, [], 0, "", False, kind or GENERATE)
    report.allow_media_outside = allow_media_outside

    def whole_file(message: str) -> ValidationReport:
        report.problems.insert(0, Problem(None, message))
        report.problem_count += 1
        return report

    if cancel is not None and cancel.is_set():
        raise ValidationCancelled(str(abs_path))
    why, size = _open_problem(abs_path)
    if why:
        return whole_file(why)
    report.size_bytes = size
    if max_bytes is not None and size > max_bytes:
        return whole_file(
            f"file is {format_bytes(size)}, over the {format_bytes(max_bytes)} limit for a batch input file"
        )
    try:
        f = open(abs_path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - closed below
    except OSError as exc:
        return whole_file(f"cannot read file: {exc.strerror or exc}")
    with f, KeySet() as keys:
        try:
            head = f.read(8192)
            nul = head.find(b"\0")
            if nul >= 0:
                return whole_file(f"not a text file (NUL byte at byte offset {nul}); expected JSON Lines")
            f.seek(0)
            _scan(f, report, checker, size, progress, cancel, keys, watch)
        except OSError as exc:
            report.sha256 = ""
            return whole_file(f"cannot read file: {exc.strerror or exc}")
    report.kind = checker.kind or kind or GENERATE
    if report.request_count == 0 and report.problem_count == 0:
        whole_file("file has no requests")
    return report


def _scan(
    f: BinaryIO,
    report: ValidationReport,
    checker: _KindChecker,
    size: int,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
    keys: KeySet,
    watch: Callable[[str], None] | None = None,
) -> None:
    """The single pass: hash, preview, parse, check and collect keys; then report duplicates."""
    sha = hashlib.sha256()
    found: list[Problem] = []
    count = 0
    offset = 0
    next_tick = PROGRESS_STEP
    requests = tokens = 0
    needs_normalising = False
    line_no = 0
    refs = media.RefChecker(report.path.parent, allow_outside=report.allow_media_outside)
    warned: dict[str, list[int]] = {}  # warning -> [first line, lines with it]
    fast = _fast_loads
    hash_line, add_key, marker = sha.update, keys.add, media.MARKER_BYTES
    if progress is not None:
        progress(0, size)
    for raw in f:
        line_no += 1
        hash_line(raw)
        if line_no <= PREVIEW_LINES:  # every line has one, blank ones included
            report.first_lines.append(_preview(raw))
        line_offset = offset
        offset += len(raw)
        if offset >= next_tick:
            next_tick = offset + PROGRESS_STEP
            if cancel is not None and cancel.is_set():
                raise ValidationCancelled(str(report.path))
            if progress is not None:
                progress(offset, max(size, offset))
        if raw.isspace():
            if not needs_normalising and watch is not None:
                watch("normalising")
            needs_normalising = True
            continue
        requests += 1
        if fast is not None and marker not in raw and checker.kind != EMBED:
            try:
                plain = plain_request(fast(raw))
            except _FastError:
                plain = None
            if plain is not None:  # the commonest line, same verdict in a few type tests (plain_line.py)
                if checker.kind is None:
                    checker.kind, checker.first_line = GENERATE, line_no
                add_key(plain[0], line_no, line_offset)
                tokens += plain[1]
                continue
        key, request, canonical, error, line_warnings, parsed = _check_line(raw, line_no, checker, fast=True)
        if error is not None or line_warnings:  # said from the standard library's reading (see _load_line)
            key, request, canonical, error, line_warnings, parsed = _check_line(raw, line_no, checker, fast=False)
        if key is not None:
            add_key(key, line_no, line_offset)
        ref_errors: list[str] = []
        for warning in line_warnings:
            seen = warned.setdefault(warning, [line_no, 0])
            seen[1] += 1
        if parsed and request is not None:  # media and tokens are counted even when the shape check failed
            if media.MARKER_BYTES in raw and media.find_refs(request):
                canonical = False
                ref_errors = refs.check(request)
                request = media.substitute(request, media.placeholder)  # estimate the media, not the marker
            tokens += estimate_request_tokens(request)
        if not canonical:
            if not needs_normalising and watch is not None:
                watch("normalising")
            needs_normalising = True
        for message in ([error] if error is not None else []) + ref_errors:
            if count == 0 and watch is not None:
                watch("problem")
            count += 1
            if len(found) < MAX_REPORTED:
                found.append(Problem(line_no, message))
    if progress is not None:
        progress(offset, max(size, offset))
    dups, dup_count = _duplicate_problems(f, keys)
    report.sha256 = sha.hexdigest()
    report.request_count = requests
    report.est_input_tokens = tokens
    report.needs_normalising = needs_normalising
    report.media_refs, report.media_files, report.media_bytes = refs.refs, refs.files, refs.bytes
    report.warnings = [  # one per distinct warning, at its first line: a typo repeated on 100,000 lines is one
        Problem(first, message + (f"; also on {n - 1:,} more line{'s' if n > 2 else ''}" if n > 1 else ""))
        for message, (first, n) in sorted(warned.items(), key=lambda item: item[1][0])[:MAX_REPORTED]
    ]
    merged = sorted(found + dups, key=lambda p: p.line or 0)  # stable: a line's own problem before its duplicate
    report.problems = merged[:MAX_REPORTED]
    report.problem_count = count + dup_count


def _check_line(
    raw: bytes, line_no: int, checker: _KindChecker, *, fast: bool
) -> tuple[str | None, dict[str, Any] | None, bool, str | None, list[str], bool]:
    """(key, request, canonical, error, warnings, parsed) of one non-blank line: parsed, shape-checked, fields
    checked; `parsed`: the line was a request object (its shape may still be wrong)."""
    key, request, canonical, error = _parse(raw, line_no, fast)
    warnings: list[str] = []
    parsed = error is None and request is not None
    if error is None and request is not None:
        error, expanded, shape_warnings = checker.check(request, line_no)
        if expanded is not None:  # string shorthand: the uploaded copy carries the object form
            request, canonical = expanded, False
        if error is None:
            warnings = request_fields.check(request, embed=checker.kind == EMBED) + shape_warnings
    return key, request, canonical, error, warnings, parsed


def _duplicate_problems(f: BinaryIO, keys: KeySet) -> tuple[list[Problem], int]:
    pairs, total = keys.duplicates(MAX_REPORTED)
    problems = []
    for repeat, first in pairs:
        key = read_key_at(f, repeat.offset, repeat.line)
        if key is None or key != read_key_at(f, first.offset, first.line):
            total -= 1  # a 64-bit digest collision between different keys, not a duplicate
            continue
        problems.append(Problem(repeat.line, f"duplicate key {_quote_key(key)} (first seen on line {first.line})"))
    return problems, total


def _iter_parsed(
    path: str | os.PathLike[str], kind: str | None = None
) -> Iterator[tuple[int, int, bytes, str, dict[str, Any], bool]]:
    """(line_no, offset, raw, key, request, canonical) per non-blank line; ValueError at the first bad line."""
    checker = _KindChecker(kind)
    offset = 0
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            line_offset = offset
            offset += len(raw)
            if raw.isspace():
                continue
            key, request, canonical, error = _parse(raw, line_no)
            if error is None and request is not None:
                error, expanded, _warnings = checker.check(request, line_no)
                if expanded is not None:
                    request, canonical = expanded, False
            if error is not None or key is None or request is None:
                raise ValueError(Problem(line_no, error or "invalid line").format(path))
            yield line_no, line_offset, raw, key, request, canonical


def iter_requests(path: str | os.PathLike[str]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line_no, key, request) in canonical form, keys assigned as by write_normalised; skips blank lines.

    Raises ValueError ("PATH:LINE: message") at the first invalid line, OSError if the file cannot be read.
    """
    for line_no, _offset, _raw, key, request, _canonical in _iter_parsed(path):
        yield line_no, key, request


def iter_keys(path: str | os.PathLike[str]) -> Iterator[tuple[int, int, str]]:
    """(line_no, byte offset of the line, key) per request, for callers that re-read lines by offset later.

    The same keys and the same ValueError as `_iter_parsed`: the commonest line (plain_line.py) is read by orjson
    and a few type tests, which reach the verdict the full check would (no error, no expansion); any other line
    takes the full check. Reading a results file's input this way takes a third of the time (issue 18)."""
    fast = _fast_loads
    if fast is None:  # pragma: no cover - orjson is a dependency
        for line_no, offset, _raw, key, _request, _canonical in _iter_parsed(path):
            yield line_no, offset, key
        return
    checker = _KindChecker(None)
    offset = 0
    with open(path, "rb", buffering=READ_BUFFER) as f:
        for line_no, raw in enumerate(f, 1):
            line_offset = offset
            offset += len(raw)
            if raw.isspace():
                continue
            if checker.kind != EMBED:
                try:
                    plain = plain_request(fast(raw))
                except _FastError:
                    plain = None
                if plain is not None:
                    if checker.kind is None:
                        checker.kind, checker.first_line = GENERATE, line_no
                    yield line_no, line_offset, plain[0]
                    continue
            key, request, _canonical, error = _parse(raw, line_no)
            if error is None and request is not None:
                error, _expanded, _warnings = checker.check(request, line_no)
            if error is not None or key is None or request is None:
                raise ValueError(Problem(line_no, error or "invalid line").format(path))
            yield line_no, line_offset, key


def write_normalised(path: str | os.PathLike[str], dest: str | os.PathLike[str], *, kind: str | None = None) -> int:
    """Stream canonical `{"key": ..., "request": {...}}` lines to dest; returns the request count.

    Canonical lines are copied byte for byte (line ending normalised to LF); others are re-serialised, key
    first. Blank lines are dropped. Raises ValueError on an invalid line (validate first) or if dest is path.
    """
    src, dst = Path(path), Path(dest)
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise ValueError(f"{dst}: refusing to overwrite the original input file")
    count = 0
    with open(dst, "wb") as out:
        for _line_no, _offset, raw, key, request, canonical in _iter_parsed(src, kind):
            count += 1
            out.write(canonical_line(raw, key, request, canonical))
    return count


def canonical_line(raw: bytes, key: str, request: dict[str, Any], canonical: bool) -> bytes:
    """The line as the uploaded copy holds it: canonical lines byte for byte (LF-terminated), others re-serialised."""
    if canonical:
        if raw.endswith(b"\n") and not raw.endswith(b"\r\n"):
            return raw
        return raw.rstrip(b"\r\n") + b"\n"
    obj = {"key": key, "request": request}
    try:
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escaped in the input: keep it escaped
        data = json.dumps(obj, separators=(",", ":")).encode("ascii")
    return data + b"\n"


def first_request_kind(path: str | os.PathLike[str], limit: int = 1 << 20) -> str | None:
    """The kind (`generate`/`embed`) of the first non-blank line within `limit` bytes, or None when that line is
    not a request: enough to pick a model before the rest is validated (a file cannot mix both kinds)."""
    try:
        with open(path, "rb") as f:
            for line_no, raw in enumerate(f, 1):
                if f.tell() > limit and line_no > 1:
                    return None
                if raw.isspace():
                    continue
                _key, request, _canonical, error = _parse(raw, line_no)
                return detect_kind(request) if error is None and request is not None else None
    except OSError:
        return None
    return None
