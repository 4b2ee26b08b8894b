"""Provides how the app words a failure: cause first and whole ("API key rejected: ...", "cannot reach URL
(connection refused)"), then what was being done ("get batches/x"), and whether retrying can help.

Why: the core's messages read "ACTION: CAUSE" (core/errors.py `describe_api_error`); on a one-line status the
cause was cut off. Plain functions, no Textual: the poller's status, the event log and the job detail use them.
"""

from __future__ import annotations

import re

KEY_REJECTED = "API key rejected"
KEY_FIX = "set a valid GEMINI_API_KEY or GOOGLE_API_KEY and start gembatch-tui again (r tries once more)"
_KEY_MARKERS = ("the API key was rejected", "not authenticated (401)", "permission denied (403")
_CAUSE_MARKERS = (
    *_KEY_MARKERS,
    "cannot reach ",
    "the request timed out",
    "the service failed",
    "the service rejected the request",
    "malformed answer",
    "not found (404)",
    "too many batch jobs",
    "the enqueued-token limit",
    "a rate limit or quota",
)
_BATCH = re.compile(r"\bbatches/[A-Za-z0-9_.-]+")


def is_key_rejected(error: str) -> bool:
    """The service refused the key itself (400 API key / 401 / 403): waiting does not help."""
    return any(marker in error for marker in _KEY_MARKERS)


def split_cause(error: str) -> tuple[str, str]:
    """(cause, what was being done) of a core message "ACTION: CAUSE"; ("whole message", "") when unknown."""
    text = " ".join(str(error).split())
    best = -1
    for marker in _CAUSE_MARKERS:
        i = text.find(marker)
        if i >= 0 and (best < 0 or i < best):
            best = i
    if best <= 0:
        return text, ""
    return text[best:], text[:best].rstrip(" :")


def cause_first(error: str) -> str:
    """One whole sentence, cause first: `API key rejected (401 ...) · get batches/x`."""
    cause, action = split_cause(error)
    if is_key_rejected(cause):
        cause = f"{KEY_REJECTED}: {cause}"
    return f"{cause} · {action}" if action else cause


def job_of(error: str) -> str | None:
    """The batch name an error is about (`batches/x`), if it names one."""
    match = _BATCH.search(str(error))
    return match.group(0) if match else None


def all_key_rejected(errors: list[str]) -> bool:
    """Every call of a pass failed on the key: not transient, stop backing off."""
    return bool(errors) and all(is_key_rejected(e) for e in errors)


__all__ = ["KEY_FIX", "KEY_REJECTED", "all_key_rejected", "cause_first", "is_key_rejected", "job_of", "split_cause"]
