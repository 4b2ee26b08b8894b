"""Provides the short state names scripts filter jobs by (`list --state failed,cancelled`, `active`).

One vocabulary for the store's records and the server's jobs, so `list --state` and `list --remote --state`
mean the same thing; an unknown name is refused with the accepted ones rather than silently matching nothing.
"""

from __future__ import annotations

from gembatch_tui.core.models import (
    CANCELLED,
    EXPIRED,
    FAILED,
    LOCAL_MISSING,
    LOCAL_QUEUED,
    LOCAL_SUBMIT_FAILED,
    LOCAL_SUBMITTING,
    PENDING,
    RUNNING,
    SUCCEEDED,
    Record,
    normalise_state,
    record_state,
)

NAMES: dict[str, frozenset[str]] = {
    "pending": frozenset({PENDING}),
    "running": frozenset({RUNNING}),
    "succeeded": frozenset({SUCCEEDED}),
    "failed": frozenset({FAILED}),
    "cancelled": frozenset({CANCELLED}),
    "expired": frozenset({EXPIRED}),
    "active": frozenset({PENDING, RUNNING}),
    "final": frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED, LOCAL_MISSING}),  # as the dashboard's state:final
    # this store's own states, which no server job has: a part waiting to be submitted, a submission under way or
    # refused before a job was made (list shows SUBMIT_FAILED), a job the service no longer knows
    "queued": frozenset({LOCAL_QUEUED}),
    "submitting": frozenset({LOCAL_SUBMITTING}),
    "submit_failed": frozenset({LOCAL_SUBMIT_FAILED}),
    "missing": frozenset({LOCAL_MISSING}),
}
_ALIASES = {"canceled": "cancelled", "success": "succeeded", "done": "succeeded"}


class UnknownState(ValueError):
    """A state name nobody accepts; the message names the accepted ones."""


def parse_states(text: str) -> frozenset[str]:
    """`"Failed, cancelled"` -> the JOB_STATE_* names they stand for (case-insensitive, comma-separated)."""
    wanted: set[str] = set()
    for raw in text.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        name = _ALIASES.get(name, name)
        if name not in NAMES:
            raise UnknownState(f"unknown state {raw.strip()!r}; accepted: {', '.join(NAMES)}")
        wanted |= NAMES[name]
    if not wanted:
        raise UnknownState(f"no state given; accepted: {', '.join(NAMES)}")
    return frozenset(wanted)


def record_matches(record: Record, states: frozenset[str] | None) -> bool:
    """A store record in one of `states` (None: every record)."""
    return states is None or record_state(record) in states


def state_matches(state: str | None, states: frozenset[str] | None) -> bool:
    """A server job's state (`BATCH_STATE_*` or `JOB_STATE_*`) in one of `states`."""
    return states is None or normalise_state(state) in states
