"""Provides the fast reading of the commonest input line, for validation beside an upload (issue 18).

Why: nearly every line of a big input is `{"key": "k", "request": {"contents": [{"parts": [{"text": "..."}]}]}}`,
perhaps with a role and a `generationConfig` of known fields. The full check (validate._check_line: _parse, the
kind check, request_shape, request_fields, the token estimate) spends ~4 us of Python calls on such a line, on the
core the upload and the emulator also need. Here the same verdict is reached in a few type tests, and any line that
is not plainly of that shape returns None and takes the full check, so no verdict, message or figure depends on
which way a line went:

- the line is canonical (exactly the two fields `key`, a non-empty string, and `request`, an object) and orjson
  read it (orjson refuses a BOM, NaN, lone surrogates: those go the full way, which prints `json`'s messages);
- the request holds `contents` that request_shape._plain_contents accepts and at most `generationConfig` /
  `generation_config` objects whose field names request_fields knows: no error, no expansion, no warning;
- no number is read (orjson's reading of a huge integer never matters), and the token estimate is
  pricing.estimate_request_tokens's for such a request: its text characters, CHARS_PER_TOKEN a token, at least 1.

`[[FILE:...]]` references are the caller's to look for (a line holding the marker takes the full way).
"""

from __future__ import annotations

from typing import Any

from gembatch_tui.core.api.pricing import CHARS_PER_TOKEN
from gembatch_tui.core.submit.request_fields import GENERATION_CONFIG
from gembatch_tui.core.submit.request_shape import ROLES

_CONFIGS = ("generationConfig", "generation_config")


def _text_chars(contents: Any) -> int:
    """The characters of text in plain contents (request_shape._plain_contents's shape), or -1 if not plain."""
    if type(contents) is not list or not contents:
        return -1
    chars = 0
    for content in contents:
        if type(content) is not dict:
            return -1
        parts = content.get("parts")
        if type(parts) is not list or not parts:
            return -1
        if len(content) != 1 and (len(content) != 2 or content.get("role") not in ROLES):
            return -1
        for part in parts:
            if type(part) is not dict or len(part) != 1:
                return -1
            text = part.get("text")
            if type(text) is not str:
                return -1
            chars += len(text)
    return chars


def _known_config(request: dict[str, Any]) -> bool:
    """Whether every field of `request` but `contents` is a generation config of known field names."""
    for name, value in request.items():
        if name == "contents":
            continue
        if name not in _CONFIGS or type(value) is not dict:
            return False
        for field in value:
            if field not in GENERATION_CONFIG:
                return False
    return True


def plain_request(obj: Any) -> tuple[str, int] | None:
    """(key, estimated input tokens) of a line read as `obj` when it is plainly canonical and valid (see the
    module doc), else None: the line must take the full check."""
    if type(obj) is not dict or len(obj) != 2:
        return None
    key = obj.get("key")
    request = obj.get("request")
    if type(key) is not str or not key or type(request) is not dict:
        return None
    if len(request) != 1 and not _known_config(request):
        return None
    chars = _text_chars(request.get("contents"))
    if chars < 0:
        return None
    return key, max(1, -(-chars // CHARS_PER_TOKEN))


__all__ = ["plain_request"]
