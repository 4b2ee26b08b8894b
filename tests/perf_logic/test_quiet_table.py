"""JobTable repaints a ticking duration as one cell, not the whole table (issue 18: a whole-table repaint is ~7 KB
on the wire), and what it draws afterwards is the new text."""

from __future__ import annotations

from datetime import timedelta

from textual.app import App, ComposeResult

from gembatch_tui.tui.dashboard.cells import build_row
from gembatch_tui.tui.dashboard.table import JobTable

from tests.tui.sample_data import FIXED_NOW, sample_records


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield JobTable(id="jobs")


async def test_a_duration_tick_repaints_only_the_changed_cells() -> None:
    records = sample_records()
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(JobTable)
        table.show([build_row(r, FIXED_NOW) for r in records])
        await pilot.pause()
        running = next(row for row in table._rows if row.active and row.started is not None)
        before = table.get_cell(running.key, "duration").plain
        whole: list[object] = []
        regions: list[object] = []
        original = table.refresh

        def counting(*regions_arg: object, **kw: object):  # noqa: ANN202
            (regions if regions_arg else whole).append(regions_arg)
            return original(*regions_arg, **kw)

        table.refresh = counting  # type: ignore[method-assign]
        later = FIXED_NOW + timedelta(hours=5)
        changed = table.refresh_durations(later)
        await pilot.pause()
        after = table.get_cell(running.key, "duration").plain
        assert changed >= 1 and after != before
        assert regions and not whole
        table.refresh = original  # type: ignore[method-assign]
        shown = "\n".join("".join(seg.text for seg in strip) for strip in table.render_lines(table.region))
        assert after in shown
