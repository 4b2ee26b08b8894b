"""Provides `read`: the usual results line (a key, and an error or a response with plain token counts) decoded
against its shape with msgspec, so the answer's text is checked but never built as Python objects.

Why: orjson builds every string of every line, and the answer's text is most of a results file, only for the
check to drop it. Given the shape of the few fields the check reads, msgspec validates the rest of the line and
skips it. On the download bench's 302 MB file (lines in memory, three passes each, in turns): 0.22-0.26 s of CPU
against orjson's 0.34 s; the whole check pass (`stream.LinePass`) went from 0.87-0.89 to 0.63-0.64 s.
`python tests/bench/bench_download.py` prints both parsers' rates.

A line `read` accepts is one the standard library accepts, with the same values (`tests/perf_logic/
test_results_stream.py` compares them): msgspec refuses NaN, a BOM, lone surrogate escapes, nesting past its limit
and anything malformed, and the shape refuses every other kind of line (a key that is not a string, snake_case
counts, a negative or non-integer count, a response that is not an object). It does not check UTF-8 inside the
strings it skips, so a line that is not ASCII is also decoded the way `json.loads` decodes bytes (UTF-8,
surrogates passed), nor the length of the integers it skips, so a long line with a run of digits past Python's
int limit (4300) is left to the general way too. Every line `read` gives None for is read the general way
(`results.check_line`), as before.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import msgspec

Count = Annotated[int, msgspec.Meta(ge=0)]


class Meta(msgspec.Struct):
    """usageMetadata with camelCase non-negative integer counts; a snake_case count makes it another shape."""

    promptTokenCount: Count = 0
    candidatesTokenCount: Count = 0
    thoughtsTokenCount: Count = 0
    cachedContentTokenCount: Count = 0
    totalTokenCount: Count = 0
    prompt_token_count: msgspec.UnsetType = msgspec.UNSET
    candidates_token_count: msgspec.UnsetType = msgspec.UNSET
    thoughts_token_count: msgspec.UnsetType = msgspec.UNSET
    cached_content_token_count: msgspec.UnsetType = msgspec.UNSET
    total_token_count: msgspec.UnsetType = msgspec.UNSET


class Response(msgspec.Struct):
    usageMetadata: Meta | None = None
    modelVersion: Any = msgspec.UNSET
    model_version: Any = msgspec.UNSET

    def model(self) -> str | None:
        """The model version as `ledger.Usage` reads it: modelVersion where present, else model_version."""
        version = self.modelVersion if self.modelVersion is not msgspec.UNSET else self.model_version
        return version if isinstance(version, str) else None


class Line(msgspec.Struct):
    key: Any = None
    error: Any = None
    response: Response | None = None


_decode = msgspec.json.Decoder(Line).decode
_MAX_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 0)()
"""json.loads refuses an integer longer than this (0: no limit); msgspec takes it, in a field it skips too."""
_LONG_NUMBER = re.compile(rb"\d{%d}" % (_MAX_DIGITS + 1)) if _MAX_DIGITS else None


def read(raw: bytes) -> Line | None:
    """The line's key, error and response, or None: not this shape, or not a line `json.loads` reads alike."""
    try:
        line = _decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None
    if _LONG_NUMBER is not None and len(raw) > _MAX_DIGITS and _LONG_NUMBER.search(raw):
        return None  # a number json.loads refuses (or digits in a text: the general way reads those alike)
    if not raw.isascii():
        try:
            raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return None
    return line


__all__ = ["Line", "Meta", "Response", "read"]
