"""Provides where a bad JSON line goes wrong, as a 1-based character column of the line, in one wording.

Why: the messages said `at column N` from the standard library (characters, counted after a UTF-8 BOM it drops),
`at byte offset N` for bad UTF-8 (0-based, bytes), and a caller handed an orjson error would have had orjson's
own numbers. An editor shows characters from 1, with a BOM invisible: that is the column given here, for every
kind of failure (`json`'s and orjson's JSONDecodeError, UnicodeDecodeError), whichever parser failed.
"""

from __future__ import annotations

import json

BOM = "\ufeff"


def _chars_before(raw: bytes | str, end: int) -> int:
    """Characters of `raw` before byte (or character) index `end`, not counting a leading BOM."""
    head = raw[:end].decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw[:end]
    return len(head) - (1 if head.startswith(BOM) else 0)


def error_column(raw: bytes | str, exc: BaseException) -> int | None:
    """The 1-based character column of the line `raw` at which `exc` (raised parsing `raw`) points, or None."""
    if isinstance(exc, UnicodeDecodeError):
        return _chars_before(raw, exc.start) + 1
    if isinstance(exc, json.JSONDecodeError):  # orjson's error is one too
        doc = exc.doc if isinstance(exc.doc, str) else None
        pos = exc.pos
        if doc is None or pos is None:
            return getattr(exc, "colno", None)
        end = len(doc.rstrip("\r\n"))  # a line cut short fails past its own newline: point at its end
        pos = min(pos, end)
        start = doc.rfind("\n", 0, pos) + 1  # one document per line, but be exact if it spans several
        return _chars_before(doc[start:], pos - start) + 1
    return None


def json_error_text(raw: bytes | str, exc: BaseException) -> str:
    """`not valid JSON: Expecting value at column 12`, `not valid UTF-8 at column 25 (byte 0xff)`,
    `not valid JSON: nested too deeply`, or the error's own words."""
    column = error_column(raw, exc)
    if isinstance(exc, UnicodeDecodeError):
        bad = exc.object[exc.start : exc.start + 1] if isinstance(exc.object, (bytes, bytearray)) else b""
        byte = f" (byte 0x{bad[0]:02x})" if bad else ""
        return f"not valid UTF-8 at column {column}{byte}"
    if isinstance(exc, json.JSONDecodeError):
        msg = exc.msg.removesuffix(" at")  # "Invalid control character at": the column is said below
        return f"not valid JSON: {msg} at column {column}" if column is not None else f"not valid JSON: {msg}"
    if isinstance(exc, RecursionError):
        return "not valid JSON: nested too deeply"
    return f"not valid JSON: {exc}"


__all__ = ["error_column", "json_error_text"]
