"""Provides the dashboard's filter and sort: the `/` filter language, the `t` state presets and the `o` sorts.

Why it is its own module: what the user typed becomes a Filter here and is tested against records without
any widget (in the view worker, and by job_groups for a group's parts); the sorts are key functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

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
    batch_name,
    display_name,
    is_archived,
    record_state,
)
from gembatch_tui.tui.dashboard.cells import created_at, duration_seconds, progress_numbers, short_model
from gembatch_tui.tui.dashboard.states import STATE_ORDER, look

# `t` cycles through these state presets; each is (name shown, states matched).
STATE_PRESETS: list[tuple[str, frozenset[str] | None]] = [
    ("all", None),
    ("active", frozenset({PENDING, RUNNING, LOCAL_SUBMITTING, LOCAL_QUEUED})),
    ("succeeded", frozenset({SUCCEEDED})),
    ("failed", frozenset({FAILED, LOCAL_SUBMIT_FAILED, LOCAL_MISSING})),
    ("cancelled", frozenset({CANCELLED})),
    ("expired", frozenset({EXPIRED})),
]
_STATE_WORDS: dict[str, frozenset[str]] = {
    "active": frozenset({PENDING, RUNNING, LOCAL_SUBMITTING, LOCAL_QUEUED}),
    "final": frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED, LOCAL_MISSING}),
    "done": frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED, LOCAL_MISSING}),
    "failed": frozenset({FAILED, LOCAL_SUBMIT_FAILED, LOCAL_MISSING}),
    "unknown": frozenset({UNSPECIFIED}),
}

STATE_WORDS_HINT = "f1 lists them"
"""Where the words `state:` takes are, for the view line when it gets one it does not know (the line is short)."""

# Sort keys `o` cycles through: (key, label, newest/biggest first by default).
SORTS: list[tuple[str, str, bool]] = [
    ("created", "created", True),
    ("name", "name", False),
    ("state", "state", False),
    ("model", "model", False),
    ("progress", "progress", True),
    ("requests", "requests", True),
    ("duration", "duration", True),
]


@dataclass(frozen=True)
class Filter:
    """A parsed filter: every word must occur in the job's text, and `state:` words choose states."""

    words: tuple[str, ...] = ()
    states: frozenset[str] | None = None

    @property
    def active(self) -> bool:
        return bool(self.words) or self.states is not None


def parse_filter(text: str) -> Filter:
    words: list[str] = []
    states: set[str] | None = None
    for token in text.lower().split():
        if token.startswith(("state:", "s:")):
            parts = [p for p in token.split(":", 1)[1].split(",") if p.strip()]
            if parts:  # a bare `state:` (still being typed) filters nothing yet
                states = states if states is not None else set()
                for part in parts:
                    states |= _states_for(part)
        elif token:
            words.append(token)
    return Filter(tuple(words), frozenset(states) if states is not None else None)


def _states_for(word: str) -> set[str]:
    word = word.strip()
    if not word:
        return set()
    if word in _STATE_WORDS:
        return set(_STATE_WORDS[word])
    found = {s for s in STATE_ORDER if look(s).label.startswith(word) or s.lower().endswith("_" + word)}
    return found or {f"?{word}"}  # matches nothing, so a typo shows an empty table, not everything


def matches(record: Record, flt: Filter, preset: frozenset[str] | None) -> bool:
    state = record_state(record)
    return matches_state_and_words(
        state,
        lambda: (
            display_name(record),
            batch_name(record) or "",
            short_model(record),
            str(record.get("input_file") or ""),
            look(state).label,
            "archived" if is_archived(record) else "",
        ),
        flt,
        preset,
    )


def matches_state_and_words(
    state: str, fields: Callable[[], Iterable[str]], flt: Filter, preset: frozenset[str] | None
) -> bool:
    """The filter test for a row in `state` whose searchable text is `fields()` (built only when words are given)."""
    if preset is not None and state not in preset:
        return False
    if flt.states is not None and state not in flt.states:
        return False
    if flt.words:
        hay = " ".join(fields()).lower()
        return all(w in hay for w in flt.words)
    return True


def sort_key(column: str, now: datetime):  # noqa: ANN201 - a key function
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    if column == "name":
        return lambda r: display_name(r).lower()
    if column == "state":
        order = {s: i for i, s in enumerate(STATE_ORDER)}
        return lambda r: order.get(record_state(r), len(order))
    if column == "model":
        return short_model
    if column == "progress":

        def frac(r: Record) -> float:
            done, total, _ = progress_numbers(r)
            return done / total if total else 0.0

        return frac
    if column == "requests":
        return lambda r: progress_numbers(r)[1]
    if column == "duration":
        return lambda r: duration_seconds(r, now) or 0.0
    return lambda r: (created_at(r) or epoch).timestamp()


__all__ = ["SORTS", "STATE_PRESETS", "Filter", "matches", "matches_state_and_words", "parse_filter", "sort_key"]
