"""Provides the row statuses of a results join and `classify`, which gives a result line its status.

Why it is its own module: the index pass, the table, export and resubmit all speak in these six statuses,
and none of them needs the index itself to do so.
"""

from __future__ import annotations

from typing import Any

OK, ERROR, MISSING, UNEXPECTED, DUPLICATE, INVALID = range(6)
STATUS_NAMES = ("ok", "error", "missing", "unexpected", "duplicate", "invalid")
NOT_OK = frozenset({ERROR, MISSING, UNEXPECTED, DUPLICATE, INVALID})
"""What the "errors only" filter shows: every row that is not a plain good answer."""
RETRY = frozenset({ERROR, MISSING})
"""What a resubmit sends again: input requests whose result is an error or never came back."""


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


__all__ = ["DUPLICATE", "ERROR", "INVALID", "MISSING", "NOT_OK", "OK", "RETRY", "STATUS_NAMES", "UNEXPECTED",
           "classify"]
