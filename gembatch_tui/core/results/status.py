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
BLOCKED_FINISH = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"})
"""finishReason values that mean the service withheld the answer (the API's FinishReason enum)."""


def blocked_answer(response: dict[str, Any]) -> str | None:
    """The finish reason of a response whose answer was withheld (its first candidate stopped for SAFETY or the
    like, with nothing but thoughts in it), or None. The Batch API counts such a request as a success, but it came
    back with no answer: like a blocked prompt, it is an error to the user, to be seen and sent again."""
    candidates = response.get("candidates")
    if type(candidates) is not list or not candidates or type(first := candidates[0]) is not dict:
        return None
    reason = first.get("finishReason", first.get("finish_reason"))
    if type(reason) is not str or reason not in BLOCKED_FINISH:  # a list or an object here is data, not a reason
        return None
    content = first.get("content")
    parts = content.get("parts") if type(content) is dict else None
    if type(parts) is list and any(type(p) is not dict or not p.get("thought") for p in parts):
        return None  # part of an answer came before the stop: it is shown, not hidden as an error
    return str(reason)


def classify(obj: Any) -> tuple[str | None, int]:
    """(key, OK or ERROR) of a parsed result line, or (None, INVALID); the same rules as parse_result_line.

    ERROR is an error status, or a response whose prompt or answer was blocked (it carries no answer either). This is
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
    if blocked_answer(response) is not None:
        return key, ERROR
    return key, OK


__all__ = ["BLOCKED_FINISH", "DUPLICATE", "ERROR", "INVALID", "MISSING", "NOT_OK", "OK", "RETRY", "STATUS_NAMES",
           "UNEXPECTED", "blocked_answer", "classify"]
