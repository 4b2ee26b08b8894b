"""Provides the dashboard's rows for groups: an input split into parts, shown as one row that expands to its parts.

Plain computation over records, like job_rows (which calls it from `compute_view`, in a worker thread):
- `entries(records)`: the store as dashboard entries, each a job record or a GroupEntry standing for all its parts;
- `entry_matches` / `entry_sort_key`: filter and sort entries (a group matches when any part does; it sorts by
  its summary: label, overall state, requests done over the original input, earliest start);
- `group_rows`: the group's row (`▸ label 3 parts`, key `group:<id>`) and, when expanded, its parts' rows
  (`  [1/3] name`, keyed by record key), so in-place updates by key keep the cursor where it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from rich.text import Text

from gembatch_tui.core.submit.groups import GroupSummary, by_group, summarise, troubled_states
from gembatch_tui.core.counts import counted
from gembatch_tui.core.models import SUCCEEDED, Record, display_name, is_final, parse_time, record_key
from gembatch_tui.tui.dashboard.cells import (
    JobCell,
    JobRow,
    build_row,
    created_at,
    ended_at,
    format_created_both,
    format_duration,
    format_running,
    progress_cell,
    results_status,
    short_model,
)
from gembatch_tui.tui.dashboard.filter_sort import Filter, matches, matches_state_and_words, sort_key
from gembatch_tui.tui.dashboard.states import ACTIVE, STATE_ORDER, look, state_text
from gembatch_tui.tui.widgets.safe_text import safe, safe_text

GROUP_PREFIX = "group:"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def group_key(group_id: str) -> str:
    """The row key of a group's row (record keys never start with `group:`)."""
    return GROUP_PREFIX + group_id


def group_of_key(key: str | None) -> str | None:
    """The group id of a group row's key, None for any other key."""
    return key[len(GROUP_PREFIX) :] if key and key.startswith(GROUP_PREFIX) else None


@dataclass
class GroupEntry:
    """A group as one dashboard entry: its parts in order and their summary (sort values computed on demand)."""

    group_id: str
    parts: list[Record]
    summary: GroupSummary

    @cached_property
    def started(self) -> datetime | None:
        """When the first part was created (or, before any was, when the group was submitted)."""
        starts = [s for s in (created_at(p) for p in self.parts) if s is not None]
        return min(starts) if starts else parse_time(self.parts[0].get("group_submitted_at"))

    def duration(self, now: datetime) -> float | None:
        """From the first part's start to the last part's end (or to now, while the group is under way: the same
        rule as the table's `refresh_durations`, which ticks rows that are `active`)."""
        start = self.started
        if start is None:
            return None
        state = self.summary.state
        if is_final(state):
            ends = [e for e in (ended_at(p) for p in self.parts) if e is not None]
            return max(0.0, (max(ends) - start).total_seconds()) if ends else None
        if state in ACTIVE:
            return max(0.0, (now - start).total_seconds())
        return None  # queued or not sent: like such a job, no running time

    def sort_value(self, column: str, now: datetime) -> Any:
        s = self.summary
        if column == "name":
            return s.label.lower()
        if column == "state":
            return STATE_ORDER.index(s.state) if s.state in STATE_ORDER else len(STATE_ORDER)
        if column == "model":
            return short_model(self.parts[0])
        if column == "progress":
            return s.done / s.requests if s.requests else 0.0
        if column == "requests":
            return s.requests
        if column == "duration":
            return self.duration(now) or 0.0
        return (self.started or EPOCH).timestamp()


Entry = Record | GroupEntry


def entries(records: list[Record]) -> list[Any]:
    """Job records and groups, in store order (a group where its first part is); `records` itself when no
    record belongs to a group (the common case, and no copy of 10,000 records)."""
    if not any(r.get("group_id") for r in records):
        return records
    groups = by_group(records)
    out: list[Entry] = []
    seen: set[str] = set()
    for rec in records:
        gid = rec.get("group_id")
        if not (isinstance(gid, str) and gid):
            out.append(rec)
        elif gid not in seen:
            seen.add(gid)
            parts = groups[gid]
            out.append(GroupEntry(gid, parts, summarise(parts)))
    return out


def entry_matches(entry: Entry, flt: Filter, preset: frozenset[str] | None) -> bool:
    if not isinstance(entry, GroupEntry):
        return matches(entry, flt, preset)
    if any(matches(p, flt, preset) for p in entry.parts):
        return True
    s = entry.summary
    return matches_state_and_words(s.state, lambda: (s.label, s.input_file, "group", look(s.state).label), flt, preset)


def entry_sort_key(column: str, now: datetime, grouped: bool = True) -> Callable[[Any], Any]:
    by_record = sort_key(column, now)
    if not grouped:
        return by_record

    def key(entry: Entry) -> Any:
        return entry.sort_value(column, now) if isinstance(entry, GroupEntry) else by_record(entry)

    return key


def group_rows(entry: GroupEntry, now: datetime, expanded: bool, room: int) -> list[JobRow]:
    """The group's row, then (when expanded) a row per part, at most `room` rows in all."""
    rows = [group_row(entry, now, expanded)]
    if expanded:
        rows.extend(part_row(p, entry, now) for p in entry.parts[: max(0, room - 1)])
    return rows


def group_row(entry: GroupEntry, now: datetime, expanded: bool) -> JobRow:
    s = entry.summary
    key = group_key(s.group_id)
    name = JobCell(f"{'▾' if expanded else '▸'} {safe(s.label)}", no_wrap=True, overflow="ellipsis", end="")
    name.job_key = key
    count = counted(s.parts, "part") if s.present == s.parts else f"{s.present} of {counted(s.parts, 'part')}"
    name.tail = Text(f" {count}", style="dim", end="")
    troubled = troubled_states(s.states)
    if s.state not in troubled:  # still under way: say which parts ended badly
        for trouble, n in sorted(troubled.items()):
            name.tail.append(f", {n} {look(trouble).label}", style="red")
    started = entry.started
    narrow, wide = format_created_both(started, now)
    word, style = group_results(entry)
    progress = progress_cell(s.done, s.requests, s.failed_requests) if s.requests or s.done else Text("—", end="")
    cells = {
        "state": state_text(s.state),
        "name": name,
        "model": safe_text(short_model(entry.parts[0]) or "—"),
        "progress": progress,
        "requests": Text(f"{s.requests:,}" if s.requests else "—", justify="right", end=""),
        "created": Text(narrow, end=""),
        "created_wide": Text(wide, end=""),
        "duration": Text((format_running if s.state in ACTIVE else format_duration)(entry.duration(now)),
                         justify="right", end=""),
        "results": Text(word, style=style, end=""),
    }
    return JobRow(key=key, state=s.state, cells=cells, started=started, active=s.state in ACTIVE,
                  group=s.group_id, is_group=True, expanded=expanded)


def part_row(record: Record, entry: GroupEntry, now: datetime) -> JobRow:
    """An ordinary job row, keyed by record, whose name is indented under the group: `  [1/3] name`."""
    row = build_row(record, now)
    n = record.get("group_parts") or entry.summary.parts
    name = JobCell(f"  [{record.get('group_part') or '?'}/{n}] ", style="dim", no_wrap=True, overflow="ellipsis",
                   end="")
    name.append(safe(part_label(record)))
    name.job_key = record_key(record)
    row.cells["name"] = name
    row.group = entry.group_id
    return row


def part_label(record: Record) -> str:
    """The part's name without the ` [1/3]` the service appends to every part's display name."""
    name = display_name(record)
    suffix = f" [{record.get('group_part')}/{record.get('group_parts')}]"
    return name[: -len(suffix)] if name.endswith(suffix) and len(name) > len(suffix) else name


def group_results(entry: GroupEntry) -> tuple[str, str]:
    """(word, style) for a group's Results column: the merged file's status, else how many parts have theirs."""
    s = entry.summary
    if s.results_file:
        return ("saved", "green") if os.path.isfile(s.results_file) else ("missing", "bold red")
    parts = entry.parts
    if any(p.get("group_results_error") or p.get("results_error") for p in parts):
        return "error", "red"
    if s.state == SUCCEEDED:
        return "pending", "yellow"
    saved = sum(1 for p in parts if results_status(p)[0] == "saved")
    if saved:
        return f"{saved}/{s.parts}", "yellow"
    return "—", "bright_black"


def fit_name(cell: Text, width: int) -> Text:
    """A name cell with a `tail` cut to `width` cells so that the tail stays visible (the name gets the `…`)."""
    tail: Text | None = getattr(cell, "tail", None)
    if tail is None or width <= 0:
        return cell
    room = width - tail.cell_len
    head = cell.copy()
    if head.cell_len > room:
        head.truncate(max(1, room), overflow="ellipsis")
    out = JobCell(head.plain, style=head.style, no_wrap=True, overflow="ellipsis", end="")
    out.spans = list(head.spans)
    out.append_text(tail)
    out.job_key = getattr(cell, "job_key", "")
    return out


__all__ = [
    "GROUP_PREFIX",
    "GroupEntry",
    "entries",
    "entry_matches",
    "entry_sort_key",
    "fit_name",
    "group_key",
    "group_of_key",
    "group_rows",
    "part_label",
]
