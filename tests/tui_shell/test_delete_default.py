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
