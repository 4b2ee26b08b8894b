"""Provides the dashboard's view model: `compute_view` filters, sorts and caps the records into the rows to show.

Everything here is plain computation over records (no widgets), so a worker thread can build the
rows of 10,000 records while the UI stays responsive, and tests can call it directly.

The parts it is built from have their own modules: how a state looks (job_states), how a record becomes a
row (job_cells) and the filter and sort (job_filter_sort). Their public names are re-exported here, where
screens and tests have always imported them from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from gembatch_tui.core.results.ledger import Totals, store_totals
from gembatch_tui.core.models import Record, is_archived, record_state
from gembatch_tui.tui.dashboard.cells import (
    JobCell,
    JobRow,
    build_row,
    created_at,
    duration_seconds,
    ended_at,
    format_created,
    format_created_both,
    format_duration,
    progress_numbers,
    progress_text,
    results_status,
    short_model,
)
from gembatch_tui.tui.dashboard.filter_sort import (
    SORTS,
    STATE_PRESETS,
    STATE_WORDS_HINT,
    Filter,
    matches,
    matches_state_and_words,
    parse_filter,
    sort_key,
)
from gembatch_tui.tui.dashboard.states import (
    ACTIVE,
    CANCELLABLE,
    STATE_LOOKS,
    STATE_ORDER,
    UNKNOWN_LOOK,
    StateLook,
    can_cancel,
    can_delete,
    counts_text,
    look,
    state_text,
)
from gembatch_tui.tui.widgets.safe_text import safe

MAX_ROWS = 1000
"""At most this many rows are in the table at once (a DataTable of 10k rows freezes the UI for seconds)."""


@dataclass(frozen=True)
class ViewSpec:
    """What the user asked to see: filter text, state preset index, sort column and direction."""

    filter_text: str = ""
    preset: int = 0
    sort: int = 0
    reverse: bool = False
    show_archived: bool = False
    """Archived jobs have rows too (`H`); hidden by default."""

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
            unknown = sorted(s[1:] for s in parse_filter(self.filter_text).states or () if s.startswith("?"))
            if unknown:  # a typo would read as "no such jobs"
                parts.append(f"no state {safe(', '.join(unknown))} ({STATE_WORDS_HINT})")
        if self.show_archived:
            parts.append("archived shown")
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
    archived_hidden: int = 0
    """Archived entries left out (a group counts once, when every part is archived)."""

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
    from gembatch_tui.tui.dashboard import groups as job_groups

    flt = parse_filter(spec.filter_text)
    preset = STATE_PRESETS[spec.preset % len(STATE_PRESETS)][1]
    entries = job_groups.entries(records)
    grouped = entries is not records
    hidden = 0
    if not spec.show_archived and any(is_archived(r) for r in records):
        kept = [e for e in entries if not _archived(e)]
        hidden = len(entries) - len(kept)
        entries = kept
    counted = records if not hidden else [r for e in entries
                                          for r in (e.parts if isinstance(e, job_groups.GroupEntry) else (e,))]
    counts: Counter[str] = Counter(record_state(r) for r in counted)
    if flt.active or preset is not None:
        chosen = [e for e in entries if job_groups.entry_matches(e, flt, preset)]
    else:
        chosen = list(entries)
    chosen.sort(key=job_groups.entry_sort_key(spec.sort_column, now, grouped), reverse=spec.descending)
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
                shown=shown, archived_hidden=hidden)


def _archived(entry: object) -> bool:
    """A job that is archived, or a split input whose every part is (a part still on show keeps its group)."""
    parts = getattr(entry, "parts", None)
    if parts is not None:
        return bool(parts) and all(is_archived(p) for p in parts)
    return is_archived(entry)  # type: ignore[arg-type]


__all__ = [
    # defined here
    "MAX_ROWS",
    "View",
    "ViewSpec",
    "compute_view",
    # re-exported from job_states
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
    # re-exported from job_cells
    "JobCell",
    "JobRow",
    "build_row",
    "created_at",
    "duration_seconds",
    "ended_at",
    "format_created",
    "format_created_both",
    "format_duration",
    "progress_numbers",
    "progress_text",
    "results_status",
    "short_model",
    # re-exported from job_filter_sort
    "SORTS",
    "STATE_PRESETS",
    "Filter",
    "matches",
    "matches_state_and_words",
    "parse_filter",
    "sort_key",
]
