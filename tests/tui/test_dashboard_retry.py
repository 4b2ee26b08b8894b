"""R on the dashboard: on a split input's group row it queues every failed part again; on a part row, that part."""

from __future__ import annotations

from pathlib import Path

from tests.tui.test_detail_retry import GID, _app
from tests.tui.tui_helpers import footer_keys, loaded, wait_for

from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.groups import group_key


async def test_r_on_a_group_row_queues_its_failed_parts(tmp_path: Path) -> None:
    app, store = _app(tmp_path)
    part1 = Path((store.get("p1") or {})["input_file"])
    part1.write_text('{"key": "k0", "request": {}}\n')  # both failed parts can be retried
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, loaded(app, 2), what="the group row and the plain job")
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.table.selected_key == group_key(GID), what="the group row selected")
        await wait_for(pilot, lambda: "R" in footer_keys(app), what="R in the footer")
        await pilot.press("R")
        await wait_for(pilot, lambda: all((store.get(k) or {}).get("local_state") == "queued" for k in ("p1", "p2")),
                       what="both failed parts queued")
        assert (store.get("p3") or {})["batch"]["state"] == "JOB_STATE_RUNNING"  # the running part is left alone
        await wait_for(pilot, lambda: any(f"retried part 1/3 of group {GID}" in str(n.message)
                                          and "retried part 2/3" in str(n.message) for n in app._notifications),
                       what="one notification naming both parts")
        await wait_for(pilot, lambda: "R" not in footer_keys(app), what="R gone: nothing left to retry")


async def test_no_r_on_a_job_that_was_never_split(tmp_path: Path) -> None:
    app, store = _app(tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, loaded(app, 2))
        dash = app.screen
        await pilot.press("down")
        await wait_for(pilot, lambda: dash.table.selected_key == "plain", what="the plain failed job selected")
        assert dash.check_action("retry_parts", ()) is False and "R" not in footer_keys(app)
        await pilot.press("R")
        await pilot.pause()
        assert (store.get("plain") or {})["batch"]["state"] == "JOB_STATE_FAILED"
        assert "previous_attempts" not in (store.get("plain") or {})
