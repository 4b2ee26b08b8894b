"""After a submit the dashboard's cursor lands on the new job (issue 15, point 13): through the real submit screen,
against the emulator, at 80x24."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.tui.tui_helpers import loaded, wait_for
from tests.tui_submit.submit_helpers import highlight, submit_screen

from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.table import JobTable
from gembatch_tui.tui.submit.confirm import ConfirmSubmit


def older_file(folder: Path, name: str) -> Path:
    path = folder / name
    line = '{"key": "a", "request": {"contents": [{"parts": [{"text": "%s"}]}]}}\n' % name
    path.write_text(line, encoding="utf-8")
    return path


async def test_cursor_lands_on_the_job_just_submitted(service: BatchService, store: JobStore, settings: Settings,
                                                      batch_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = batch_file.parent.parent / "older"
    other.mkdir()
    for name in ("one.jsonl", "two.jsonl"):
        assert service.submit(older_file(other, name), model="gemini-2.5-flash").status == "submitted"
    monkeypatch.chdir(batch_file.parent)  # the submit screen opens in the current folder
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 2))
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        table = dash.query_one(JobTable)
        await pilot.press("G")  # the cursor on the last of the two older jobs
        await wait_for(pilot, lambda: table.cursor_row == 1)
        before = table.selected_key
        await pilot.press("s")
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, batch_file.name)
        await pilot.press("space", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen and not screen.running, timeout=20, what="the submit")
        new_key = next(r["id"] for r in store.read_all() if Path(str(r.get("input_file"))).name == batch_file.name)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dash and table.row_count == 3)
        await wait_for(pilot, lambda: table.selected_key == new_key, what="the cursor on the new job")
        assert before != new_key
        # it landed once: the cursor is the user's again (a later reload does not move it back)
        await pilot.press("k" if table.cursor_row > 0 else "j")
        moved = table.selected_key
        assert moved != new_key
        app.load_jobs()
        await wait_for(pilot, loaded(app, 3))
        await pilot.pause(0.2)
        assert table.selected_key == moved
