"""Provides the dashboard's one-line reasons why a row key does not apply ("running: cancel it first").

Why: the footer shows only the keys the highlighted row can use (check_action hides the others); a user who
presses a hidden one (c on a finished job, d on a running one, v before results) gets a sentence on the event
line instead of nothing. Plain functions over a record, no Textual.
"""

from __future__ import annotations

from gembatch_tui.core.models import (
    LOCAL_QUEUED,
    LOCAL_SUBMITTING,
    SUCCEEDED,
    Record,
    is_final,
    is_realtime,
    record_state,
    short_state,
)

WHAT = {"cancel_job": "cancel", "delete_job": "delete", "view_results": "results", "retry_parts": "retry",
        "submit": "submit", "resources": "remote resources", "poll_now": "poll",
        "archive_job": "archive"}


def state_word(record: Record) -> str:
    state = record_state(record)
    if state == LOCAL_SUBMITTING:
        return "submitting"
    if state == LOCAL_QUEUED:
        return "queued"
    return short_state(state).lower().replace("_", " ")


def has_results(record: Record | None) -> bool:
    """`v` applies: the job succeeded (its results are browsed, or the browser says they are not saved yet)."""
    if record is None:
        return False
    state = record_state(record)
    if state == SUCCEEDED:
        return True
    # a real-time run that was stopped or failed has the answers it got as its results
    return is_realtime(record) and is_final(state) and bool(record.get("results_file"))


def reason_not(action: str, record: Record | None, *, service: bool, read_only: bool = False) -> str:
    """Why `action` does not apply to `record` now, in one line."""
    if action in ("submit", "resources", "poll_now"):
        if not service:
            return "read-only (no API key): set GEMINI_API_KEY and start again" if read_only else "no service here"
        return "that screen is not installed"
    if not service and action in ("cancel_job", "delete_job", "retry_parts"):  # a split group's row too
        return "read-only (no API key): nothing can be sent" if read_only else "no service: nothing can be sent"
    if record is None:
        return "no job selected"
    word = state_word(record)
    if action == "cancel_job":
        if is_final(record_state(record)):
            return f"{word}: already finished, nothing to cancel"
        return f"{word}: not cancellable"
    if action == "delete_job":
        if record_state(record) == LOCAL_SUBMITTING:
            return "submitting: wait until it is sent, then cancel it first (c)"
        if record_state(record) == LOCAL_QUEUED:
            return "queued part: cancel it first (c), or the group would be left short"
        return f"{word}: cancel it first (c)"
    if action == "view_results":
        if is_final(record_state(record)):
            return f"{word}: the job has no results"
        return f"{word}: no results until it succeeds"
    if action == "archive_job":
        if read_only:
            return "read-only (no API key): the store is not changed"
        if record.get("group_id"):
            return "only a split input whose parts have all finished can be archived"
        return f"{word}: only finished jobs can be archived"
    if action == "retry_parts":
        if not record.get("group_id"):
            return "retry (R) is for parts of a split input; resubmit a job's failures from its results (v, R)"
        return f"{word}: only failed, expired or cancelled parts are retried"
    return "does not apply here"


__all__ = ["WHAT", "has_results", "reason_not", "state_word"]
