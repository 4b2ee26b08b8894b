"""Provides the readers of an input file that passed validation: its requests (`iter_requests`), keys with their
offsets (`iter_keys`), the canonical copy that is uploaded (`write_normalised`, `canonical_line`) and the kind of
its first request (`first_request_kind`).

Why apart from validate.py: validation reports every problem of a file; these read a file known to be good and
stop at the first bad line (ValueError). They read each line as validation does (input_line.py), so the keys
and requests are the ones the batch gets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gembatch_tui.core.submit import input_line
from gembatch_tui.core.submit.input_line import EMBED, GENERATE, READ_BUFFER, KindChecker, Problem, detect_kind, parse_line
from gembatch_tui.core.submit.plain_line import plain_request


def iter_parsed(
    path: str | os.PathLike[str], kind: str | None = None
) -> Iterator[tuple[int, int, bytes, str, dict[str, Any], bool]]:
    """(line_no, offset, raw, key, request, canonical) per non-blank line; ValueError at the first bad line."""
    checker = KindChecker(kind)
    offset = 0
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            line_offset = offset
            offset += len(raw)
            if raw.isspace():
                continue
            key, request, canonical, error = parse_line(raw, line_no)
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
    for line_no, _offset, _raw, key, request, _canonical in iter_parsed(path):
        yield line_no, key, request


def iter_keys(path: str | os.PathLike[str]) -> Iterator[tuple[int, int, str]]:
    """(line_no, byte offset of the line, key) per request, for callers that re-read lines by offset later.

    The same keys and the same ValueError as `iter_parsed`: the commonest line (plain_line.py) is read by orjson
    and a few type tests, which reach the verdict the full check would (no error, no expansion); any other line
    takes the full check. Reading a results file's input this way takes a third of the time (issue 18)."""
    fast = input_line.fast_loads
    if fast is None:  # pragma: no cover - orjson is a dependency
        for line_no, offset, _raw, key, _request, _canonical in iter_parsed(path):
            yield line_no, offset, key
        return
    checker = KindChecker(None)
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
                except input_line.FastError:
                    plain = None
                if plain is not None:
                    if checker.kind is None:
                        checker.kind, checker.first_line = GENERATE, line_no
                    yield line_no, line_offset, plain[0]
                    continue
            key, request, _canonical, error = parse_line(raw, line_no)
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
        for _line_no, _offset, raw, key, request, canonical in iter_parsed(src, kind):
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
                _key, request, _canonical, error = parse_line(raw, line_no)
                return detect_kind(request) if error is None and request is not None else None
    except OSError:
        return None
    return None


__all__ = ["canonical_line", "first_request_kind", "iter_keys", "iter_parsed", "iter_requests", "write_normalised"]
