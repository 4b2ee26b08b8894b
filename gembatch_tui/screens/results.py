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
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static

from gembatch_tui.core import ledger
from gembatch_tui.core.models import Record, batch_name, display_name
from gembatch_tui.core.results_index import ERROR, INVALID, MISSING, IndexCancelled, JoinedRow, ResultsIndex, RowSummary
from gembatch_tui.core.store import record_key
from gembatch_tui.widgets.safe_text import safe, safe_text
from gembatch_tui.widgets.usage_summary import compact, usage_text

PAGE_SIZE = 500
"""Rows in the table at a time (Textual's DataTable stays quick up to about 1k)."""
PROGRESS_EVERY = 0.1
STATUS_STYLE = {
    "ok": ("✔ ok", "green"),
    "error": ("✖ error", "red"),
    "missing": ("? missing", "yellow"),
    "unexpected": ("! unexpected", "magenta"),
    "duplicate": ("≡ duplicate", "magenta"),
    "invalid": ("⚠ invalid", "red"),
}
NARROW = [("key", "Key", 14), ("status", "Status", 12), ("tokens", "Tokens", 6), ("answer", "Answer", None)]
WIDE = [("key", "Key", 24), ("status", "Status", 12), ("finish", "Finish", 10), ("tokens", "Tokens", 7),
        ("answer", "Answer", None)]
WIDE_FROM = 110


# ----------------------------------------------------------------------------- worker reports
class IndexProgressed(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done, self.total = done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, IndexProgressed)


class IndexBuilt(Message):
    def __init__(self, index: ResultsIndex | None, usage: ledger.Usage | None, cost: float | None,
                 error: str = "") -> None:
        super().__init__()
        self.index, self.usage, self.cost, self.error = index, usage, cost, error


class SearchProgressed(Message):
    def __init__(self, gen: int, done: int, total: int) -> None:
        super().__init__()
        self.gen, self.done, self.total = gen, done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SearchProgressed)


class ViewComputed(Message):
    def __init__(self, gen: int, rows: Sequence[int], capped: bool) -> None:
        super().__init__()
        self.gen, self.rows, self.capped = gen, rows, capped


class PageLoaded(Message):
    def __init__(self, gen: int, rows: list[RowSummary]) -> None:
        super().__init__()
        self.gen, self.rows = gen, rows


class DetailLoaded(Message):
    def __init__(self, row: JoinedRow) -> None:
        super().__init__()
        self.row = row


class ResultsActionFinished(Message):
    """An export, retry-file build or resubmit ended: a line for the user, and what comes next."""

    def __init__(self, text: str, *, ok: bool = True, retry_file: Path | None = None, count: int = 0) -> None:
        super().__init__()
        self.text, self.ok, self.retry_file, self.count = text, ok, retry_file, count


def _throttled(screen: Screen[Any], make: Callable[[int, int], Message]) -> Callable[[int, int], None]:
    """A (done, total) callback for a worker thread that posts `make(done, total)` at most every PROGRESS_EVERY."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            screen.post_message(make(done, total))

    return report


# ----------------------------------------------------------------------------- rendering
def _cell(text: str, style: str = "") -> Text:
    return safe_text(text, style)


def row_cells(summary: RowSummary, columns: Sequence[str]) -> list[Text]:
    word, style = STATUS_STYLE.get(summary.status, (summary.status, ""))
    tokens = "?" if summary.usage_missing else (compact(summary.tokens) if summary.tokens is not None else "")
    cells = {
        "key": _cell(summary.key),
        "status": Text(word, style=style, end=""),
        "finish": _cell(summary.finish_reason, "dim" if summary.finish_reason == "STOP" else "yellow"),
        "tokens": Text(tokens, style="yellow" if summary.usage_missing else "", justify="right", end=""),
        "answer": _cell(summary.preview, "" if summary.status == "ok" else style),
    }
    return [cells[c] for c in columns]


def _section(text: Text, title: str, body: Text) -> None:
    text.append(f"\n\n{title}\n", style="bold underline")
    text.append_text(body)


def render_detail(row: JoinedRow) -> Text:
    """The highlighted row in full: status line, usage, error, answer, request. All inert text."""
    word, style = STATUS_STYLE.get(row.status, (row.status, ""))
    text = Text(end="")
    text.append(safe(row.key), style="bold")
    text.append(f"  {word}", style=style)
    result = row.result
    if result is not None and result.finish_reason:
        text.append(f"  finish {safe(result.finish_reason)}")
    where = [f"input line {row.input_line}" if row.input_line else "",
             f"results line {row.result_line}" if row.result_line else ""]
    if any(where):
        text.append("  (" + ", ".join(w for w in where if w) + ")", style="dim")
    if result is not None and result.ok:
        if row.usage_missing():
            text.append("\nusage missing or zero in the result: unknown, not free", style="yellow")
        else:
            u = result.usage
            text.append(
                f"\ntokens {u['promptTokenCount']:,} prompt · {u['candidatesTokenCount']:,} output · "
                f"{u['thoughtsTokenCount']:,} thinking · {u['cachedContentTokenCount']:,} cached · "
                f"{row.total_tokens() or 0:,} total", style="dim")
    error = row.error_text()
    if error:
        body = safe_text(error, "red", multiline=True)
        detail = row.error_json()
        if detail:
            body.append("\n")
            body.append_text(safe_text(detail, "dim", multiline=True))
        _section(text, "Error", body)
    if result is not None and result.ok:
        answer = row.answer_text()
        _section(text, "Answer", safe_text(answer, multiline=True) if answer else Text("(empty)", style="dim"))
    request = row.request_json()
    _section(text, "Request", safe_text(request, multiline=True) if request else
             Text("(not in the input file)", style="dim"))
    return text


# ----------------------------------------------------------------------------- the screen
class ResultsScreen(Screen[None]):
    """One job's results: a page of rows, the highlighted row in full, filters, export and retry."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="results.back"),
        Binding("slash", "filter", "Filter", key_display="/", tooltip="Rows whose text contains…",
                id="results.filter"),
        Binding("e", "errors_only", "Errors", tooltip="Only rows that are not ok", id="results.errors"),
        Binding("right_square_bracket", "page(1)", "Next", key_display="]", id="results.next_page"),
        Binding("left_square_bracket", "page(-1)", "Prev", key_display="[", id="results.prev_page"),
        Binding("x", "export('jsonl')", "Export", tooltip="Write the joined results as JSONL", id="results.export"),
        Binding("X", "export('csv')", "CSV", show=False, tooltip="Write the joined results as CSV", id="results.csv"),
        Binding("R", "resubmit", "Retry", tooltip="Resubmit the failed and missing requests", id="results.resubmit"),
        Binding("tab", "switch_pane", "Pane", show=False, id="results.pane"),
        Binding("j", "move(1)", "Down", show=False, id="results.down"),
        Binding("k", "move(-1)", "Up", show=False, id="results.up"),
        Binding("g", "move(-1000000)", "First", show=False, id="results.first"),
        Binding("G", "move(1000000)", "Last", show=False, id="results.last"),
    ]

    DEFAULT_CSS = """
    ResultsScreen {
        #results-topbar { height: 1; background: $panel; }
        #results-title { width: auto; padding: 0 1; text-style: bold; color: $accent; }
        #results-name { width: 1fr; padding: 0 1; }
        #results-summary { height: auto; max-height: 3; padding: 0 1; }
        #results-viewline { height: 1; padding: 0 1; background: $panel; }
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

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="results-topbar"):
            yield Label("Results", id="results-title")
            yield Static(safe_text(f"{display_name(self.record)}  {batch_name(self.record) or ''}"), id="results-name")
        yield Static("", id="results-summary", markup=False)
        yield Static("", id="results-viewline", markup=False)
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
        for selector in ("#results-filter", "#results-table", "#results-detail-body"):
            self.query_one(selector).display = False
        results = self.record.get("results_file")
        if not results:
            self._fail("This job has no results file yet: results are downloaded when the job succeeds.")
            return
        self._build_worker(str(results), self.record.get("input_file") or None)

    def on_unmount(self) -> None:
        self._index_cancel.set()  # leaving while a 200 MB file is indexed or searched stops that work
        self._search_cancel.set()

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
        from gembatch_tui.core.pricing import ConfigError, load_price_table

        try:
            usage = ledger.Usage.for_file(results)
            index = ResultsIndex.build(results, input_file, progress=_throttled(self, IndexProgressed),
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
        cost = usage.cost(ledger.record_model(self.record), prices)
        self.post_message(IndexBuilt(index, usage, cost))
        self._cache_usage(usage)

    def _cache_usage(self, usage: ledger.Usage) -> None:
        """Record the usage just counted, so the dashboard's totals include this job (worker thread)."""
        from gembatch_tui.messages import StoreChanged

        store = getattr(self.app, "store", None)
        recorded = ledger.recorded_usage(self.record)
        if store is None or (recorded is not None and recorded.to_dict() == usage.to_dict()):
            return
        try:
            ledger.save_usage(store, record_key(self.record), usage)
        except Exception:  # noqa: BLE001 - a cache that could not be written is recomputed next time
            return
        self.app.post_message(StoreChanged("usage"))

    def on_index_progressed(self, message: IndexProgressed) -> None:
        pct = int(message.done * 100 / message.total) if message.total else 0
        self.query_one("#results-loading", Static).update(
            Text(f"Indexing results… {pct}% of {message.total / 1e6:,.1f} MB", end=""))

    def on_index_built(self, message: IndexBuilt) -> None:
        if message.index is None:
            self._fail(message.error)
            return
        self.index = message.index
        summary = Text(safe(message.index.summary()) + "\n", end="")
        summary.append_text(usage_text(message.usage, message.cost, label=""))
        self.query_one("#results-summary", Static).update(summary)
        self.query_one("#results-loading").display = False
        self.table.display = True
        self.query_one("#results-detail-body").display = True
        self._fit_columns()
        self.table.focus()
        self._recompute()

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
            progress = _throttled(self, lambda done, total: SearchProgressed(gen, done, total))
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
        cursor = table.cursor_row
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
        if action in ("filter", "errors_only", "export", "switch_pane", "move"):
            return self.index is not None
        if action == "page":
            step = int(parameters[0]) if parameters else 1  # type: ignore[call-overload]
            target = self.page + step
            return self.index is not None and 0 <= target * PAGE_SIZE < max(1, len(self.view))
        if action == "resubmit":
            index = self.index
            return index is not None and index.keys_compared and index.count(ERROR, MISSING) > 0
        return True

    def action_back(self) -> None:
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

    # ----------------------------------------------------------------- export and retry
    def action_export(self, fmt: str) -> None:
        self.notify(f"Exporting all rows as {fmt.upper()}…", timeout=2)
        self._export_worker(fmt)

    @work(thread=True, group="results-action", exit_on_error=False, description="export the results")
    def _export_worker(self, fmt: str) -> None:
        from gembatch_tui.core.export import default_export_path, export_to_file

        index = self.index
        assert index is not None
        dest = default_export_path(index.results_path, fmt)
        try:
            count = export_to_file(index, dest, fmt)
        except OSError as exc:
            self.post_message(ResultsActionFinished(f"{dest}: cannot write: {exc.strerror or exc}", ok=False))
            return
        self.post_message(ResultsActionFinished(f"{count:,} rows written to {dest}"))

    def action_resubmit(self) -> None:
        self._retry_worker()

    @work(thread=True, group="results-action", exit_on_error=False, description="build the retry file")
    def _retry_worker(self) -> None:
        from gembatch_tui.core.resubmit import ResubmitError, build_retry_file

        assert self.index is not None
        try:
            built = build_retry_file(self.index)
        except (ResubmitError, OSError) as exc:
            self.post_message(ResultsActionFinished(str(exc), ok=False))
            return
        self.post_message(ResultsActionFinished(
            f"{built.count:,} failed or missing requests written to {built.path}", retry_file=built.path,
            count=built.count))

    def on_results_action_finished(self, message: ResultsActionFinished) -> None:
        self.notify(safe(message.text), title="Results" if message.ok else "Not done",
                    severity="information" if message.ok else "error", markup=False)
        if message.retry_file is not None:
            self._submit_retry(message.retry_file, message.count)

    def _submit_retry(self, path: Path, count: int) -> None:
        """Show the retry file in the submit flow if there is one, else ask and submit it here."""
        if getattr(self.app, "service", None) is None:
            self.notify("No service to submit to; submit the file later with `gembatch-tui submit`", markup=False)
            return
        try:
            from gembatch_tui.screens.submit import SubmitScreen
        except ImportError:
            SubmitScreen = None  # type: ignore[assignment,misc]  # noqa: N806
        if SubmitScreen is not None:
            self._pending_link = path
            self.notify(f"Mark {safe(path.name)} with space, then ctrl+s to submit it", markup=False, timeout=8)
            self.app.push_screen(SubmitScreen(start_dir=path.parent))
            return
        from gembatch_tui.screens.confirm import ConfirmDialog

        body = Text(f"Submit {count:,} requests from {safe(path)} as a new job, linked to {safe(batch_name(self.record))}?",
                    end="")

        def answered(yes: bool | None) -> None:
            if yes:
                self._resubmit_worker(path)

        self.app.push_screen(ConfirmDialog("Resubmit failures?", body, "submit"), answered)

    @work(thread=True, group="results-action", exit_on_error=False, description="resubmit the failures")
    def _resubmit_worker(self, path: Path) -> None:
        from gembatch_tui.core.resubmit import resubmit_extra
        from gembatch_tui.messages import JobsSubmitted

        model = ledger.record_model(self.record) or getattr(self.app.settings, "default_model", "gemini-2.5-flash")
        outcome = self.app.service.submit(  # type: ignore[attr-defined]
            path, model=model, display_name=path.name, extra=resubmit_extra(self.record))
        self.post_message(ResultsActionFinished(f"{path.name}: {outcome.line()}", ok=outcome.status != "error"))
        self.app.post_message(JobsSubmitted([outcome.batch_name] if outcome.batch_name else []))

    def on_screen_resume(self) -> None:
        """Back from the submit screen: link whatever was submitted from the retry file to this job."""
        if self._pending_link is not None:
            path, self._pending_link = self._pending_link, None
            self._link_worker(path)

    @work(thread=True, group="results-action", exit_on_error=False, description="link the resubmitted job")
    def _link_worker(self, path: Path) -> None:
        from gembatch_tui.core.resubmit import link_resubmits
        from gembatch_tui.messages import StoreChanged

        linked = link_resubmits(self.app.store, path, self.record)  # type: ignore[attr-defined]
        if linked:
            self.app.post_message(StoreChanged("resubmit linked"))
            self.post_message(ResultsActionFinished(f"{path.name}: the new job is linked to this one"))


__all__ = ["PAGE_SIZE", "ResultsScreen", "render_detail", "row_cells"]
