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

How one line is read (its shape, key and kind) lives in input_line.py; the readers of a file that passed, which
stop at the first bad line instead of reporting every one, in input_read.py.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gembatch_tui.core.fsutil import regular_file
from gembatch_tui.core.submit import input_line, media, request_fields
from gembatch_tui.core.submit.input_line import (
    EMBED,
    GENERATE,
    READ_BUFFER,
    KindChecker,
    Problem,
    parse_line,
    read_key_at,
)
from gembatch_tui.core.submit.plain_line import plain_request
from gembatch_tui.core.submit.keyset import KeySet
from gembatch_tui.core.api.pricing import estimate_request_tokens
from gembatch_tui.core.text import format_bytes

MAX_FILE_BYTES = 2 * 1024**3  # the Files API limit per file
MAX_REPORTED = 200
PREVIEW_LINES = 5
PREVIEW_CHARS = 300
PROGRESS_STEP = 1 << 20
_MAX_KEY_SHOWN = 80


class ValidationCancelled(Exception):
    """Raised out of validate_file when its cancel event is set."""


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


def _preview(raw: bytes) -> str:
    text = raw[: PREVIEW_CHARS * 4].decode("utf-8", "replace").rstrip("\r\n")
    if len(text) > PREVIEW_CHARS or len(raw) > PREVIEW_CHARS * 4:
        return text[:PREVIEW_CHARS] + "…"
    return text


def _quote_key(key: str) -> str:
    return repr(key if len(key) <= _MAX_KEY_SHOWN else key[:_MAX_KEY_SHOWN] + "…")


# --- whole files ------------------------------------------------------------------------------------------------


def _open_problem(path: Path) -> tuple[str | None, int]:
    """(why this path cannot be read as an input file or None, its size)."""
    wrong, detail, size = regular_file(path)
    if wrong is None:
        return None, size
    return {"missing": "file not found", "inaccessible": f"cannot access file: {detail}",
            "directory": "is a directory, not a JSONL file", "special": "is not a regular file"}[wrong], 0


def _utf8_name(path: Path) -> bool:
    """False for a path with bytes that are not UTF-8 (Python holds them as lone surrogates): no record could
    name it, so it is refused here, before anything is uploaded."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    checker = KindChecker(kind)
    report = ValidationReport(abs_path, 0, 0, 0, [], 0, "", False, kind or GENERATE)
    report.allow_media_outside = allow_media_outside

    def whole_file(message: str) -> ValidationReport:
        report.problems.insert(0, Problem(None, message))
        report.problem_count += 1
        return report

    if cancel is not None and cancel.is_set():
        raise ValidationCancelled(str(abs_path))
    if not _utf8_name(abs_path):
        return whole_file("the path is not valid UTF-8, and the job store keeps paths as UTF-8 text: rename it")
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
    checker: KindChecker,
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
    fast = input_line.fast_loads  # None in tests that compare with the standard library alone
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
            except input_line.FastError:
                plain = None
            if plain is not None:  # the commonest line, same verdict in a few type tests (plain_line.py)
                if checker.kind is None:
                    checker.kind, checker.first_line = GENERATE, line_no
                add_key(plain[0], line_no, line_offset)
                tokens += plain[1]
                continue
        key, request, canonical, error, line_warnings, parsed = _check_line(raw, line_no, checker, fast=True)
        if error is not None or line_warnings:  # said from the standard library's reading (see input_line.load_line)
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
    raw: bytes, line_no: int, checker: KindChecker, *, fast: bool
) -> tuple[str | None, dict[str, Any] | None, bool, str | None, list[str], bool]:
    """(key, request, canonical, error, warnings, parsed) of one non-blank line: parsed, shape-checked, fields
    checked; `parsed`: the line was a request object (its shape may still be wrong)."""
    key, request, canonical, error = parse_line(raw, line_no, fast)
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


__all__ = [
    "MAX_FILE_BYTES", "MAX_REPORTED", "ValidationCancelled", "ValidationReport", "validate_file",
]
