"""Provides the dashboard: every job in the store as a table, with filter, sort and the job actions.

The screen never reads the store itself: the app publishes records (`jobs_changed`), a worker turns
them into at most MAX_ROWS rows (filter, sort, cap), and the table updates in place by job key.

The parts of a split input are one row (`▸ big.jsonl 3 parts`): space, enter or → expand it to one row per
part beneath it, space or ← (also from a part) collapse it. Which groups are expanded is kept here, by group id.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label, Static

from gembatch_tui.core.counts import counted
from gembatch_tui.core.models import Record, record_state
from gembatch_tui.tui.dashboard.actions import RowActions
from gembatch_tui.tui.dashboard.realtime_runs import RealtimeRuns
from gembatch_tui.tui.dashboard.reasons import WHAT, has_results, reason_not
from gembatch_tui.tui.widgets.event_line import EventLine
from gembatch_tui.tui.dashboard.groups import group_key, group_of_key
from gembatch_tui.tui.dashboard.rows import (
    MAX_ROWS,
    SORTS,
    STATE_PRESETS,
    View,
    ViewSpec,
    can_cancel,
    can_delete,
    compute_view,
    counts_text,
)
from gembatch_tui.tui.optional_screens import has_screen, optional_screen
from gembatch_tui.tui.dashboard.table import JobTable
from gembatch_tui.tui.widgets.status_line import StatusLine
from gembatch_tui.tui.widgets.usage_summary import totals_text
from gembatch_tui.tui.worker_failures import WorkerFailures

if TYPE_CHECKING:
    from gembatch_tui.tui.host import AppHost

FILTER_DEBOUNCE_S = 0.15
LAND_WINDOW_S = 5.0
"""After the dashboard comes back, a job that appears within this long is one just submitted: the cursor lands on it."""
NO_MATCH = "No job matches the filter. Press escape to clear it, t to change the state filter."


class ViewComputed(Message):
    """A worker built the rows for `spec` (generation `gen`; older generations are dropped)."""

    def __init__(self, gen: int, view: View) -> None:
        super().__init__()
        self.gen, self.view = gen, view


class ResultsMoved(Message):
    """A saved results file on show was removed or changed: the rows are built again."""


class DashboardScreen(WorkerFailures, RealtimeRuns, RowActions, Screen[None]):
    """The job table, a view line (sort, filter, how many shown), the poll status and the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer shows what the highlighted row can do (check_action); a row key that does not apply falls
        # through to its hidden "why" twin, which says why on the event line (dashboard_reasons.py).
        Binding("c", "cancel_job", "Cancel", tooltip="Cancel the selected pending or running job", id="dashboard.cancel"),
        Binding("c", "why('cancel_job')", show=False, id="dashboard.cancel_why"),
        Binding("d", "delete_job", "Delete", tooltip="Delete the job's remote resources and/or record", id="dashboard.delete"),
        Binding("d", "why('delete_job')", show=False, id="dashboard.delete_why"),
        Binding("v", "view_results", "Results",
                tooltip="Browse the job's results (on a split input's row: its merged results)", id="dashboard.results"),
        Binding("v", "why('view_results')", show=False, id="dashboard.results_why"),
        Binding(
            "R", "retry_parts", "Retry", tooltip="Queue the failed, expired or cancelled parts of a split input again",
            id="dashboard.retry_parts",
        ),
        Binding("R", "why('retry_parts')", show=False, id="dashboard.retry_why"),
        Binding("r", "poll_now", "Poll", show=False, tooltip="Poll every unfinished job now", id="dashboard.poll"),
        Binding("r", "why('poll_now')", show=False, id="dashboard.poll_why"),
        Binding("s", "submit", "Submit", tooltip="Submit JSONL files", id="dashboard.submit"),
        Binding("s", "why('submit')", show=False, id="dashboard.submit_why"),
        Binding("b", "resources", "Remote", tooltip="Remote jobs and files of this key", id="dashboard.resources"),
        Binding("b", "why('resources')", show=False, id="dashboard.resources_why"),
        Binding("A", "archive_job", "Archive", show=False, id="dashboard.archive",
                tooltip="Archive the finished job (hidden; nothing remote changes); on an archived row: unarchive"),
        Binding("A", "why('archive_job')", show=False, id="dashboard.archive_why"),
        Binding("H", "toggle_archived", "Archived", show=False, tooltip="Show or hide archived jobs",
                id="dashboard.show_archived"),
        Binding("u", "usage", "Usage", show=False, tooltip="Tokens and cost of every job, and the store's total",
                id="dashboard.usage"),
        Binding("slash", "filter", "Filter", key_display="/", tooltip="Filter by text or state:NAME", id="dashboard.filter"),
        Binding("t", "cycle_state", "State", tooltip="Cycle all/active/succeeded/failed/…", id="dashboard.states"),
        Binding("o", "sort", "Sort", show=False, tooltip="Sort by the next column", id="dashboard.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="dashboard.reverse"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="dashboard.clear_filter"),
        Binding("q", "quit", "Quit", id="dashboard.quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.spec = ViewSpec()
        """What the user asked to see; changing it recomputes the rows."""
        self.view: View | None = None
        """The rows last shown."""
        self._gen = 0
        self._filter_timer: Timer | None = None
        self._keys_for: tuple[object, ...] | None = None
        self._empty_shown = ""
        self.expanded: set[str] = set()
        """Ids of the groups whose parts are shown."""
        self._select_next: str | None = None
        """A row key to put the cursor on when the next view is shown (the group row, after collapsing from a part)."""
        self._shown_gen = -1
        self._day: date | None = None
        """The local day of the last duration tick (the Created column names the day for older jobs)."""
        self._keys_before: set[str] | None = None
        """Row and record keys that existed when another screen (submit) covered the dashboard: a row that appears
        since is a job just submitted, and the cursor lands on it (`_new_job_row`)."""
        self._land_until = 0.0
        self._suspended = False
        """Another screen covers the dashboard: new records, the status line and the ticking durations wait for
        its return (a screen below the current one that handles anything makes Textual repaint the current one)."""
        self._hidden_status: Text | None = None
        self._hidden_tick: datetime | None = None
        self._stale = False
        """The records changed while another screen covered the dashboard."""

    @property
    def gapp(self) -> AppHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            settings = self.gapp.settings
            profile = f" · {settings.profile}" if getattr(settings, "profiles", None) and not settings.demo else ""
            yield Label(f"gembatch-tui{profile}", id="title", markup=False)  # several keys: the one that submits
            if self.gapp.settings.demo:
                yield Label(" DEMO ", id="demo-badge")
            yield StatusLine(id="counts")
        yield JobTable(id="jobs")
        yield Static("Loading jobs…", id="empty", markup=False)
        with Horizontal(id="viewbar"):
            yield StatusLine(id="viewline")
            filter_input = Input(placeholder="filter: words, state:running, state:failed,expired", id="filter")
            filter_input.cursor_blink = False
            yield filter_input
        yield StatusLine(id="statusline")
        yield EventLine()
        # No "^p palette" here: at 80 columns the row's keys need the room; the event line's first text names it.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one(JobTable).display = False
        # immediate: called in the publisher's turn, so a dashboard under another screen handles no message for it
        # (Textual repaints the screen on top whenever the one below it handled one: ~5 KB for nothing).
        self.gapp.jobs_changed.subscribe(self, self._records_changed, immediate=True)
        self.gapp.poll_status_changed.subscribe(self, self.show_poll_status, immediate=True)
        self.gapp.durations_ticked.subscribe(self, self.refresh_durations, immediate=True)
        self.gapp.poll_passed.subscribe(self, lambda _none: self.look_at_results(), immediate=True)
        self.show_poll_status(self.gapp.poll_status_text())
        self._show_viewline()
        self.realtime_runs_mount()
        if self.gapp.loaded:
            self._records_changed(self.gapp.records)

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    def selected(self) -> Record | None:
        return self.gapp.record(self.table.selected_key)

    # ----------------------------------------------------------------- rows
    def on_unmount(self) -> None:
        self.realtime_runs_unmount()

    def _records_changed(self, records: list[Record]) -> None:
        if self._suspended:  # under another screen: the rows are built again on return
            self._stale = True
            return
        self.recompute()

    def recompute(self) -> None:
        """Build the rows for the current records and spec in a worker."""
        self._gen += 1
        self._view_worker(self._gen, list(self.gapp.records), self.spec, self.gapp.clock(), frozenset(self.expanded))

    @property
    def settled(self) -> bool:
        """The rows on show are those of the latest records and spec (no view is being computed)."""
        return self.view is not None and self._shown_gen == self._gen

    @work(thread=True, exclusive=True, group="view", exit_on_error=False, description="sort and filter the jobs")
    def _view_worker(
        self, gen: int, records: list[Record], spec: ViewSpec, now: datetime, expanded: frozenset[str]
    ) -> None:
        self.post_message(ViewComputed(gen, compute_view(records, spec, now, expanded=expanded)))

    def on_view_computed(self, message: ViewComputed) -> None:
        if message.gen != self._gen:
            return
        self._shown_gen = message.gen
        view = self.view = message.view
        table = self.table
        select, self._select_next = self._select_next, None
        landing = self._new_job_row(view) if select is None else None
        table.show(view.rows, select=select or landing, reveal=landing is not None)
        empty = self.query_one("#empty", Static)
        message = self._empty_text() if view.total == 0 else NO_MATCH
        if view.total == 0 and view.archived_hidden:
            message = f"Every job here is archived ({view.archived_hidden}). Press H to show them."
        if not view.rows and message != self._empty_shown:
            self._empty_shown = message
            empty.update(message)
        has_rows = bool(view.rows)
        if table.display != has_rows:
            table.display = has_rows
            empty.display = not has_rows
            if has_rows and self.focused is None:
                table.focus()
        self._show_counts()
        self._show_viewline()
        self._refresh_keys()

    def on_screen_suspend(self) -> None:
        """Another screen covers the dashboard (submit, results, detail...): remember which rows exist."""
        self._suspended = True
        rows = self.view.rows if self.view is not None else []
        self._keys_before = set(self.gapp.records_by_key) | {r.key for r in rows}

    def on_screen_resume(self) -> None:
        self._suspended = False
        stale, self._stale = self._stale, False
        status, self._hidden_status = self._hidden_status, None
        if status is not None:
            self.show_poll_status(status)
        tick, self._hidden_tick = self._hidden_tick, None
        if tick is not None:
            self.refresh_durations(self.gapp.clock())
        if self._keys_before is not None:
            self._land_until = time.monotonic() + LAND_WINDOW_S
        if stale or self._keys_before is not None:
            self.recompute()  # the records changed meanwhile (a job submitted may be among them)
        else:
            self.look_at_results()  # a results file opened (or removed) from another screen

    def _new_job_row(self, view: View) -> str | None:
        """The first row (in view order) of a job that appeared while another screen covered the dashboard, or
        shortly after it came back (the store is read in a worker): the cursor lands there once, then stays
        where the user puts it."""
        before = self._keys_before
        if before is None:
            return None
        if not self._suspended and time.monotonic() > self._land_until:
            self._keys_before = None
            return None
        new = next((r.key for r in view.rows if r.key not in before), None)
        if new is not None and not self._suspended:
            self._keys_before = None  # landed, on the dashboard: the cursor is the user's again
        return new

    def _refresh_keys(self) -> None:
        """Update the footer only when what decides the keys changed (a footer redraw costs bytes)."""
        rec = self.selected()
        row = self.table.selected_row
        state = (
            self.table.selected_key,
            record_state(rec) if rec else None,
            self.table.row_count > 0,
            row is not None and row.is_group,
            len(self._retryable_parts()),
            tuple(record_state(p) for p in self._group_parts() or ()),
        )
        if state != self._keys_for:
            self._keys_for = state
            self.refresh_bindings()

    def _show_counts(self) -> None:
        if self.view is None:
            return
        counts = self.query_one("#counts", StatusLine)
        text = counts_text(self.view.counts, labels=True)
        if text.cell_len > counts.size.width - 2:
            text = counts_text(self.view.counts, labels=False)
        totals = self.view.totals
        if totals is not None and (totals.jobs or totals.unknown_jobs):
            room = counts.size.width - 2
            extra = Text("  ", end="").append_text(totals_text(totals, label="Σ"))
            short = Text(f"  Σ {totals.cost_text()} · u", style="bold", end="")  # the store's total at 80 columns
            if text.cell_len + extra.cell_len <= room:
                text = text + extra
            elif text.cell_len + short.cell_len <= room:
                text = text + short
        counts.show(text)

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_counts)

    def _empty_text(self) -> str:
        if self.gapp.settings.demo and not self.gapp.demo_seed_done:
            return "No jobs yet. The demo submits an example file in a moment; press s to submit your own."
        if self.gapp.missing_key:  # read-only: s is refused, so it is not offered
            return ("No jobs in the store yet. To submit, set GEMINI_API_KEY or GOOGLE_API_KEY and start again "
                    "(or try gembatch-tui --demo).")
        return "No jobs in the store yet. Press s to submit JSONL files, or run `gembatch-tui import` for old ones."

    def _show_viewline(self) -> None:
        text = Text(self.spec.describe(), style="dim", end="")
        view = self.view
        if view is not None and view.capped:
            text.append(f"  showing {view.entries_shown:,} of {view.matched:,}; filter to narrow", style="yellow")
        elif view is not None and view.matched != view.total:
            text.append(f"  {view.matched:,} of {counted(view.total, 'job')} match", style="dim")
        if view is not None and view.archived_hidden:
            text.append(f"  {view.archived_hidden:,} archived hidden · H shows", style="dim")
        self.query_one("#viewline", StatusLine).show(text)

    def show_poll_status(self, text: Text) -> None:
        if self._suspended:  # under another screen: painting it would cost bytes for nothing; shown on return
            self._hidden_status = text
            return
        self.query_one("#statusline", StatusLine).show(text)

    def refresh_durations(self, now: datetime) -> None:
        """The app's duration tick (30 s): running jobs' Took cells (coarse steps, only changed cells repaint);
        after midnight the Created cells too (`14:05` today becomes `Dec 05`), by recomputing the rows once."""
        if self._suspended:  # under another screen: caught up on return
            self._hidden_tick = now
            return
        day = now.astimezone().date()
        if self._day is not None and day != self._day and self.view is not None:
            self._day = day
            self.recompute()
            return
        self._day = day
        self.table.refresh_durations(now)
        self.look_at_results()

    def look_at_results(self) -> None:
        """Rebuild the rows when a saved results file on show was removed or changed since (results_look.py): on
        the 30 s tick and after each poll pass (`r`)."""
        if self._suspended or "results" not in self.table.column_keys():  # on return the rows are built again
            return
        shown = [(row.key, cell.plain) for row in self.table.rows_shown if (cell := row.cells.get("results"))]
        self._results_look_worker(shown, self.gapp.records_by_key)

    @work(thread=True, exclusive=True, group="results-look", exit_on_error=False,
          description="look at the saved results files on show")
    def _results_look_worker(self, shown: list[tuple[str, str]], records: dict[str, Record]) -> None:
        from gembatch_tui.tui.dashboard.results_look import results_moved

        if results_moved(shown, records):
            self.post_message(ResultsMoved())

    def on_results_moved(self, _message: ResultsMoved) -> None:
        self.recompute()

    # ----------------------------------------------------------------- keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.gapp
        if action == "why":  # the hidden twin of a row key: live exactly when the key itself is not
            return not self.check_action(str(parameters[0]), ())
        if action == "view_results":
            parts = self._group_parts()
            return bool(parts) if parts is not None else has_results(self.selected())
        if action in ("cancel_job", "delete_job"):
            if app.service is None:
                return False
            parts = self._group_parts()
            if parts is None:
                return (can_cancel if action == "cancel_job" else can_delete)(self.selected())
            if action == "cancel_job":  # every unfinished part at once
                return any(can_cancel(p) for p in parts)
            return all(can_delete(p) for p in parts)  # a split input goes whole, once nothing of it runs
        if action in ("poll_now",):
            return app.service is not None
        if action == "retry_parts":
            return app.service is not None and bool(self._retryable_parts())
        if action == "archive_job":
            return not app.missing_key and bool(self._archivable())
        if action in ("submit", "resources"):
            return app.service is not None and has_screen(action)
        if action == "clear_filter":
            return bool(self.spec.filter_text or self.spec.preset) or self.query_one("#filter", Input).display
        return True

    @on(DataTable.RowHighlighted)
    def _row_moved(self) -> None:
        self._refresh_keys()

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        gid = group_of_key(event.row_key.value)
        if gid is not None:
            self.toggle_group(gid, None)
        else:
            self.open_detail(event.row_key.value)

    @on(JobTable.GroupToggled)
    def _group_toggled(self, event: JobTable.GroupToggled) -> None:
        self.toggle_group(event.group_id, event.expand)

    def toggle_group(self, group_id: str, expand: bool | None) -> None:
        """Show (True), hide (False) or flip (None) the parts of a group; hiding them from a part moves the cursor
        to the group's row."""
        expand = group_id not in self.expanded if expand is None else expand
        if expand == (group_id in self.expanded):
            return
        if expand:
            self.expanded.add(group_id)
        else:
            self.expanded.discard(group_id)
            self._select_next = group_key(group_id)
        self.recompute()

    def open_detail(self, key: str | None) -> None:
        from gembatch_tui.tui.dashboard.detail import DetailScreen

        if key and self.gapp.record(key) is not None:
            self.app.push_screen(DetailScreen(key))

    def action_why(self, action: str) -> None:
        """A row key that does not apply: say why on the event line (no toast, nothing happens)."""
        record = self.selected()
        if record is None and action == "archive_job":  # a group row: its parts decide
            record = next(iter(self._group_parts() or ()), None)
        reason = reason_not(action, record, service=self.gapp.service is not None,
                            read_only=self.gapp.missing_key)
        self.gapp.record_event(reason, title=f"No {WHAT.get(action, action)}", severity="warning")

    def action_toggle_archived(self) -> None:
        self.spec = replace(self.spec, show_archived=not self.spec.show_archived)
        self._show_viewline()
        self.recompute()

    def action_poll_now(self) -> None:
        self.gapp.poll_now()

    def action_usage(self) -> None:
        """u: the usage and cost of every job, and the store's total (UsageScreen)."""
        from gembatch_tui.tui.dashboard.usage import UsageScreen

        self.app.push_screen(UsageScreen())

    def action_submit(self) -> None:
        self._open("submit")

    def action_resources(self) -> None:
        self._open("resources")

    def _open(self, name: str) -> None:
        screen = optional_screen(name)
        if screen is None or self.gapp.service is None:
            self.notify(f"The {name} screen is not available here", severity="warning")
            return
        self.app.push_screen(screen())

    def action_quit(self) -> None:
        """q: quit (asking first while an upload or a download is in flight, see app_quit.py)."""
        self.gapp.request_quit()

    # ----------------------------------------------------------------- filter and sort
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        self.query_one("#viewline").display = False
        box.display = True
        box.value = self.spec.filter_text
        box.focus()
        self.refresh_bindings()

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE_S, lambda: self._set_filter(event.value))

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self._set_filter(event.value)
        self._close_filter()

    def _set_filter(self, text: str) -> None:
        if text != self.spec.filter_text:
            self.spec = replace(self.spec, filter_text=text)
            self.recompute()

    def _close_filter(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#viewline").display = True
        self._show_viewline()
        self.table.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self.query_one("#filter", Input).value = ""
        self.spec = replace(self.spec, filter_text="", preset=0)
        self._close_filter()
        self.recompute()

    def action_cycle_state(self) -> None:
        preset = (self.spec.preset + 1) % len(STATE_PRESETS)
        self.spec = replace(self.spec, preset=preset)
        self._show_viewline()
        self.recompute()

    def action_sort(self) -> None:
        self.spec = replace(self.spec, sort=(self.spec.sort + 1) % len(SORTS), reverse=False)
        self._show_viewline()
        self.recompute()

    def action_reverse_sort(self) -> None:
        self.spec = replace(self.spec, reverse=not self.spec.reverse)
        self._show_viewline()
        self.recompute()


__all__ = ["DashboardScreen", "MAX_ROWS", "has_screen", "optional_screen"]
