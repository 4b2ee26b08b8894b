"""One delete default in the TUI and the CLI: the local record goes when nothing remote is left to protect."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.tui.dialogs.delete import DeleteDialog
from tests.pilot_support import screen_text, wait_for
from tests.tui.tui_helpers import flat, loaded
from tests.tui_shell.shell_helpers import sample_app


async def test_d_y_on_a_not_sent_row_removes_its_record(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        table = app.screen.table
        table.move_cursor(row=table.get_row_index("rec0009"))  # broken-upload.jsonl: never sent
        await wait_for(pilot, lambda: table.cursor_row == table.get_row_index("rec0009"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), what="the delete dialog")
        plan = flat(screen_text(app)).split("Will delete:")[1]
        assert "local record rec0009" in plan  # ticked by default: nothing remote to protect
        await pilot.press("y")
        await wait_for(pilot, lambda: app.store.get("rec0009") is None, what="the record removed")


async def test_the_plan_scrolls_in_a_small_terminal_and_every_line_can_be_read(tmp_path: Path) -> None:
    """At 60x16 the plan is taller than the room: it scrolls from the keyboard (it has the focus), down to the
    y/n line, and the letters still toggle what goes."""
    from textual.containers import VerticalScroll

    app = sample_app(tmp_path)
    async with app.run_test(size=(60, 16)) as pilot:
        await wait_for(pilot, loaded(app))
        table = app.screen.table
        table.move_cursor(row=table.get_row_index("rec0003"))  # succeeded, results saved: every option applies
        await wait_for(pilot, lambda: table.cursor_row == table.get_row_index("rec0003"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), what="the delete dialog")
        scroll = app.screen.query_one(".dialog-scroll", VerticalScroll)
        await wait_for(pilot, lambda: scroll.max_scroll_y > 0, what="the plan to overflow")
        assert app.screen.focused is scroll
        assert "delete what is listed" not in flat(screen_text(app))
        await pilot.press("end")
        await wait_for(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, what="the end of the plan")
        assert "y delete what is listed" in flat(screen_text(app))
        await pilot.press("b")  # still a toggle: the remote job leaves the plan
        await wait_for(pilot, lambda: not app.screen.choice.remote_job, what="b to untick the job")
