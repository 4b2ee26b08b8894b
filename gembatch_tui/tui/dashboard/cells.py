"""Provides how one store record becomes a dashboard row: its cells (JobRow, JobCell, `build_row`) and the
times, durations, progress and results status they show.

Why it is its own module: plain formatting of one record, no widgets, so a worker thread can build the rows
of 10,000 records while the UI stays responsive, and the detail screen shows the same words as the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text

from gembatch_tui.core.models import (
    RUNNING,
    Record,
    display_name,
    is_archived,
    is_final,
    is_realtime,
    parse_time,
    record_key,
    record_state,
    record_stats,
)
from gembatch_tui.core.results.saved import saved_word
from gembatch_tui.tui.dashboard.states import ACTIVE, state_text
from gembatch_tui.tui.widgets.safe_text import safe, safe_text


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


def format_running(seconds: float | None) -> str:
    """A running job's elapsed time in coarse steps, so that the dashboard's ticking column changes rarely: every
    repainted cell costs ~230 bytes on the wire (docs: textual-measurements.md section 3), and with many running
    jobs per-minute changes alone would exceed the idle budget (issue 18: 4 KB/min):
    5-minute steps up to an hour (`<5m` first), then 10-minute steps up to a day, then `format_duration`'s."""
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 300:
        return "<5m"
    if s < 3600:
        return f"{s // 300 * 5}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 600 * 10:02d}m"
    return format_duration(s)


def format_ago(seconds: float) -> str:
    """How long ago (or until), in steps that change rarely, so a screen showing it repaints rarely as it ticks:
    `<10s`, 10-second steps to a minute, minutes to an hour, 10-minute steps to a day, then days and hours."""
    s = int(abs(seconds))
    if s < 10:
        return "<10s"
    if s < 60:
        return f"{s // 10 * 10}s"
    if s < 86400 and s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 600 * 10:02d}m"
    return format_duration(s)


def duration_text(record: Record, now: datetime, start: datetime | None = None) -> str:
    """The Took cell: a finished job's exact duration, a running one's in coarse steps (`format_running`)."""
    seconds = duration_seconds(record, now, start)
    return format_running(seconds) if record_state(record) in ACTIVE else format_duration(seconds)


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


def eta_seconds(record: Record, now: datetime) -> float | None:
    """Seconds left for a running job at its rate so far (requests done since creation); None when there is no
    rate yet. Rough by nature: the service does not say how it schedules a job's requests."""
    if record_state(record) != RUNNING:
        return None
    done, total, _failed = progress_numbers(record)
    start = created_at(record)
    if start is None or done <= 0 or total <= done:
        return None
    elapsed = (now - start).total_seconds()
    return (total - done) * elapsed / done if elapsed > 0 else None


PROGRESS_FIT = 12
"""Characters of the narrow Progress column: a cell's whole text (the failed count too) fits in it, never cut."""


def short_count(n: int) -> str:
    """`950`, `47.6k`, `200k`, `1.2M`: rounded down, so a count short of its total never reads as all of it."""
    if n < 1000:
        return str(n)
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1000, "k")):
        if n >= size:
            whole = n // size
            return f"{whole}{unit}" if whole >= 100 else f"{n * 10 // size / 10:g}{unit}"
    return str(n)  # pragma: no cover - every n >= 1000 has a unit above


def done_of(done: int, total: int, fit: int = PROGRESS_FIT) -> str:
    """`1,234/5,000`; `12345/20000`, `47.6k/200k` or `23%` where the longer one would not fit in `fit`."""
    for text in (f"{done:,}/{total:,}", f"{done}/{total}", f"{short_count(done)}/{short_count(total)}"):
        if len(text) <= fit:
            return text
    return f"{100 * done // total}%" if total else short_count(done)


def progress_cell(done: int, total: int, failed: int) -> Text:
    """`done/total` and ` ✖failed` (red), shortened as needed to fit PROGRESS_FIT: a number is never cut."""
    mark = ""
    if failed:
        mark = f" ✖{failed:,}"
        if len(mark) + len(done_of(done, total)) > PROGRESS_FIT:
            mark = f" ✖{short_count(failed)}"
    text = Text(done_of(done, total, PROGRESS_FIT - len(mark)), end="", no_wrap=True)
    if mark:
        text.append(mark, style="red")
    return text


def progress_text(record: Record) -> Text:
    done, total, failed = progress_numbers(record)
    if not total and not done:
        return Text("—", end="")
    return progress_cell(done, total, failed)


_WORD_STYLES = {"saved": "green", "missing": "bold red", "changed": "bold red", "unverified": "yellow",
                "error": "red", "pending": "yellow"}


def results_status(record: Record) -> tuple[str, str]:
    """(word, style) for the Results column: core.results.saved's word (one `stat` for a verified file), or —."""
    word = saved_word(record)
    if word is None:
        return "—", "bright_black"
    return word, _WORD_STYLES[word]


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


REALTIME_MARK = "RT "
"""In front of a real-time run's name (core/realtime: requests sent through generateContent, at interactive prices):
a job of its own kind. Plain ASCII, so its width is the same in every terminal."""


def build_row(record: Record, now: datetime) -> JobRow:
    key = record_key(record)
    state = record_state(record)
    name = JobCell(no_wrap=True, overflow="ellipsis", end="")
    if is_realtime(record):
        name.append(REALTIME_MARK, style="bold magenta")
    name.append(safe(display_name(record)))
    name.job_key = key
    if is_archived(record):  # shown only with H: marked, so that A (unarchive) finds its rows
        name.stylize("dim")
        name.tail = Text(" archived", style="dim italic", end="")
    done, total, _failed = progress_numbers(record)
    created = created_at(record)
    narrow, wide = format_created_both(created, now)
    word, style = results_status(record)
    absent = record.get("key_absent")  # its API key is not set: not polled (core/keys.py)
    cells = {
        "state": Text("? " + ("key absent" if str(absent).startswith("key absent") else "other key"),
                      style="yellow", no_wrap=True, overflow="ellipsis", end="") if absent else state_text(state),
        "name": name,
        "model": safe_text(short_model(record) or "—"),
        "progress": progress_text(record),
        "requests": Text(f"{total:,}" if total else "—", justify="right", end=""),
        "created": Text(narrow, end=""),
        "created_wide": Text(wide, end=""),
        "duration": Text(duration_text(record, now, created), justify="right", end=""),
        "results": Text(word, style=style, end=""),
    }
    return JobRow(key=key, state=state, cells=cells, started=created, active=state in ACTIVE)


__all__ = [
    "JobCell",
    "JobRow",
    "REALTIME_MARK",
    "build_row",
    "created_at",
    "duration_seconds",
    "done_of",
    "progress_cell",
    "short_count",
    "duration_text",
    "ended_at",
    "format_created",
    "format_created_both",
    "format_ago",
    "format_duration",
    "format_running",
    "progress_numbers",
    "progress_text",
    "eta_seconds",
    "results_status",
    "short_model",
]
