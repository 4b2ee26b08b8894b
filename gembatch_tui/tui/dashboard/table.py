"""Provides JobTable: the dashboard's DataTable of jobs, updated in place by job key.

Why in place: a poll usually changes a few cells; clearing and refilling the table would move the
cursor, reset the scroll and repaint everything. Here rows are added, removed, re-ordered and their
changed cells updated by key (never `update_width`), and the cursor follows its job. Column widths are
fixed and computed from the terminal width, so no cell update ever re-measures a column.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnDoesNotExist, ColumnKey, RowDoesNotExist, RowKey

from gembatch_tui.tui.dashboard.cells import JobCell, JobRow, format_running
from gembatch_tui.tui.dashboard.groups import fit_name

# (column key, header, width or None for the flexible name column)
NARROW_COLUMNS: list[tuple[str, str, int | None]] = [
    ("state", "State", 12),
    ("name", "Name", None),
    ("progress", "Progress", 12),
    ("created", "Created", 7),
    ("duration", "Took", 6),
    ("results", "Results", 7),
]
WIDE_COLUMNS: list[tuple[str, str, int | None]] = [
    ("state", "State", 12),
    ("name", "Name", None),
    ("model", "Model", 16),
    ("progress", "Progress", 13),
    ("requests", "Reqs", 6),
    ("created_wide", "Created", 16),
    ("duration", "Took", 7),
    ("results", "Results", 7),
]
WIDE_FROM = 120
"""Terminal widths from this many cells up show the model, request count and full creation time."""
MIN_NAME = 10
MAX_NAME = 90
QUIET_MAX = 200
"""Up to this many changed cells are repainted one by one; more at once repaint the table once."""


def _same(a: Text, b: Text) -> bool:
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


def _same_tail(a: Text, b: Text) -> bool:
    ta, tb = getattr(a, "tail", None), getattr(b, "tail", None)
    return ta is tb or (ta is not None and tb is not None and _same(ta, tb))


class JobTable(DataTable[Text]):
    """One row per job, keyed by the store's record key; a group of parts is one row (`group:<id>`) that
    space (or enter, →, ←) expands to its parts' rows and collapses again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details", tooltip="Show every detail of the job (on a group: expand it)",
                id="table.details"),
        # Not in the footer: at 80 columns it would push out Quit and Help (enter on a group row expands it too).
        Binding("space", "toggle_group", "Parts", show=False, tooltip="Expand or collapse a split job's parts",
                id="table.toggle_group"),
        Binding("right", "expand_group", "Expand", show=False, tooltip="Show the parts of the group",
                id="table.expand_group"),
        Binding("left", "collapse_group", "Collapse", show=False, tooltip="Hide the parts (from a part too)",
                id="table.collapse_group"),
        # On a part row space collapses its group, without taking a place in the footer.
        Binding("space", "collapse_group", "Collapse", show=False, tooltip="Hide the parts (from a part too)",
                id="table.collapse_from_part"),
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "First job", show=False, id="table.first"),
        Binding("G", "scroll_bottom", "Last job", show=False, id="table.last"),
    ]

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=1)
        self._rows: list[JobRow] = []
        """The rows as shown, in table order."""
        self._by_key: dict[str, JobRow] = {}
        self._layout: tuple[tuple[str, ...], int] | None = None
        """(column keys, name width) the columns were built for; None until the table has a size."""

    class GroupToggled(Message):
        """The user asked to expand (True), collapse (False) or toggle (None) the parts of group `group_id`."""

        def __init__(self, group_id: str, expand: bool | None) -> None:
            super().__init__()
            self.group_id, self.expand = group_id, expand

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor":
            return self.row_count > 0
        if action in ("toggle_group", "expand_group", "collapse_group"):
            row = self.selected_row
            if row is None or row.group is None:
                return False
            if action == "toggle_group":
                return row.is_group
            if action == "expand_group":
                return row.is_group and not row.expanded
            if action == "collapse_group":
                return not row.is_group or row.expanded
        return True

    def action_toggle_group(self) -> None:
        self._post_toggle(None)

    def action_expand_group(self) -> None:
        self._post_toggle(True)

    def action_collapse_group(self) -> None:
        self._post_toggle(False)

    def _post_toggle(self, expand: bool | None) -> None:
        row = self.selected_row
        if row is not None and row.group is not None:
            self.post_message(self.GroupToggled(row.group, expand))

    # ----------------------------------------------------------------- reading
    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        except CellDoesNotExist:
            return None
        return row_key.value

    @property
    def selected_row(self) -> JobRow | None:
        """The row under the cursor, as last shown."""
        key = self.selected_key
        return self._by_key.get(key) if key else None

    @property
    def shown_keys(self) -> list[str]:
        return [row.key.value or "" for row in self.ordered_rows]

    @property
    def rows_shown(self) -> list[JobRow]:
        """The rows the table was last given (`show`), in order."""
        return list(self._rows)

    def column_keys(self) -> tuple[str, ...]:
        return self._layout[0] if self._layout else ()

    # ----------------------------------------------------------------- layout
    def on_resize(self) -> None:
        self.fit_columns(self.size.width)

    def fit_columns(self, width: int) -> None:
        """Choose the column set and name width for `width` cells; rebuild the columns if they change."""
        if width <= 0:
            return
        spec = WIDE_COLUMNS if width >= WIDE_FROM else NARROW_COLUMNS
        fixed = sum((w or 0) + 2 * self.cell_padding for _, _, w in spec)
        name_width = max(MIN_NAME, min(MAX_NAME, width - 1 - fixed - 2 * self.cell_padding))
        layout = (tuple(key for key, _, _ in spec), name_width)
        if layout == self._layout:
            return
        selected = self.selected_key
        self._layout = layout
        self.clear(columns=True)
        for key, label, w in spec:
            self.add_column(label, width=w if w is not None else name_width, key=key)
        self._add(self._rows)
        self._select(selected, self.cursor_row, scroll=True)

    # ----------------------------------------------------------------- updating
    def show(self, rows: list[JobRow], select: str | None = None, *, reveal: bool = False) -> None:
        """Make the table show `rows` in this order, changing only what differs; the cursor stays on its row
        (or moves to `select`, when that row is shown; `reveal` scrolls it into view)."""
        selected, index = self.selected_key, self.cursor_row
        if select is not None and any(r.key == select for r in rows):
            selected = select
        if self._layout is None:  # no size yet: fit_columns adds them
            self._rows, self._by_key = list(rows), {r.key: r for r in rows}
            return
        new_keys = {r.key for r in rows}
        removed = [k for k in self._by_key if k not in new_keys]
        added = [r for r in rows if r.key not in self._by_key]
        rebuilt = len(removed) + len(added) > max(64, len(rows) // 2)
        if rebuilt:  # mostly different rows (a new filter or sort): cheaper to start again
            self.clear()
            self._add(rows)
        else:
            for key in removed:
                try:
                    self.remove_row(key)
                except RowDoesNotExist:
                    pass
            self._add(added)
            columns = self.column_keys()
            changed: list[tuple[str, str, Text]] = []
            for row in rows:
                old = self._by_key.get(row.key)
                if old is None:
                    continue
                for col in columns:
                    if not _same(old.cells[col], row.cells[col]) or not _same_tail(old.cells[col], row.cells[col]):
                        changed.append((row.key, col, self._fitted(row, col)))
            self._update_cells(changed, quiet=not removed and not added)
            if self.shown_keys != [r.key for r in rows]:
                order = {r.key: i for i, r in enumerate(rows)}
                self.sort("name", key=lambda cell: order.get(getattr(cell, "job_key", ""), 0))
        self._rows, self._by_key = list(rows), {r.key: r for r in rows}
        self._select(selected, index, scroll=rebuilt or reveal)

    def refresh_durations(self, now: datetime) -> int:
        """Recompute the duration of running jobs; only cells whose text changed are touched."""
        changed = 0
        if "duration" not in self.column_keys():
            return 0
        updates: list[tuple[str, str, Text]] = []
        for row in self._rows:
            if not row.active or row.started is None:
                continue
            text = format_running(max(0.0, (now - row.started).total_seconds()))
            cell = row.cells["duration"]
            if cell.plain != text:
                row.cells["duration"] = Text(text, justify="right", end="")
                updates.append((row.key, "duration", row.cells["duration"]))
                changed += 1
        self._update_cells(updates, quiet=True)
        return changed

    def _update_cells(self, updates: list[tuple[str, str, Text]], *, quiet: bool) -> None:
        """Set cells by (row key, column key). `quiet`: repaint only those cells, not the whole table.

        Why: `DataTable.update_cell` repaints the whole table, ~7 KB on the wire at 80x24 for a one-cell change
        (docs: textual-measurements.md section 3), so a duration ticking on a running job cost a full frame.
        Textual has no public call for "this cell changed": the cell is set in the table's data, its render
        caches are invalidated (they are keyed by the update count, as update_cell does) and only the cell's
        region is refreshed (refresh_coordinate), which costs a few dozen bytes. Many changed cells at once, or
        rows added or removed, take the ordinary path (one repaint of the table for all of them)."""
        if not updates:
            return
        data = getattr(self, "_data", None)
        if not quiet or len(updates) > QUIET_MAX or not isinstance(data, dict):
            for row_key, col, value in updates:
                self.update_cell(row_key, col, value)
            return
        coordinates = []
        for row_key, col, value in updates:
            try:
                coordinate = Coordinate(self.get_row_index(row_key), self.get_column_index(col))
            except (RowDoesNotExist, ColumnDoesNotExist):
                continue
            cells = data.get(RowKey(row_key))
            if cells is None:
                continue
            cells[ColumnKey(col)] = value
            coordinates.append(coordinate)
        self._update_count += 1  # the render caches are keyed by it: nothing stale is drawn
        for coordinate in coordinates:
            self.refresh_coordinate(coordinate)

    def _add(self, rows: list[JobRow]) -> None:
        columns = self.column_keys()
        for row in rows:
            self.add_row(*(self._fitted(row, c) for c in columns), key=row.key)

    def _fitted(self, row: JobRow, column: str) -> Text:
        """The cell as drawn: a name with a tail (a group's "3 parts") is cut to the column so the tail shows."""
        cell = row.cells[column]
        if column == "name" and getattr(cell, "tail", None) is not None and self._layout is not None:
            return fit_name(cell, self._layout[1])
        return cell

    def _select(self, key: str | None, fallback_index: int, *, scroll: bool = False) -> None:
        """Put the cursor back on `key`'s row; `scroll` brings it into view (after a rebuild reset the scroll)."""
        if self.row_count == 0:
            return
        target = fallback_index
        if key is not None:
            try:
                target = self.get_row_index(key)
            except RowDoesNotExist:
                pass
        target = max(0, min(target, self.row_count - 1))
        if target != self.cursor_row:
            self.move_cursor(row=target, scroll=scroll)


__all__ = ["JobTable", "JobCell", "NARROW_COLUMNS", "WIDE_COLUMNS"]
