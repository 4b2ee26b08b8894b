"""Provides the job detail screen: every recorded field of one job, as inert text, and its actions.

It follows the store: when a poll changes the job, the screen re-renders; when the record is
deleted, it goes back to the dashboard.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual import work
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label, Static
from textual.worker import Worker

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
    record_key,
    record_state,
    record_stats,
    short_state,
)
from gembatch_tui.core.submit.retry_parts import can_retry
from gembatch_tui.core.api.models_catalog import EMBED, model_kind
from gembatch_tui.tui.widgets.usage_summary import usage_text
from gembatch_tui.tui.dashboard.cells import eta_seconds, format_ago
from gembatch_tui.tui.dashboard.rows import (
    can_cancel,
    can_delete,
    duration_seconds,
    format_duration,
    results_status,
    short_model,
    state_text,
)
from gembatch_tui.tui.widgets.safe_text import safe, safe_text
from gembatch_tui.tui.worker_failures import WorkerFailures

if TYPE_CHECKING:
    from gembatch_tui.tui.host import AppHost

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
                ", ".join(f"{safe(v)} {safe(k)}" for k, v in check.items()),
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


def plain_text(renderable: Any, width: int = 160) -> str:
    """What a renderable shows at `width`, as plain text (to tell whether a repaint would change anything)."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


class PartRetried(Message):
    """A retry of this part ended: the line to show, and whether the part is queued again."""

    def __init__(self, text: str, ok: bool) -> None:
        super().__init__()
        self.text, self.ok = text, ok


class DetailScreen(WorkerFailures, Screen[None]):
    """One job in full; c cancels it, d deletes it, R retries a failed part of a split input, escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("q", "back", "Back", show=False, id="detail.back_q"),
        Binding("c", "cancel_job", "Cancel job", tooltip="Cancel this pending or running job", id="detail.cancel"),
        Binding("d", "delete_job", "Delete", tooltip="Delete the job's remote resources and/or record", id="detail.delete"),
        Binding("r", "poll_now", "Poll", tooltip="Poll every unfinished job now", id="detail.poll"),
        Binding(
            "R", "retry_part", "Retry part", tooltip="Queue this failed, expired or cancelled part again",
            id="detail.retry_part",
        ),
        Binding(
            "v", "view_results", "Results", tooltip="Browse answers, export, resubmit failures", id="detail.results"
        ),
        Binding("j", "scroll('down')", "Scroll down", show=False, id="detail.down"),
        Binding("k", "scroll('up')", "Scroll up", show=False, id="detail.up"),
        Binding("g", "scroll('home')", "Top", show=False, id="detail.top"),
        Binding("G", "scroll('end')", "Bottom", show=False, id="detail.bottom"),
    ]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        """The record key of the job shown."""
        self._shown: Record | None = None
        self._covered = False
        """Another screen (results) is on top: updates wait for its return (`_missed`)."""
        self._missed = False
        self._texts: dict[int, str] = {}
        """What each section shows, as plain text (a section repaints only when it changes)."""

    @property
    def gapp(self) -> AppHost:
        return self.app  # type: ignore[return-value]

    @property
    def record(self) -> Record | None:
        return self.gapp.record(self.key)

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Label("Job details", id="title")
            yield Static("", id="detail-name", markup=False)
        with VerticalScroll(id="detail-body"):
            yield Static("", id="detail", classes="detail-part", markup=False)  # the summary
            for i in range(1, SECTIONS):
                yield Static("", id=f"detail-{i}", classes="detail-part", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # immediate, and nothing done while another screen (results) covers this one: Textual repaints the screen
        # on top whenever the one below it handles a message (see DashboardScreen._suspended).
        self.gapp.jobs_changed.subscribe(self, self._records_changed, immediate=True)
        self.gapp.durations_ticked.subscribe(self, self.tick_durations, immediate=True)
        self.gapp.poll_errors_changed.subscribe(self, lambda _none: self.poll_error_changed(), immediate=True)
        self._show(self.record)
        self.query_one("#detail-body").focus()

    def on_screen_suspend(self) -> None:
        self._covered = True

    def on_screen_resume(self) -> None:
        self._covered = False
        if self._missed:
            self._missed = False
            self._records_changed(self.gapp.records)
            self.poll_error_changed()
            self.tick_durations(self.gapp.clock())

    def _records_changed(self, records: list[Record]) -> None:
        if self._covered:
            self._missed = True
            return
        rec = self.record
        if rec is None:
            if self.is_current:
                self.notify("The job is no longer in the store", markup=False)
                self.dismiss()
            return
        if rec != self._shown:
            if self._shown is None or record_state(rec) != record_state(self._shown):
                self.refresh_bindings()
            self._show(rec)

    def _show(self, rec: Record | None) -> None:
        self._shown = rec
        if rec is None:
            self._paint([Text("This job is no longer in the store.", end="")] + [None] * (SECTIONS - 1))
            return
        name = f"{display_name(rec)}  {batch_name(rec) or ''}"
        if name != self._texts.get(-1):
            self._texts[-1] = name
            self.query_one("#detail-name", Static).update(safe_text(name), layout=False)
        self._shown_poll_error = self._poll_error(rec)
        self._paint(record_sections(rec, self.gapp.clock(), self._shown_poll_error, run_here=self._run_here(rec)))

    def _run_here(self, rec: Record) -> bool:
        """A real-time job this app runs (its c stops the run's own event)."""
        if not is_realtime(rec):
            return False
        from gembatch_tui.tui.results.realtime_run import runs_of

        return record_key(rec) in runs_of(self.app).running_keys()

    def _paint(self, sections: list[Any]) -> None:
        """Update only the sections whose text changed (each repaint is bytes on the wire: a whole screen is
        ~5 KB at 80x24; a poll that moves only `polled_at` changes the recorded fields, below the fold)."""
        width = max(20, self.query_one("#detail-body").scrollable_content_region.width or 78)
        for i, part in enumerate(sections):
            widget = self.query_one("#detail" if i == 0 else f"#detail-{i}", Static)
            text = plain_text(part, width) if part is not None else ""
            old = self._texts.get(i)
            if text == old:
                continue
            self._texts[i] = text
            # Same height: repaint the section's own lines; a new height moves what is below it (a layout).
            same_height = old is not None and old.count("\n") == text.count("\n") and widget.display
            widget.update(part if part is not None else "", layout=not same_height)
            widget.display = part is not None

    def tick_durations(self, now: datetime) -> None:
        """The app's duration tick (every 30 s): durations, "ago" and "next try in" move; a section repaints only
        when its text changed (relative times move in coarse steps, cells.format_ago), so an open detail screen
        costs a summary and a timeline repaint a minute at most, one every 10 minutes for a job over an hour old."""
        rec = self._shown
        if rec is None or not self.is_mounted:
            return
        if self._covered:
            self._missed = True
            return
        self._paint(record_sections(rec, now, getattr(self, "_shown_poll_error", None), run_here=self._run_here(rec)))

    def _poll_error(self, rec: Record) -> tuple[datetime, str] | None:
        name = batch_name(rec)
        return getattr(self.gapp, "poll_errors", {}).get(name) if name else None

    def poll_error_changed(self) -> None:
        """The app's poll errors changed: repaint only if this job's did."""
        rec = self.record
        if not self.is_mounted or not hasattr(self, "_shown_poll_error"):
            return  # not shown yet: its first paint reads the errors
        if self._covered:
            self._missed = True
            return
        if rec is not None and self._poll_error(rec) != self._shown_poll_error:
            self._show(rec)

    # ----------------------------------------------------------------- keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        rec = self.record
        if action == "cancel_job":
            return self.gapp.service is not None and can_cancel(rec)
        if action == "delete_job":
            return self.gapp.service is not None and can_delete(rec)
        if action == "poll_now":
            return self.gapp.service is not None
        if action == "retry_part":
            return self.gapp.service is not None and can_retry(rec)
        if action == "view_results":
            return bool(rec and rec.get("results_file"))
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        {"down": body.scroll_down, "up": body.scroll_up, "home": body.scroll_home, "end": body.scroll_end}[where](
            animate=False, immediate=True
        )

    def action_cancel_job(self) -> None:
        rec = self.record
        if rec is not None and is_realtime(rec):  # no batch job: its run is stopped, in its own words
            from gembatch_tui.tui.dashboard.realtime_cancel import ask_cancel

            ask_cancel(self, rec)
            return
        self.gapp.request_cancel(self.key)

    def action_delete_job(self) -> None:
        self.gapp.request_delete(self.key)

    def action_poll_now(self) -> None:
        self.gapp.poll_now()

    def action_retry_part(self) -> None:
        self._retry_worker(self.key)

    @work(thread=True, exclusive=True, group="detail-retry", exit_on_error=False, description="retry the part")
    def _retry_worker(self, key: str) -> None:
        """Reset the part to queued (store and part file only) when its cost fits the cap; the app's poll then
        submits it."""
        from gembatch_tui.tui.dashboard.part_retry import retry_under_cap
        from gembatch_tui.tui.messages import JobsSubmitted

        found = retry_under_cap(self.gapp.store, self.gapp.service, [key])
        if not found:
            self.post_message(PartRetried("the job is no longer in the store", False))
            return
        outcome = found[0]
        self.post_message(PartRetried(outcome.line() if outcome.ok else outcome.message, outcome.ok))
        if outcome.ok:
            self.app.post_message(JobsSubmitted([]))  # reload, and poll soon: that submits the queued part

    def on_part_retried(self, message: PartRetried) -> None:
        if message.ok:
            self.notify(safe(message.text), title="Retry part", markup=False)
        else:
            self.notify(safe(message.text), title="Cannot retry part", severity="error", markup=False)
        self.refresh_bindings()

    def handle_worker_failure(self, event: Worker.StateChanged) -> bool:
        """A store error in the retry worker names what failed; any other failure goes to the App."""
        if event.worker.group != "detail-retry":
            return False
        error = safe(str(event.worker.error) or type(event.worker.error).__name__)
        self.notify(error, title="Could not retry the part", severity="error", markup=False)
        return True

    def action_view_results(self) -> None:
        from gembatch_tui.tui.results.screen import ResultsScreen

        if self.record is not None:
            self.app.push_screen(ResultsScreen(self.record))
