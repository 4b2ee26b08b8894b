"""Provides what the job detail shows of one record: its sections (summary, timeline, files, earlier attempts, last
error, every recorded field) as Rich renderables, every value from outside as inert text.

Why apart from the screen (detail.py): what a record looks like is pure (a record and a time in, renderables
out), tested without an app (test_job_rows renders one), while the screen decides when a section repaints.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gembatch_tui.core.poll import embeddings
from gembatch_tui.core.results import ledger
from gembatch_tui.core.counts import counted
from gembatch_tui.core.models import (
    LOCAL_QUEUED,
    Record,
    batch_name,
    display_name,
    is_realtime,
    parse_time,
    record_state,
    record_stats,
    short_state,
)
from gembatch_tui.core.api.models_catalog import EMBED, model_kind
from gembatch_tui.tui.widgets.usage_summary import usage_text
from gembatch_tui.tui.dashboard.cells import eta_seconds, format_ago
from gembatch_tui.tui.dashboard.rows import duration_seconds, format_duration, results_status, short_model, state_text
from gembatch_tui.tui.widgets.safe_text import safe, safe_text

SECTIONS = 6
"""Summary, timeline, files, earlier attempts, last error, all recorded fields (record_sections)."""
TIMELINE = [
    ("submitted", ("submitted_at",)),
    ("created", ("batch", "create_time")),
    ("updated", ("batch", "update_time")),
    ("ended", ("batch", "end_time")),
    ("downloaded", ("downloaded_at",)),
    ("cancelled", ("cancelled_at",)),
    ("retried", ("retried_at",)),
    ("remote deleted", ("remote_deleted_at",)),
]


def _dig(record: Record, path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _when(value: Any, now: datetime) -> Text:
    moment = parse_time(value)
    if moment is None:
        return safe_text(value) if value else Text("—", style="dim")
    ago = (now - moment).total_seconds()
    rel = f"{format_ago(ago)} ago" if ago >= 0 else f"in {format_ago(-ago)}"
    text = Text(moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"), end="")
    text.append(f"  ({rel})", style="dim")
    return text


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or [(prefix, "{}")]
    if isinstance(value, str):
        return [(prefix, value)]
    return [(prefix, json.dumps(value, ensure_ascii=False))]


def _when_plain(at: datetime, now: datetime) -> str:
    return f"{at.astimezone().strftime('%H:%M:%S')}, {format_ago(max(0.0, (now - at).total_seconds()))} ago"


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True, min_width=14)
    grid.add_column(overflow="fold")
    return grid


def _section(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def is_embedding(record: Record) -> bool:
    """An embeddings job: its results are vectors, for which the service reports no token usage."""
    check = record.get("results_check")
    if isinstance(check, dict) and "embedding_dims" in check:
        return True
    if record.get("kind") == EMBED:
        return True
    return model_kind(ledger.record_model(record) or "") == EMBED


def embeddings_text(record: Record) -> Text:
    """`1,000 embeddings of 768 dimensions`, from the results check (once the results are saved)."""
    described = embeddings.describe(record.get("results_check"))
    if described:
        return Text(described, end="")
    if record.get("results_file"):
        return Text("count and dimensions not recorded", style="dim", end="")
    return Text("— (counted once the results are saved)", style="dim", end="")


def group_text(record: Record) -> Text:
    """`part 2 of 3 of big.jsonl (group 1a2b3c4d5e6f)`, and the merged results once they exist."""
    text = Text(f"part {safe(record.get('group_part') or '?')} of {safe(record.get('group_parts') or '?')} of ", end="")
    text.append(safe(record.get("group_display_name") or record.get("group_input_file") or "?"))
    text.append(f"  (group {safe(record.get('group_id'))})", style="dim")
    if record.get("group_results_file") and record.get("group_results_verified"):
        text.append("\nmerged results: ", style="dim")
        text.append(safe(record.get("group_results_file")))
    elif record.get("group_results_error"):
        text.append("\nmerge: ", style="dim")
        text.append(safe(record.get("group_results_error")), style="red")
    return text


def queued_text(record: Record, now: datetime) -> Text:
    """Why a job waits locally, and when it is tried again (the poller submits it)."""
    text = safe_text(record.get("queued_reason") or "waiting to be submitted", multiline=True)
    retry = record.get("retry_after")
    when = parse_time(retry) if isinstance(retry, str) else None
    if when is None and isinstance(retry, (int, float)):
        when = datetime.fromtimestamp(retry, tz=timezone.utc)
    if when is not None:
        wait = (when - now).total_seconds()
        text.append(f"  (next try in {format_ago(wait)})" if wait > 0 else "  (next try at the next poll)",
                    style="dim")
    return text


def attempts_text(record: Record) -> Table | None:
    """A retried part's earlier attempts, oldest first: state, batch and error (None when it has none)."""
    history = record.get("previous_attempts")
    attempts = [a for a in history if isinstance(a, dict)] if isinstance(history, list) else []
    if not attempts:
        return None
    grid = _grid()
    for i, attempt in enumerate(attempts, start=1):
        batch = attempt.get("batch") if isinstance(attempt.get("batch"), dict) else {}
        remote = batch.get("error")
        error = attempt.get("error") or (remote.get("message") if isinstance(remote, dict) else None)
        line = Text(short_state(str(attempt.get("state") or "?")).lower(), end="")
        line.append(f"  {safe(batch.get('name') or '— (not created)')}", style="dim")
        if error:
            line.append("  ")
            line.append(safe(error), style="red")
        grid.add_row(f"attempt {i}", line)
    return grid


def render_record(record: Record, now: datetime, poll_error: tuple[datetime, str] | None = None) -> Group:
    """Everything about one job; every value that came from outside is wrapped as inert text.
    `poll_error`: the app's last poll error for this job (when, cause first), shown under "Last error"."""
    return Group(*(part for part in record_sections(record, now, poll_error) if part is not None))


_ONE = {"lines": "line", "errors": "error", "duplicates": "duplicate"}
"""A results_check count of one, in the singular ("1 line", not "1 lines")."""


def record_sections(record: Record, now: datetime, poll_error: tuple[datetime, str] | None = None, *,
                    run_here: bool = False) -> list[Any]:
    """The detail's SECTIONS parts in order (None for an absent one): summary, timeline, files, earlier attempts,
    last error, all recorded fields. The screen paints each on its own, so a poll that only moves `polled_at`
    repaints the recorded fields (below the fold at 80x24), not the screen. `run_here`: a real-time job this app
    runs."""
    from gembatch_tui.tui.dashboard import realtime_detail

    realtime = is_realtime(record)
    state = record_state(record)
    stats = record_stats(record)
    batch = record.get("batch") if isinstance(record.get("batch"), dict) else {}
    gone = record.get("remote_deleted") if isinstance(record.get("remote_deleted"), dict) else {}

    summary = _grid()
    summary.add_row("Name", safe_text(display_name(record), multiline=True))
    summary.add_row("Batch", safe_text(batch_name(record) or "— (not created)", multiline=True))
    state_line = Text(end="")
    state_line.append_text(state_text(state))
    state_line.append(f"  {safe(state)}", style="dim")
    summary.add_row("State", state_line)
    if record.get("key_absent"):  # not polled: the key that made the job is not set (core/keys.py)
        summary.add_row("API key", Text(safe(str(record["key_absent"])) + "; not polled", style="yellow", end=""))
    summary.add_row("Model", safe_text(short_model(record) or "—"))
    if realtime:
        for label, value in realtime_detail.realtime_rows(record, here=run_here):
            summary.add_row(label, value)
    if record.get("group_id"):
        summary.add_row("Group", group_text(record))
    if state == LOCAL_QUEUED:
        summary.add_row("Queued", queued_text(record, now))
    total = stats["request_count"] or int(record.get("count") or 0)
    progress = realtime_detail.progress_text(record) if realtime else Text(
        f"{stats['successful_request_count']:,} succeeded, {stats['failed_request_count']:,} failed, "
        f"{stats['pending_request_count']:,} pending of {counted(total, 'request')}",
        end="",
    )
    eta = eta_seconds(record, now)
    if eta is not None:
        progress.append(f"  about {format_duration(eta)} left at the rate so far", style="dim")
    summary.add_row("Progress", progress)
    word, style = results_status(record)
    results = Text(end="")
    results.append(word, style=style)
    if record.get("results_file"):
        results.append("  ")
        results.append(safe(record.get("results_file")))
    summary.add_row("Results", results)
    check = record.get("results_check")
    if isinstance(check, dict):
        summary.add_row(
            "Results check",
            Text(
                ", ".join(f"{safe(v)} {safe(_ONE.get(k, k) if v == 1 else k)}" for k, v in check.items()),
                end="",
            ),
        )
    usage = ledger.recorded_usage(record)
    if is_embedding(record):
        summary.add_row("Embeddings", embeddings_text(record))
        if usage is not None and usage.known and usage.prompt:  # the service reports none for embeddings
            summary.add_row("Tokens", usage_text(usage, usage.cost(ledger.record_model(record)), label=""))
    elif usage is not None or ledger.expects_usage(record):
        if usage is not None and realtime:  # interactive prices (ledger.job_cost)
            cost = ledger.job_cost(record, usage).cost
        else:
            cost = usage.cost(ledger.record_model(record)) if usage is not None else None
        tokens = usage_text(usage, cost, label="")
        if realtime and cost is not None:
            tokens.append("  interactive rates", style="dim")
        summary.add_row("Tokens", tokens)
    summary.add_row("Duration", Text(format_duration(duration_seconds(record, now)), end=""))

    timeline = _grid()
    for label, path in TIMELINE:
        value = _dig(record, path)
        if value:
            timeline.add_row(label, _when(value, now))

    files = _grid()
    files.add_row("input file", safe_text(record.get("input_file") or "—", multiline=True))
    uploaded = record.get("uploaded_file_name")
    up = safe_text(uploaded or "—")
    if uploaded and (gone.get("input") or record.get("uploaded_file_deleted")):
        up.append("  (deleted on the server)", style="dim")
    files.add_row("uploaded input", up)
    dest = ((batch or {}).get("dest") or {}).get("file_name") if isinstance((batch or {}).get("dest"), dict) else None
    out = safe_text(dest or "—")
    if dest and gone.get("output"):
        out.append("  (deleted on the server)", style="dim")
    files.add_row("remote results", out)
    files.add_row("results file", safe_text(record.get("results_file") or "—", multiline=True))
    if gone.get("batch"):
        files.add_row("remote job", Text("deleted on the server", style="dim", end=""))

    parts: list[Any] = [summary, Group(_section("Timeline"), timeline), Group(_section("Files"), files)]
    attempts = attempts_text(record)
    parts.append(Group(_section("Earlier attempts"), attempts) if attempts is not None else None)
    last_error: list[Any] = []
    errors = [
        ("job", record.get("error") or ((batch or {}).get("error") or {}).get("message")),
        ("results", record.get("results_error")),
    ]
    if poll_error is not None:
        errors.append(("poll", f"{poll_error[1]} ({_when_plain(poll_error[0], now)})"))
    errors = [(k, v) for k, v in errors if v]
    last_error.append(_section("Last error"))
    if errors:
        grid = _grid()
        for kind, message in errors:
            grid.add_row(kind, safe_text(message, style="red", multiline=True))
        last_error.append(grid)
    else:
        last_error.append(Text("none", style="dim"))
    parts.append(Group(*last_error))

    every = _grid()
    for key, value in _flatten(record):
        every.add_row(safe_text(key, style="dim"), safe_text(value, multiline=True))
    parts.append(Group(_section("All recorded fields"), every))
    return parts


__all__ = ["SECTIONS", "attempts_text", "embeddings_text", "group_text", "is_embedding", "queued_text",
           "record_sections", "render_record"]
