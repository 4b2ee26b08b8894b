"""F1 opens the current screen's keys first; q and escape go back on every screen and quit only from the
dashboard; the footer at 80x24 shows what the highlighted row can do, and a key that does not apply says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.event_log import EventsScreen
from gembatch_tui.tui.help import HelpScreen, help_sections
from gembatch_tui.tui.results.screen import ResultsScreen
from tests.pilot_support import screen_text, wait_for
from tests.tui.tui_helpers import footer_keys, loaded
from tests.tui_shell.shell_helpers import sample_app

SUCCEEDED_ROW = 4  # faq-answers.jsonl (batches/job0010), by created time
RUNNING_ROW = 3


async def _to_row(pilot, app, n: int) -> None:  # noqa: ANN001
    await pilot.press(*["down"] * n)
    await wait_for(pilot, lambda: app.screen.table.cursor_row == n, what=f"row {n}")


def test_help_puts_the_given_screens_section_first() -> None:
    assert help_sections(DetailScreen)[0][0] == "Job details"
    assert help_sections(EventsScreen)[0][0] == "Event log (E)"
    assert help_sections()[0][0] == "Dashboard"


@pytest.mark.parametrize("key", ["escape", "q"])
async def test_q_and_escape_go_back_everywhere_but_the_dashboard(tmp_path: Path, key: str) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await _to_row(pilot, app, SUCCEEDED_ROW)
        for opener, screen_cls in (("enter", DetailScreen), ("v", ResultsScreen), ("E", EventsScreen),
                                   ("f1", HelpScreen)):
            await pilot.press(opener)
            await wait_for(pilot, lambda cls=screen_cls: isinstance(app.screen, cls), what=screen_cls.__name__)
            if opener == "f1":
                assert "Dashboard" in screen_text(app).split("Job details")[0]
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back on the dashboard")
            assert app.return_code is None


async def test_f1_on_the_detail_screen_shows_its_keys_first(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert "Job details" in text and "Dashboard" not in text.split("Job details")[0]


async def test_footer_shows_v_and_b_on_a_succeeded_row_and_reasons_for_the_rest(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await _to_row(pilot, app, SUCCEEDED_ROW)
        await wait_for(pilot, lambda: {"v", "b", "d", "t", "q"} <= footer_keys(app), what="the row's keys")
        assert "c" not in footer_keys(app)
        footer = screen_text(app).splitlines()[-1]
        assert "v Results" in footer and "b Remote" in footer and "q Quit" in footer and "f1 Help" in footer
        await pilot.press("c")
        await wait_for(pilot, lambda: "No cancel: succeeded: already finished" in screen_text(app), what="reason")
        await pilot.press("up")
        await wait_for(pilot, lambda: app.screen.table.cursor_row == RUNNING_ROW)
        await wait_for(pilot, lambda: "c" in footer_keys(app) and "v" not in footer_keys(app), what="running keys")
        await pilot.press("d")
        await wait_for(pilot, lambda: "No delete: running: cancel it first (c)" in screen_text(app), what="reason")
        await pilot.press("v")
        await wait_for(pilot, lambda: "No results: running: no results until it succeeds" in screen_text(app))
        assert isinstance(app.screen, DashboardScreen) and not app._notifications


def test_footer_snapshot_on_a_succeeded_row(tmp_path: Path, snap_compare) -> None:  # noqa: ANN001
    """Finished jobs only (their durations do not tick), the first one succeeded: the footer shows v and b, the
    event line the latest of two jobs that finished, and no toast covers anything."""
    app = sample_app(tmp_path, final_only=True)

    async def run_before(pilot) -> None:  # noqa: ANN001
        await wait_for(pilot, loaded(app))
        await wait_for(pilot, lambda: "v" in footer_keys(app), what="the succeeded row's keys")
        from gembatch_tui.core.poll.poller import PollReport, StateChange

        app._announce(PollReport(changes=[
            StateChange("a", "batches/a", "alpha.jsonl", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"),
            StateChange("b", "batches/b", "beta.jsonl", "JOB_STATE_RUNNING", "JOB_STATE_FAILED"),
        ]))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
