"""Provides UsageScreen (`u` on the dashboard, "Usage and cost" in the palette): tokens and cost of every job,
and the store's total, as `gembatch-tui usage` prints them.

Why a screen: the dashboard's top line has room for the total only on wide terminals; here the total comes
first and wraps at 80 columns, then one row per job (the most expensive first). Nothing is read from results
files here: the figures are the usage recorded in the store (the app counts results saved without it after
the first load, and the results browser records what it counts), summed in a worker with the config's prices.
Unknown usage is never shown as zero: such a job reads "usage unknown" and the total becomes a lower bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from gembatch_tui.core.counts import counted
from gembatch_tui.core.models import Record, display_name, record_key
from gembatch_tui.core.results import ledger
from gembatch_tui.tui.widgets.safe_text import safe_text
from gembatch_tui.tui.widgets.usage_summary import UsageSummary, compact
from gembatch_tui.tui.worker_failures import WorkerFailures

if TYPE_CHECKING:
    from gembatch_tui.tui.host import AppHost

COLUMNS: list[tuple[str, str, int | None]] = [
    ("name", "Job", None),
    ("model", "Model", 16),
    ("in", "In", 7),
    ("out", "Out", 7),
    ("think", "Think", 7),  # apart from Out, as on the summary line and in `usage`; both are billed as output
    ("cost", "Cost", 10),
]
RIGHT = {"in", "out", "think", "cost"}
NOTES_FROM = 110
"""Terminal widths from this many cells up show a Notes column (unpriced model, responses without usage...)."""


class UsageComputed(Message):
    """The worker summed the records' usage (`error`: why the price table could not be read)."""

    def __init__(self, totals: ledger.Totals, records: dict[str, Record], error: str = "") -> None:
        super().__init__()
        self.totals, self.records, self.error = totals, records, error


class UsageScreen(WorkerFailures, Screen[None]):
    """The store's usage and cost, per job; enter opens the job, escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="usage.back"),
        Binding("q", "back", "Back", show=False, id="usage.back_q"),
        Binding("j", "move(1)", "Down", show=False, id="usage.down"),
        Binding("k", "move(-1)", "Up", show=False, id="usage.up"),
        Binding("g", "move(-1000000)", "First", show=False, id="usage.first"),
        Binding("G", "move(1000000)", "Last", show=False, id="usage.last"),
    ]

    DEFAULT_CSS = """
    UsageScreen {
        #usage-total { height: auto; padding: 0 1; }
        #usage-note { height: auto; padding: 0 1; color: $text-muted; }
        #usage-table { height: 1fr; scrollbar-size-vertical: 1; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.totals: ledger.Totals | None = None
        """The figures on show (None until the first sum)."""
        self._gen = 0
        self._width = 0

    @property
    def gapp(self) -> AppHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Label("Usage and cost", id="title")
        yield UsageSummary(id="usage-total")
        yield Static("", id="usage-note", markup=False)
        yield DataTable(id="usage-table", cursor_type="row", zebra_stripes=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#usage-total", UsageSummary).update(Text("Counting…", style="dim", end=""))
        self.gapp.jobs_changed.subscribe(self, lambda _records: self.recompute())
        self.recompute()

    def recompute(self) -> None:
        self._gen += 1
        self._sum_worker(self._gen, list(self.gapp.records))

    @work(thread=True, exclusive=True, group="usage", exit_on_error=False, description="sum the usage")
    def _sum_worker(self, gen: int, records: list[Record]) -> None:
        from gembatch_tui.core.api.pricing import ConfigError, load_price_table

        error = ""
        try:
            prices = load_price_table(getattr(self.gapp.settings, "config_path", None))
        except ConfigError as exc:
            prices, error = None, f"{exc}; default prices used"
        totals = ledger.store_totals(records, prices)
        if gen == self._gen:
            self.post_message(UsageComputed(totals, {record_key(r): r for r in records}, error))

    def on_usage_computed(self, message: UsageComputed) -> None:
        self.totals = totals = message.totals
        self.query_one("#usage-total", UsageSummary).show_totals(totals, label=f"{counted(totals.jobs, 'job')}:")
        note = f"cost at {totals.prices_text()}; cached tokens are charged at the input price"
        if message.error:
            note = f"{message.error}. {note}"
        self.query_one("#usage-note", Static).update(Text(note, end=""))
        self._fill(totals, message.records)

    def on_resize(self) -> None:
        if self.totals is not None and self._columns_for(self.size.width) != self._columns_for(self._width):
            self._fill(self.totals, {line.key: line.record for line in self.totals.per_job})

    @staticmethod
    def _columns_for(width: int) -> list[tuple[str, str, int | None]]:
        return COLUMNS + [("notes", "Notes", 30)] if width >= NOTES_FROM else COLUMNS

    def _fill(self, totals: ledger.Totals, records: dict[str, Record]) -> None:
        table = self.query_one("#usage-table", DataTable)
        self._width = width = self.size.width
        columns = self._columns_for(width)
        fixed = sum((w or 0) + 2 for _, _, w in columns)
        selected = None
        if table.row_count and table.cursor_row >= 0:
            try:
                selected = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
            except Exception:  # noqa: BLE001 - no row under the cursor: start at the top
                selected = None
        table.clear(columns=True)
        for key, label, w in columns:
            header = Text(label, justify="right" if key in RIGHT else "left", end="")
            table.add_column(header, width=w if w is not None else max(10, width - fixed - 3), key=key)
        lines = sorted(totals.per_job, key=lambda line: (line.cost is None, -(line.cost or 0.0)))
        for line in lines:
            u = line.usage
            notes = u.flags_text() or ("unpriced model" if line.cost is None else "") or (
                "real-time: interactive prices" if line.interactive else "")
            cells = {
                "name": safe_text(display_name(line.record)),
                "model": safe_text((line.model or "—").replace("models/", "")),
                "in": Text(compact(u.prompt), justify="right", end=""),
                "out": Text(compact(u.output), justify="right", end=""),
                "think": Text(compact(u.thinking), justify="right", end=""),
                "cost": Text(ledger.cost_text(line.cost, u.complete), justify="right", end="",
                             style="" if line.cost is not None and u.complete else "yellow"),
                "notes": Text(notes, style="yellow", end=""),
            }
            table.add_row(*(cells[c] for c, _, _ in columns), key=line.key)
        for key in totals.unknown_jobs:
            rec = records.get(key)
            if rec is None:
                continue
            cells = {"name": safe_text(display_name(rec)), "model": Text("—", end=""),
                     "in": Text("?", justify="right", end=""),
                     "out": Text("?", justify="right", end=""),
                     "think": Text("?", justify="right", end=""),
                     "cost": Text("unknown", style="yellow", justify="right", end=""),
                     "notes": Text("usage unknown: open its results (v) to count it", style="yellow", end="")}
            table.add_row(*(cells[c] for c, _, _ in columns), key=key)
        if not table.row_count:
            self.query_one("#usage-note", Static).update(
                Text("No job has results yet: usage is counted from saved results.", style="dim", end=""))
        if selected is not None:
            try:
                table.move_cursor(row=table.get_row_index(selected))
            except Exception:  # noqa: BLE001 - the job left the list
                pass
        table.focus()

    def action_back(self) -> None:
        self.dismiss()

    def action_move(self, step: int) -> None:
        table = self.query_one("#usage-table", DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    @on(DataTable.RowSelected, "#usage-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        from gembatch_tui.tui.dashboard.detail import DetailScreen

        key = event.row_key.value
        if key and self.gapp.record(key) is not None:
            self.app.push_screen(DetailScreen(key))


__all__ = ["UsageComputed", "UsageScreen"]
