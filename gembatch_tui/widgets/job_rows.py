"""Provides the dashboard's view model: how a store record looks as a table row, and filter/sort/cap.

Everything here is plain computation over records (no widgets), so a worker thread can build the
rows of 10,000 records while the UI stays responsive, and tests can call it directly.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rich.text import Text

from gembatch_tui.core.ledger import Totals, store_totals
from gembatch_tui.core.models import (
    CANCELLED,
    EXPIRED,
    FAILED,
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
    is_final,
    parse_time,
    record_state,
    record_stats,
    short_state,
)
from gembatch_tui.core.store import record_key
from gembatch_tui.widgets.safe_text import safe, safe_text

MAX_ROWS = 1000
"""At most this many rows are in the table at once (a DataTable of 10k rows freezes the UI for seconds)."""


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
}
UNKNOWN_LOOK = StateLook("?", "unknown", "bright_black")
# The order states are listed in (status line counts, sort by state).
STATE_ORDER = [
    RUNNING, PENDING, LOCAL_SUBMITTING, LOCAL_QUEUED, SUCCEEDED, FAILED, LOCAL_SUBMIT_FAILED, CANCELLED, EXPIRED,
    UNSPECIFIED,
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

# `t` cycles through these state presets; each is (name shown, states matched).
STATE_PRESETS: list[tuple[str, frozenset[str] | None]] = [
    ("all", None),
    ("active", frozenset({PENDING, RUNNING, LOCAL_SUBMITTING, LOCAL_QUEUED})),
    ("succeeded", frozenset({SUCCEEDED})),
    ("failed", frozenset({FAILED, LOCAL_SUBMIT_FAILED})),
    ("cancelled", frozenset({CANCELLED})),
    ("expired", frozenset({EXPIRED})),
]
_STATE_WORDS: dict[str, frozenset[str]] = {
    "active": frozenset({PENDING, RUNNING, LOCAL_SUBMITTING, LOCAL_QUEUED}),
    "final": frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED}),
    "done": frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED}),
    "failed": frozenset({FAILED, LOCAL_SUBMIT_FAILED}),
    "unknown": frozenset({UNSPECIFIED}),
}

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


def look(state: str) -> StateLook:
    return STATE_LOOKS.get(state, UNKNOWN_LOOK)


def state_text(state: str) -> Text:
    lk = look(state)
    label = lk.label if lk is not UNKNOWN_LOOK or state == UNSPECIFIED else safe(short_state(state)).lower()
    return Text(f"{lk.symbol} {label}", style=lk.style, no_wrap=True, overflow="ellipsis", end="")


def short_model(record: Record) -> str:
    batch = record.get("batch") if isinstance(record.get("batch"), dict) else {}
    model = str((batch or {}).get("model") or record.get("model") or "")
    for prefix in ("models/", "tunedModels/"):
        if model.startswith(prefix):
            model = model[len(prefix) :]
    return model


_TIMES: dict[str, datetime | None] = {}


def _parse_cached(value: Any) -> datetime | None:
    """parse_time, remembered: a view of 10,000 jobs parses the same timestamps after every poll."""
    if not isinstance(value, str):
        return None
    try:
        return _TIMES[value]
    except KeyError:
        if len(_TIMES) > 200_000:
            _TIMES.clear()
        parsed = _TIMES[value] = parse_time(value)
        return parsed


def created_at(record: Record) -> datetime | None:
    batch = record.get("batch")
    created = _parse_cached(batch.get("create_time")) if isinstance(batch, dict) else None
    return created or _parse_cached(record.get("submitted_at"))


def ended_at(record: Record, state: str | None = None) -> datetime | None:
    batch = record.get("batch")
    if not isinstance(batch, dict):
        return None
    end = _parse_cached(batch.get("end_time"))
    if end is None and is_final(state or record_state(record)):
        end = _parse_cached(batch.get("update_time"))
    return end


def duration_seconds(record: Record, now: datetime, start: datetime | None = None) -> float | None:
    start = start or created_at(record)
    if start is None:
        return None
    state = record_state(record)
    end = ended_at(record, state)
    if end is None:
        if state not in ACTIVE:
            return None
        end = now
    return max(0.0, (end - start).total_seconds())


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def format_created(when: datetime | None, now: datetime, wide: bool) -> str:
    return format_created_both(when, now)[1 if wide else 0]


def format_created_both(when: datetime | None, now: datetime) -> tuple[str, str]:
    """(narrow, wide) local creation time: `14:05` today, `Nov 20` this year, else `2025-11`; wide is full."""
    if when is None:
        return "—", "—"
    local = when.astimezone()
    wide = f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"
    today = now.astimezone()
    if local.date() == today.date():
        return wide[11:], wide
    if local.year == today.year:
        return local.strftime("%b %d"), wide
    return wide[:7], wide


def progress_numbers(record: Record) -> tuple[int, int, int]:
    """(done, total, failed) from batchStats; total falls back to the recorded request count."""
    stats = record_stats(record)
    total = stats["request_count"] or _int(record.get("count"))
    done = stats["successful_request_count"] + stats["failed_request_count"]
    return done, total, stats["failed_request_count"]


def progress_text(record: Record) -> Text:
    done, total, failed = progress_numbers(record)
    if not total and not done:
        return Text("—", end="")
    text = Text(f"{done}/{total}", end="", no_wrap=True)
    if failed:
        text.append(f" ✖{failed}", style="red")
    return text


def results_status(record: Record, check_disk: bool = True) -> tuple[str, str]:
    """(word, style): saved / missing / pending / error / — for the Results column."""
    path = record.get("results_file")
    if path and record.get("results_verified"):
        if not check_disk or os.path.isfile(str(path)):
            return "saved", "green"
        return "missing", "bold red"
    if record.get("results_error"):
        return "error", "red"
    if record_state(record) == SUCCEEDED:
        return "pending", "yellow"
    return "—", "bright_black"


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


class JobCell(Text):
    """The name cell; it carries its row's job key so the table can be re-ordered by key.

    `tail` is text that must stay visible however narrow the column (a group's "3 parts"): the table cuts the
    name to fit in front of it."""

    job_key: str = ""
    tail: Text | None = None


@dataclass
class JobRow:
    key: str
    state: str
    cells: dict[str, Text]
    started: datetime | None = None
    active: bool = False
    group: str | None = None
    """The group id, for a group's row and for each of its parts' rows."""
    is_group: bool = False
    """The row stands for a whole group (its key is `group:<id>`)."""
    expanded: bool = False
    """A group row whose parts are shown beneath it."""


def build_row(record: Record, now: datetime) -> JobRow:
    key = record_key(record)
    state = record_state(record)
    name = JobCell(safe(display_name(record)), no_wrap=True, overflow="ellipsis", end="")
    name.job_key = key
    done, total, _failed = progress_numbers(record)
    created = created_at(record)
    narrow, wide = format_created_both(created, now)
    word, style = results_status(record)
    cells = {
        "state": state_text(state),
        "name": name,
        "model": safe_text(short_model(record) or "—"),
        "progress": progress_text(record),
        "requests": Text(str(total) if total else "—", justify="right", end=""),
        "created": Text(narrow, end=""),
        "created_wide": Text(wide, end=""),
        "duration": Text(format_duration(duration_seconds(record, now, created)), justify="right", end=""),
        "results": Text(word, style=style, end=""),
    }
    return JobRow(key=key, state=state, cells=cells, started=created, active=state in ACTIVE)


# ----------------------------------------------------------------------------- filter and sort
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


@dataclass(frozen=True)
class ViewSpec:
    """What the user asked to see: filter text, state preset index, sort column and direction."""

    filter_text: str = ""
    preset: int = 0
    sort: int = 0
    reverse: bool = False

    @property
    def sort_column(self) -> str:
        return SORTS[self.sort % len(SORTS)][0]

    @property
    def descending(self) -> bool:
        return SORTS[self.sort % len(SORTS)][2] != self.reverse

    def describe(self) -> str:
        label = SORTS[self.sort % len(SORTS)][1]
        parts = [f"sort: {label} {'↓' if self.descending else '↑'}"]
        name, states = STATE_PRESETS[self.preset % len(STATE_PRESETS)]
        if states is not None:
            parts.append(f"state: {name}")
        if self.filter_text.strip():
            parts.append(f"filter: {safe(self.filter_text.strip())}")
        return " · ".join(parts)


@dataclass
class View:
    rows: list[JobRow]
    total: int
    """Entries in the store: jobs, with each group counted once."""
    matched: int
    """Entries that match the filter."""
    counts: Counter[str] = field(default_factory=Counter)
    spec: ViewSpec = field(default_factory=ViewSpec)
    totals: Totals | None = None
    shown: int = -1
    """Entries that have a row (an expanded group adds rows for its parts); -1: one row each."""

    @property
    def entries_shown(self) -> int:
        return len(self.rows) if self.shown < 0 else self.shown

    @property
    def capped(self) -> bool:
        return self.matched > self.entries_shown


def compute_view(
    records: list[Record],
    spec: ViewSpec,
    now: datetime,
    limit: int = MAX_ROWS,
    expanded: Collection[str] = (),
) -> View:
    """Filter, sort and cap `records`, and build the rows that will be shown.

    The parts of a split input (records with a `group_id`) make one entry: a group row, followed by a row per part
    when its id is in `expanded`. A group matches the filter when any part does (or the group as a whole), and
    sorts by its summary. At most `limit` rows are built, parts included."""
    from gembatch_tui.widgets import job_groups

    counts: Counter[str] = Counter(record_state(r) for r in records)
    flt = parse_filter(spec.filter_text)
    preset = STATE_PRESETS[spec.preset % len(STATE_PRESETS)][1]
    entries = job_groups.entries(records)
    if flt.active or preset is not None:
        chosen = [e for e in entries if job_groups.entry_matches(e, flt, preset)]
    else:
        chosen = list(entries)
    chosen.sort(key=job_groups.entry_sort_key(spec.sort_column, now, entries is not records), reverse=spec.descending)
    rows: list[JobRow] = []
    shown = 0
    for entry in chosen:
        if len(rows) >= limit:
            break
        shown += 1
        if isinstance(entry, job_groups.GroupEntry):
            rows.extend(job_groups.group_rows(entry, now, entry.group_id in expanded, limit - len(rows)))
        else:
            rows.append(build_row(entry, now))
    totals = store_totals(records)
    return View(rows=rows, total=len(entries), matched=len(chosen), counts=counts, spec=spec, totals=totals,
                shown=shown)


def counts_text(counts: Counter[str], labels: bool = True) -> Text:
    """`12 jobs  ▶ 2 running  ✔ 8 succeeded` (or `▶2 ✔8` without labels), each state in its colour."""
    total = sum(counts.values())
    text = Text(f"{total} job{'s' if total != 1 else ''}", end="")
    other = sum(n for s, n in counts.items() if s not in STATE_ORDER or s == UNSPECIFIED)
    items = [(look(s), counts.get(s, 0)) for s in STATE_ORDER if s != UNSPECIFIED]
    items.append((UNKNOWN_LOOK, other))
    for lk, n in items:
        if n:
            text.append("  " if labels else " ")
            text.append(f"{lk.symbol} {n} {lk.label}" if labels else f"{lk.symbol}{n}", style=lk.style)
    return text
