"""Provides `loads`: orjson's parser where it accepts a document, the standard library's everywhere else.

Why: checking a results file parses every line; on this machine's 300 MB benchmark file the standard library
parses at ~260 MB/s and orjson at ~550 MB/s (`python tests/bench/bench_download.py` prints both). What a
line means must not depend on which parser read it, so orjson is only the fast path:

- anything orjson refuses (NaN, Infinity, a UTF-8 BOM, lone surrogate escapes, other encodings, nesting deeper
  than 1024) is parsed again by `json.loads`, so a line is accepted exactly when the standard library accepts it
  and a refusal carries the standard library's message and column;
- orjson reads an integer beyond 64 bits as a float, where `json` keeps it exact: callers that use a number
  (token counts) ask `has_float` and parse again with `json` (`stdlib_loads`) when it says so.

Without orjson installed, `loads` is `json.loads`.
"""

from __future__ import annotations

import json
from typing import Any

stdlib_loads = json.loads

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; kept working without it
    orjson = None  # type: ignore[assignment]


if orjson is not None:
    _fast = orjson.loads
    _FastError = orjson.JSONDecodeError

    def loads(raw: bytes | str) -> Any:
        """Parse one JSON document (bytes or str) as `json.loads` would; raises its errors."""
        try:
            return _fast(raw)
        except _FastError:
            return json.loads(raw)

else:  # pragma: no cover
    loads = json.loads


FAST = orjson is not None


def has_float(values: Any) -> bool:
    """Whether a dict's values hold a float (from orjson: possibly an integer too big for 64 bits)."""
    return isinstance(values, dict) and any(type(v) is float for v in values.values())


__all__ = ["FAST", "has_float", "loads", "stdlib_loads"]
