"""Provides how one line of a Batch API input file is read: the shapes accepted, the key each gets, the kind of
request (generate or embed) and the check that a file does not mix them.

Why a module of its own: validation (validate.py) and everything that reads a validated file again (input_read.py:
the upload's canonical copy, the split, the cost estimate, the real-time run, the results check's input keys) must
read every line alike, or a key would differ between the batch and its results.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Dict, Optional

from gembatch_tui.core.jsonpos import json_error_text
from gembatch_tui.core.submit import request_shape

try:
    import orjson

    fast_loads: Callable[[bytes], Any] | None = orjson.loads  # tests set it to None: the standard library alone
    FastError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - orjson is a dependency; reading stays exact without it
    fast_loads, FastError = None, ValueError

READ_BUFFER = 1 << 20  # a 4 KiB buffer is a read system call per 4 lines of 1 KB
GENERATE = "generate"
EMBED = "embed"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file; line is 1-based, or None for the whole file."""

    line: int | None
    message: str

    def format(self, path: str | os.PathLike[str]) -> str:
        where = os.fspath(path)
        return f"{where}: {self.message}" if self.line is None else f"{where}:{self.line}: {self.message}"


def detect_kind(request: dict[str, Any]) -> str:
    """`embed` for an EmbedContentRequest (`content`, no `contents`), otherwise `generate`."""
    return EMBED if "content" in request and "contents" not in request else GENERATE


Parsed = tuple[Optional[str], Optional[Dict[str, Any]], bool, Optional[str]]  # key, request, canonical, error


def type_name(value: Any) -> str:
    return request_shape.type_name(value, json_words=True)


def load_line(raw: bytes, line_no: int, fast: bool = False) -> tuple[Any, bool, str | None]:
    """(the line's JSON value, whether its bytes may stay as they are, error) as the standard library reads it.

    With `fast`, orjson reads it first (`bench_submit.py` prints both rates). orjson refuses everything the standard
    library would read differently (a BOM, NaN, lone surrogates, deep nesting: those go to `json`, whose messages
    we print) except integers beyond 64 bits, which it reads as floats; so callers trust a fast reading only for a
    line with no problem and no warning, and read any other line again without `fast` (validate.py)."""
    if fast and fast_loads is not None:
        try:
            return fast_loads(raw), True, None
        except FastError:
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


def parse_line(raw: bytes, line_no: int, fast: bool = False) -> Parsed:
    """Parse one non-blank line into (key, request, canonical, error); request contents are checked elsewhere."""
    obj, canonical, problem = load_line(raw, line_no, fast)
    if problem is not None:
        return None, None, False, problem
    if not isinstance(obj, dict):
        return None, None, False, f"expected a JSON object, got {type_name(obj)}"
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
            return key, None, False, f"'request' must be an object, not {type_name(request)}"
        return key, request, canonical, None
    if "custom_id" in obj or "body" in obj:
        key = obj.get("custom_id")
        if not isinstance(key, str) or not key:
            return None, None, False, "'custom_id' must be a non-empty string"
        body = obj.get("body")
        if not isinstance(body, dict):
            return key, None, False, f"'body' must be an object, not {type_name(body)}"
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


def describe_kind(kind: str) -> str:
    return "an embedding request ('content')" if kind == EMBED else "a generate request ('contents')"


class KindChecker:
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
                return f"{describe_kind(this)} in a batch of {self.kind} requests", None, []
            why = f"{describe_kind(this)}, but line {self.first_line} is {describe_kind(self.kind)}; a file cannot mix both"
            return why, None, []
        return request_shape.check(request, this)


def read_key_at(f: BinaryIO, offset: int, line_no: int) -> str | None:
    """The key of the line starting at byte `offset` (same assignment rules as everywhere here), or None."""
    f.seek(offset)
    key, _request, _canonical, _error = parse_line(f.readline(), line_no)
    return key


__all__ = [
    "EMBED", "GENERATE", "READ_BUFFER", "FastError", "KindChecker", "Parsed", "Problem", "detect_kind",
    "fast_loads", "load_line", "parse_line", "read_key_at",
]
