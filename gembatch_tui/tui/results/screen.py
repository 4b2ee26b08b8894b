"""Provides ResultsScreen: browse one job's results joined to its requests, filter them, export, retry failures.

How it stays fast on a results file of hundreds of MB: a thread worker builds a ResultsIndex (key digests
and byte offsets only, with progress) and counts token usage in the same pass; the table then shows one page
of at most PAGE_SIZE rows, materialised by another worker from the offsets, and the detail pane reads only the
highlighted row. Filters (errors only, text) produce a list of row numbers in a worker; nothing is ever
loaded whole. Everything from the files is shown as inert text (`safe_text`): `[bold]` or `\\x1b[31m` in an
answer appears literally.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static

from gembatch_tui.core.results import ledger
from gembatch_tui.core.models import Record, batch_name, display_name, is_realtime, record_key
from gembatch_tui.core.results.index import ResultsIndex
from gembatch_tui.core.text import format_bytes
from gembatch_tui.core.results.join import IndexCancelled
from gembatch_tui.core.results.rows import RowSummary
from gembatch_tui.core.results.status import ERROR, INVALID, MISSING
from gembatch_tui.tui.results.actions import ResultsActions
from gembatch_tui.tui.results.realtime_retry import RUN_LINE, RealtimeRetry
from gembatch_tui.tui.results.messages import (
    DetailLoaded,
    IndexBuilt,
    IndexProgressed,
    PageLoaded,
    SearchProgressed,
    ViewComputed,
    throttled,
)
from gembatch_tui.tui.results.render import NARROW, WIDE, WIDE_FROM, render_detail, row_cells
from gembatch_tui.tui.widgets.safe_text import safe, safe_text
from gembatch_tui.tui.widgets.usage_summary import usage_text
from gembatch_tui.tui.worker_failures import WorkerFailures

PAGE_SIZE = 500
"""Rows in the table at a time (Textual's DataTable stays quick up to about 1k)."""


# ----------------------------------------------------------------------------- the screen
class ResultsScreen(WorkerFailures, RealtimeRetry, ResultsActions, Screen[None]):
    """One job's results: a page of rows, the highlighted row in full, filters, export and retry (as a batch, or
    now in real time)."""

    AUTO_FOCUS = ""
    """Nothing is focused until the table is shown (not the hidden filter box, which would swallow q)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="results.back"),
        Binding("q", "back(False)", "Back", show=False, tooltip="Back (a real-time run started here goes on)",
                id="results.back_q"),
        Binding("slash", "filter", "Filter", key_display="/", tooltip="Rows whose text contains…",
                id="results.filter"),
        Binding("e", "errors_only", "Errors", tooltip="Only rows that are not ok", id="results.errors"),
        Binding("right_square_bracket", "page(1)", "Next", key_display="]", id="results.next_page"),
        Binding("left_square_bracket", "page(-1)", "Prev", key_display="[", id="results.prev_page"),
        Binding("x", "export('jsonl')", "Export", tooltip="Write the joined results as JSONL", id="results.export"),
        Binding("X", "export('csv')", "CSV", show=False, tooltip="Write the joined results as CSV", id="results.csv"),
        Binding("R", "resubmit", "Retry", tooltip="Resubmit the failed and missing requests", id="results.resubmit"),
        Binding("t", "realtime_retry", "Retry now",
                tooltip="Send the failed and missing requests now through generateContent, at interactive prices",
                id="results.realtime_retry"),
        Binding("c", "stop_run", "Stop run", tooltip="Stop the real-time run (the answers so far are kept)",
                id="results.stop_run"),
        Binding("v", "open_run_results", "New results", tooltip="Browse the results of the real-time run",
                id="results.open_run_results"),
        Binding("tab", "switch_pane", "Pane", show=False, id="results.pane"),
        Binding("j", "move(1)", "Down", show=False, id="results.down"),
        Binding("k", "move(-1)", "Up", show=False, id="results.up"),
        Binding("g", "edge(-1)", "First", show=False, tooltip="The first row of all pages", id="results.first"),
        Binding("G", "edge(1)", "Last", show=False, tooltip="The last row of all pages", id="results.last"),
    ]

    DEFAULT_CSS = """
    ResultsScreen {
        #results-topbar { height: 1; background: $panel; }
        #results-title { width: auto; padding: 0 1; text-style: bold; color: $accent; }
        #results-name { width: 1fr; padding: 0 1; }
        #results-summary { height: auto; max-height: 3; padding: 0 1; }
        #results-viewline { height: 1; padding: 0 1; background: $panel; }
        #results-run { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
        #results-filter { height: 1; border: none; padding: 0 1; background: $boost; }
        #results-filter:focus { background: $primary 20%; }
        #results-table { height: 1fr; scrollbar-size-vertical: 1; }
        #results-loading { height: 1fr; padding: 1 2; color: $text-muted; }
        #results-detail-body { height: 1fr; padding: 0 1; border-top: solid $panel-lighten-2;
                               scrollbar-size-vertical: 1; }
        #results-detail-body:focus { border-top: solid $accent; }
    }
    """

    def __init__(self, record: Record) -> None:
        super().__init__()
        self.record = record
        """The job's store record (`input_file`, `results_file`, `batch`...)."""
        self.index: ResultsIndex | None = None
        """The join, once built."""
        self.view: Sequence[int] = range(0)
        """Row numbers the current filters select."""
        self.capped = False
        self.errors_only = False
        self.filter_text = ""
        self.page = 0
        self._view_gen = 0
        self._page_gen = 0
        self._columns: tuple[str, ...] = ()
        self._answer_width = 0
        self._shown: list[RowSummary] = []
        self._search_cancel = threading.Event()
        self._index_cancel = threading.Event()
        self._pending_link: Path | None = None
        self.detail_row: int | None = None
        """The row number the detail pane shows."""
        self._land_last = False
        """The next page shown puts the cursor on its last row (G from another page)."""

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="results-topbar"):
            yield Label("Results", id="results-title")
            yield Static(safe_text(f"{display_name(self.record)}  {batch_name(self.record) or ''}"), id="results-name")
        yield Static("", id="results-summary", markup=False)
        yield Static("", id="results-viewline", markup=False)
        yield Static("", id=RUN_LINE.removeprefix("#"), markup=False)
        box = Input(placeholder="text in keys, requests, answers or errors; enter applies, escape clears",
                    id="results-filter")
        box.cursor_blink = False
        yield box
        yield Static(Text("Indexing results…", end=""), id="results-loading", markup=False)
        yield DataTable(id="results-table", cursor_type="row", zebra_stripes=False)
        with VerticalScroll(id="results-detail-body"):
            yield Static("", id="results-detail", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for selector in ("#results-filter", "#results-table", "#results-detail-body", RUN_LINE):
            self.query_one(selector).display = False
        self.realtime_mount()
        results = self.record.get("results_file")
        if not results:
            self._fail("This job has no results file yet: results are downloaded when the job succeeds.")
            return
        self._build_worker(str(results), self.record.get("input_file") or None)

    def on_unmount(self) -> None:
        self._index_cancel.set()  # leaving while a 200 MB file is indexed or searched stops that work
        self._search_cancel.set()
        self.realtime_unmount()  # a real-time run started here goes on (the App runs it); the dashboard shows it

    def on_resize(self) -> None:
        self._fit_columns()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#results-table", DataTable)

    def _fail(self, text: str) -> None:
        self.query_one("#results-loading", Static).update(safe_text(text, "red", multiline=True))

    # ----------------------------------------------------------------- the index
    @work(thread=True, exclusive=True, group="results-index", exit_on_error=False, description="index the results")
    def _build_worker(self, results: str, input_file: str | None) -> None:
        from gembatch_tui.core.api.pricing import ConfigError, load_price_table

        try:
            usage = ledger.Usage.for_file(results)
            index = ResultsIndex.build(results, input_file, progress=throttled(self, IndexProgressed),
                                       cancel=self._index_cancel, on_result=usage.add)
        except IndexCancelled:
            return
        except OSError as exc:
            why = f"{results}: cannot read results file: {exc.strerror or exc}"
            self.post_message(IndexBuilt(None, None, None, why))
            return
        usage.invalid = index.counts[INVALID]
        try:
            prices = load_price_table(getattr(getattr(self.app, "settings", None), "config_path", None))
        except ConfigError:
            prices = None
        if is_realtime(self.record):  # sent through generateContent: interactive prices
            cost = ledger.job_cost(self.record, usage, prices).cost
        else:
            cost = usage.cost(ledger.record_model(self.record), prices)
        self.post_message(IndexBuilt(index, usage, cost))
        self._cache_usage(usage)

    def _cache_usage(self, usage: ledger.Usage) -> None:
        """Record the usage just counted, so the dashboard's totals include this job (worker thread)."""
        from gembatch_tui.tui.messages import StoreChanged

        store = getattr(self.app, "store", None)
        recorded = ledger.recorded_usage(self.record)
        if self.record.get("group_view"):  # a split input's merged results: each part records its own usage
            return
        if store is None or (recorded is not None and recorded.to_dict() == usage.to_dict()):
            return
        try:
            ledger.save_usage(store, record_key(self.record), usage)
        except Exception:  # noqa: BLE001 - a cache that could not be written is recomputed next time
            return
        self.app.post_message(StoreChanged("usage"))

    def on_index_progressed(self, message: IndexProgressed) -> None:
        pct = int(message.done * 100 / message.total) if message.total else 0
        what = "results and requests" if self.record.get("input_file") else "results"  # the total counts both files
        self.query_one("#results-loading", Static).update(
            Text(f"Indexing {what}… {pct}% of {format_bytes(message.total)}", end=""))

    def on_index_built(self, message: IndexBuilt) -> None:
        if message.index is None:
            self._fail(message.error)
            return
        self.index = message.index
        summary = Text(safe(message.index.summary()) + "\n", end="")
        summary.append_text(usage_text(message.usage, message.cost, label=""))
        if is_realtime(self.record):
            summary.append("  real-time: interactive prices", style="dim")
        self.query_one("#results-summary", Static).update(summary)
        self.query_one("#results-loading").display = False
        self.table.display = True
        self.query_one("#results-detail-body").display = True
        self._fit_columns()
        self.table.focus()
        self._recompute()
        self.price_offer()

    # ----------------------------------------------------------------- filters
    def _recompute(self) -> None:
        self._search_cancel.set()
        self._search_cancel = threading.Event()
        self._view_gen += 1
        self._show_viewline("filtering…" if self.filter_text else "")
        self._view_worker(self._view_gen, self.errors_only, self.filter_text, self._search_cancel)

    @work(thread=True, exclusive=True, group="results-view", exit_on_error=False, description="filter the results")
    def _view_worker(self, gen: int, errors_only: bool, text: str, cancel: threading.Event) -> None:
        index = self.index
        assert index is not None
        rows: Sequence[int] = index.not_ok_rows() if errors_only else index.all_rows()
        capped = False
        if text:
            progress = throttled(self, lambda done, total: SearchProgressed(gen, done, total))
            try:
                rows, capped = index.search(text, rows, progress=progress, cancel=cancel)
            except IndexCancelled:
                return
        self.post_message(ViewComputed(gen, rows, capped))

    def on_search_progressed(self, message: SearchProgressed) -> None:
        if message.gen == self._view_gen and message.total:
            self._show_viewline(f"searching… {message.done * 100 // message.total}% of {message.total:,} rows")

    def on_view_computed(self, message: ViewComputed) -> None:
        if message.gen != self._view_gen:
            return
        self.view, self.capped, self.page = message.rows, message.capped, 0
        self.table.move_cursor(row=0)
        self._load_page()

    def _load_page(self) -> None:
        self._page_gen += 1
        start = self.page * PAGE_SIZE
        self._page_worker(self._page_gen, self.view[start : start + PAGE_SIZE])
        self._show_viewline()
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="results-page", exit_on_error=False, description="read a page of results")
    def _page_worker(self, gen: int, rows: Sequence[int]) -> None:
        assert self.index is not None
        self.post_message(PageLoaded(gen, self.index.summaries(rows)))

    def on_page_loaded(self, message: PageLoaded) -> None:
        if message.gen != self._page_gen:
            return
        self._shown = message.rows
        self._fill_table()
        if not message.rows:
            self.query_one("#results-detail", Static).update(Text("No row matches.", style="dim", end=""))

    def _show_viewline(self, note: str = "") -> None:
        text = Text(end="")
        what = ["errors only" if self.errors_only else "all rows"]
        if self.filter_text:
            what.append(f"matching “{safe(self.filter_text)}”")
        text.append(", ".join(what), style="bold")
        total = len(self.view)
        if note:
            text.append(f"  {note}", style="dim")
        elif total:
            start = self.page * PAGE_SIZE
            pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
            text.append(f"  {start + 1:,}–{min(total, start + PAGE_SIZE):,} of {total:,}")
            if pages > 1:
                text.append(f"  page {self.page + 1}/{pages}  [ ] to turn", style="dim")
        else:
            text.append("  no rows", style="dim")
        if self.capped:
            text.append("  (first matches only; narrow the text)", style="yellow")
        self.query_one("#results-viewline", Static).update(text)

    # ----------------------------------------------------------------- table
    def _fit_columns(self) -> None:
        table = self.table
        width = table.size.width or self.size.width
        if width <= 0 or not table.display:
            return
        spec = WIDE if width >= WIDE_FROM else NARROW
        fixed = sum((w or 0) + 2 for _, _, w in spec)
        answer = max(10, width - 1 - fixed - 2)
        columns = tuple(key for key, _, _ in spec)
        if (columns, answer) == (self._columns, self._answer_width):
            return
        self._columns, self._answer_width = columns, answer
        table.clear(columns=True)
        for key, label, w in spec:
            table.add_column(label, width=w if w is not None else answer, key=key)
        self._fill_table()

    def _fill_table(self) -> None:
        table = self.table
        if not self._columns:
            return
        cursor = len(self._shown) - 1 if self._land_last else table.cursor_row
        self._land_last = False
        table.clear()
        for summary in self._shown:
            table.add_row(*row_cells(summary, self._columns), key=str(summary.row))
        if self._shown:
            table.move_cursor(row=min(cursor, len(self._shown) - 1), scroll=True)
            self._detail_worker(self._shown[table.cursor_row].row)

    @on(DataTable.RowHighlighted, "#results-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self._shown):
            self._detail_worker(self._shown[event.cursor_row].row)

    @work(thread=True, exclusive=True, group="results-detail", exit_on_error=False, description="read a result")
    def _detail_worker(self, row: int) -> None:
        assert self.index is not None
        self.post_message(DetailLoaded(self.index.row(row)))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        current = self.table.cursor_row
        if 0 <= current < len(self._shown) and self._shown[current].row != message.row.row:
            return  # an older highlight
        self.detail_row = message.row.row
        self.query_one("#results-detail", Static).update(render_detail(message.row))
        self.query_one("#results-detail-body", VerticalScroll).scroll_home(animate=False)

    # ----------------------------------------------------------------- keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        realtime = self.realtime_check(action)
        if realtime is not None:
            return realtime
        if action in ("filter", "errors_only", "export", "switch_pane", "move", "edge"):
            return self.index is not None
        if action == "page":
            step = int(parameters[0]) if parameters else 1  # type: ignore[call-overload]
            target = self.page + step
            return self.index is not None and 0 <= target * PAGE_SIZE < max(1, len(self.view))
        if action == "resubmit":
            index = self.index
            return index is not None and index.keys_compared and index.count(ERROR, MISSING) > 0
        return True

    def action_back(self, stop_run: bool = True) -> None:
        """escape: stop a real-time run started here, else clear the filters, else leave; q does the same but
        leaves a run going (the App runs it, the dashboard shows it, and c there stops it)."""
        if stop_run and self.realtime_check("stop_run"):
            self.action_stop_run()
            return
        box = self.query_one("#results-filter", Input)
        if box.display:
            self._close_filter(clear=True)
            return
        if self.filter_text or self.errors_only:
            self.filter_text, self.errors_only = "", False
            self._recompute()
            return
        self.dismiss()

    def action_errors_only(self) -> None:
        self.errors_only = not self.errors_only
        self._recompute()

    def action_page(self, step: int) -> None:
        self.page += step
        self.table.move_cursor(row=0)
        self._load_page()

    def action_move(self, step: int) -> None:
        if self.focused is self.table:
            target = max(0, min(self.table.row_count - 1, self.table.cursor_row + step))
            self.table.move_cursor(row=target)
        else:
            body = self.query_one("#results-detail-body", VerticalScroll)
            # immediate: a deferred scroll would read the same target for keys pressed before the next refresh
            target = max(0, min(body.max_scroll_y, int(body.scroll_target_y) + step))
            body.scroll_to(y=target, animate=False, immediate=True)

    def action_edge(self, direction: int) -> None:
        """g/G: the first/last row of the whole view, turning to its page first (in the detail pane: its top/end)."""
        if self.focused is not self.table:
            self.action_move(direction * 1_000_000)
            return
        target = 0 if direction < 0 else max(0, (len(self.view) - 1) // PAGE_SIZE)
        if target == self.page:
            self.table.move_cursor(row=0 if direction < 0 else max(0, self.table.row_count - 1))
            return
        self.page = target
        self._land_last = direction > 0
        self.table.move_cursor(row=0)
        self._load_page()

    def action_switch_pane(self) -> None:
        target = self.query_one("#results-detail-body") if self.focused is self.table else self.table
        target.focus()

    def action_filter(self) -> None:
        box = self.query_one("#results-filter", Input)
        self.query_one("#results-viewline").display = False
        box.display = True
        box.value = self.filter_text
        box.focus()

    @on(Input.Submitted, "#results-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        self._close_filter(clear=False)
        self._recompute()

    def _close_filter(self, *, clear: bool) -> None:
        self.query_one("#results-filter", Input).display = False
        self.query_one("#results-viewline").display = True
        self.table.focus()
        if clear and self.filter_text:
            self.filter_text = ""
            self._recompute()


__all__ = ["PAGE_SIZE", "ResultsScreen", "render_detail", "row_cells"]
