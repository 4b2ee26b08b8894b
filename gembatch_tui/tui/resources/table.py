"""Provides the resources screen's tables: columns for 80 and 120+ cells, and the cells of each row.

Server text becomes `rich.text.Text` through `safe_text`, so brackets and escape sequences show literally.
Columns have fixed widths chosen from the table's width; a rebuild happens only when that layout or the
rows change, and selecting a row only rewrites its mark cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from gembatch_tui.core.text import format_bytes
from gembatch_tui.core.models import short_state
from gembatch_tui.core.cleanup.flags import (
    ACTIVE,
    EXPIRING,
    FLAGS,
    MAX_CONCURRENT_JOBS,
    ORPHAN,
    PROTECTED,
    SAFE,
    FileRow,
    Row,
    Summary,
)
from gembatch_tui.tui.widgets.safe_text import safe_text

MAX_ROWS = 1000
"""At most this many rows per tab are shown (a filter narrows a bigger listing)."""
WIDE_FROM = 110
FILTERS: list[str | None] = [None, ACTIVE, PROTECTED, SAFE, ORPHAN, EXPIRING]
LOOKS = {ACTIVE: ("active", "bold cyan"), PROTECTED: ("protected", "bold yellow"), SAFE: ("safe", "green"),
         ORPHAN: ("orphan", "magenta"), "failed": ("✖ failed", "bold red")}
# (key, header, width; None = the flexible display-name column, headed "Name" where it is narrow: at 80 columns
# "Display name" was cut to "Display n")
FILE_COLUMNS = {
    False: [("sel", "", 1), ("status", "Status", 9), ("name", "File", 12), ("display", "Name", None),
            ("size", "Size", 8), ("expires", "Expires", 7), ("source", "Src", 3), ("job", "Used by", 12)],
    True: [("sel", "", 1), ("status", "Status", 9), ("name", "File", 18), ("display", "Display name", None),
           ("size", "Size", 8), ("created", "Age", 8), ("expires", "Expires", 7), ("state", "State", 6),
           ("source", "Src", 3), ("job", "Used by", 16)],
}
BATCH_COLUMNS = {
    False: [("sel", "", 1), ("status", "Status", 9), ("name", "Job", 12), ("display", "Name", None),
            ("model", "Model", 10), ("state", "State", 9), ("created", "Age", 7), ("store", "Local", 5)],
    True: [("sel", "", 1), ("status", "Status", 9), ("name", "Job", 20), ("display", "Display name", None),
           ("model", "Model", 18), ("state", "State", 9), ("created", "Created", 16), ("store", "Local", 8)],
}


# ----------------------------------------------------------------------------- words
def format_span(delta: timedelta) -> str:
    """`45s`, `12m`, `5h 10m`, `3d 4h`: at most two units."""
    s = int(max(0, delta.total_seconds()))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h {m:02d}m" if h < 10 and m else f"{h}h"
    d, h = divmod(s // 3600, 24)
    return f"{d}d {h}h" if h else f"{d}d"


def expires_in(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    if when <= now:
        return "expired"
    return format_span(when - now)


def age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    return format_span(now - when) + " ago"


def summary_texts(s: Summary, active_filter: str | None) -> tuple[Text, Text]:
    """(storage and job quota line, counts per flag line; the filtered flag in reverse)."""
    pct = 100 * s.bytes_used / s.quota_bytes if s.quota_bytes else 0.0
    usage = Text(end="", no_wrap=True, overflow="ellipsis")
    usage.append(format_bytes(s.bytes_used), style="bold red" if pct >= 90 else "bold yellow" if pct >= 75 else "bold")
    usage.append(f" of {format_bytes(s.quota_bytes)} ({pct:.1f}%) · {s.active_jobs} of {MAX_CONCURRENT_JOBS} jobs active")
    counts = Text(end="", no_wrap=True, overflow="ellipsis")
    for i, flag in enumerate(FLAGS):
        counts.append(" · " if i else "")
        counts.append(str(s.counts.get(flag, 0)), style="bold")
        counts.append(f" {flag}", style="reverse" if flag == active_filter else "")
    return usage, counts


@dataclass(frozen=True)
class _Cell:
    text: str
    style: str = ""
    right: bool = False


# ----------------------------------------------------------------------------- the table
class ResourceTable(DataTable[Text]):
    """Rows of one tab, keyed by resource name; selecting a row only rewrites its mark cell."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="resources.down"),
        Binding("k", "cursor_up", "Up", show=False, id="resources.up"),
        Binding("g", "scroll_top", "First", show=False, id="resources.first"),
        Binding("G", "scroll_bottom", "Last", show=False, id="resources.last"),
    ]

    def __init__(self, kind: str, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", cell_padding=1)
        self.kind = kind
        """"files" or "batches": which columns this table has."""
        self.rows_shown: list[Row] = []
        """The rows as shown, in table order."""
        self._state: tuple[Any, set[str], dict[str, str]] = (None, set(), {})
        self._layout: tuple[bool, int] | None = None
        """(wide, display-name width) the columns were built for; None until the table has a size."""

    def columns_for(self, wide: bool) -> list[tuple[str, str, int | None]]:
        return (FILE_COLUMNS if self.kind == "files" else BATCH_COLUMNS)[wide]

    def on_resize(self) -> None:
        width = self.size.width
        if width <= 0:
            return
        wide = width >= WIDE_FROM
        fixed = sum((w or 0) + 2 for _, _, w in self.columns_for(wide))
        layout = (wide, max(8, width - 1 - fixed - 2))
        if layout != self._layout:
            self._layout = layout
            self._rebuild()

    def show(self, rows: list[Row], now: Any, selected: set[str], failed: dict[str, str]) -> None:
        """Show `rows` (in this order) as of `now`, with their selection marks and failures."""
        self.rows_shown = rows
        self._state = (now, selected, failed)
        if self._layout is not None:
            self._rebuild()

    def _rebuild(self) -> None:
        assert self._layout is not None
        wide, flex = self._layout
        now, selected, failed = self._state
        key, index = self.cursor_key(), self.cursor_row
        self.clear(columns=True)
        columns = self.columns_for(wide)
        for col, label, width in columns:
            self.add_column(label, width=width if width is not None else flex, key=col)
        for row in self.rows_shown:
            cells = row_cells(row, now, wide, row.name in selected, row.name in failed)
            self.add_row(*(cells[col] for col, _, _ in columns), key=row.name)
        if self.row_count:
            names = [r.name for r in self.rows_shown]
            target = names.index(key) if key in names else min(index, self.row_count - 1)
            self.move_cursor(row=target, scroll=True)

    def set_mark(self, name: str, on: bool) -> None:
        if self._layout is None or name not in {r.name for r in self.rows_shown}:
            return
        self.update_cell(name, "sel", Text("●" if on else " ", style="bold", end=""))

    def cursor_key(self) -> str | None:
        i = self.cursor_row
        return self.rows_shown[i].name if self.row_count and 0 <= i < len(self.rows_shown) else None

    def cursor_item(self) -> Row | None:
        i = self.cursor_row
        return self.rows_shown[i] if self.row_count and 0 <= i < len(self.rows_shown) else None


def _short_model(model: str) -> str:
    return model.removeprefix("models/").removeprefix("gemini-")


def _status(row: Row, failed: bool) -> _Cell:
    if failed:
        return _Cell(*LOOKS["failed"])
    for flag in (ACTIVE, PROTECTED, SAFE, ORPHAN):
        if flag in row.flags:
            return _Cell(*LOOKS[flag])
    return _Cell("-", "dim")


def short_bytes(n: int) -> str:
    """A size in the 8-wide Size column: `1.5MiB`, `137MiB`, never cut (format_bytes, compact)."""
    return format_bytes(n, compact=True)


def row_cells(row: Row, now: Any, wide: bool, selected: bool, failed: bool) -> dict[str, Text]:
    """Every cell of `row` (server text as inert `Text`)."""
    c: dict[str, _Cell | Text] = {"sel": _Cell("●" if selected else " ", "bold"), "status": _status(row, failed)}
    short = row.name.split("/", 1)[-1]
    c["name"] = safe_text(short if not wide or isinstance(row, FileRow) else row.name)
    c["display"] = safe_text(row.display_name or "-", "" if row.display_name else "dim")
    if isinstance(row, FileRow):
        c["size"] = _Cell(short_bytes(row.size_bytes), right=True)
        c["created"] = _Cell(age(row.created, now).replace(" ago", ""), right=True)
        c["expires"] = _Cell(expires_in(row.expires, now), "bold red" if EXPIRING in row.flags else "", True)
        c["state"] = _Cell(row.state.lower()[:6], "" if row.state in ("ACTIVE", "") else "yellow")
        c["source"] = _Cell({"uploaded": "up", "generated": "gen"}.get(row.source, row.source[:3] or "-"))
        if row.job_label:
            c["job"] = safe_text(row.job_label, "" if row.record_key else "dim")
        else:
            c["job"] = _Cell("-", "dim")
    else:
        c["model"] = safe_text(_short_model(row.model) or "-")
        c["state"] = _Cell(short_state(row.state).lower(), "bold cyan" if ACTIVE in row.flags else "")
        when = row.created.strftime("%Y-%m-%d %H:%M") if (wide and row.created) else age(row.created, now)
        c["created"] = _Cell(when.replace(" ago", ""), "bold red" if EXPIRING in row.flags else "", not wide)
        c["store"] = _Cell("yes" if row.in_store else "no", "" if row.in_store else "magenta")
    out: dict[str, Text] = {}
    for key, cell in c.items():
        if isinstance(cell, Text):
            out[key] = cell
        else:
            out[key] = Text(cell.text, style=cell.style, justify="right" if cell.right else "left", end="")
    return out
