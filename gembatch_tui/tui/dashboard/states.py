"""Provides how each job state looks (symbol, label, colour), their order, and which actions a state allows.

Why it is its own module: the dashboard rows, the status line counts, the detail screen and the help legend
all draw states the same way, and the Cancel/Delete checks follow from the state alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.text import Text

from gembatch_tui.core.counts import counted
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
    UNSPECIFIED,
    Record,
    record_state,
    short_state,
)
from gembatch_tui.tui.widgets.safe_text import safe


@dataclass(frozen=True)
class StateLook:
    symbol: str
    label: str
    style: str


STATE_LOOKS: dict[str, StateLook] = {
    PENDING: StateLook("◌", "pending", "yellow"),
    RUNNING: StateLook("▶", "running", "bold cyan"),
    SUCCEEDED: StateLook("✔", "succeeded", "green"),
    FAILED: StateLook("✖", "failed", "bold red"),
    CANCELLED: StateLook("⊘", "cancelled", "magenta"),
    EXPIRED: StateLook("◷", "expired", "dark_orange"),
    LOCAL_SUBMITTING: StateLook("↑", "submitting", "blue"),
    LOCAL_SUBMIT_FAILED: StateLook("✖", "not sent", "red"),
    LOCAL_QUEUED: StateLook("⋯", "queued", "cornflower_blue"),
    LOCAL_MISSING: StateLook("⚠", "missing", "bold red"),
}
UNKNOWN_LOOK = StateLook("?", "unknown", "bright_black")
# The order states are listed in (status line counts, sort by state).
STATE_ORDER = [
    RUNNING, PENDING, LOCAL_SUBMITTING, LOCAL_QUEUED, SUCCEEDED, FAILED, LOCAL_SUBMIT_FAILED, CANCELLED, EXPIRED,
    LOCAL_MISSING, UNSPECIFIED,
]
ACTIVE = frozenset({PENDING, RUNNING, LOCAL_SUBMITTING})
CANCELLABLE = frozenset({PENDING, RUNNING, LOCAL_QUEUED})


def can_cancel(record: Record | None) -> bool:
    """Cancel applies to a job the service has and has not finished."""
    return record is not None and record_state(record) in CANCELLABLE


def can_delete(record: Record | None) -> bool:
    """Delete applies once nothing is running (cleanup.plan_delete then says what it may remove); not to a
    queued part of a group, which the poller will still submit (removing it would leave the group short)."""
    if record is None:
        return False
    state = record_state(record)
    return state not in ACTIVE and not (state == LOCAL_QUEUED and record.get("group_id"))


def look(state: str) -> StateLook:
    return STATE_LOOKS.get(state, UNKNOWN_LOOK)


def state_text(state: str) -> Text:
    lk = look(state)
    label = lk.label if lk is not UNKNOWN_LOOK or state == UNSPECIFIED else safe(short_state(state)).lower()
    return Text(f"{lk.symbol} {label}", style=lk.style, no_wrap=True, overflow="ellipsis", end="")


def counts_text(counts: Counter[str], labels: bool = True) -> Text:
    """`12 jobs  ▶ 2 running  ✔ 8 succeeded` (or `▶2 ✔8` without labels), each state in its colour."""
    total = sum(counts.values())
    text = Text(counted(total, "job"), end="")
    other = sum(n for s, n in counts.items() if s not in STATE_ORDER or s == UNSPECIFIED)
    items = [(look(s), counts.get(s, 0)) for s in STATE_ORDER if s != UNSPECIFIED]
    items.append((UNKNOWN_LOOK, other))
    for lk, n in items:
        if n:
            text.append("  " if labels else " ")
            text.append(f"{lk.symbol} {n:,} {lk.label}" if labels else f"{lk.symbol}{n:,}", style=lk.style)
    return text


__all__ = [
    "ACTIVE",
    "CANCELLABLE",
    "STATE_LOOKS",
    "STATE_ORDER",
    "UNKNOWN_LOOK",
    "StateLook",
    "can_cancel",
    "can_delete",
    "counts_text",
    "look",
    "state_text",
]
