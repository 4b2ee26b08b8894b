"""The dashboard's A and H: A archives a finished row (it goes, the view line says how many are hidden), H shows
archived jobs again and the filter finds them; A on a running row says why on the event line."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.core.models import is_archived
from tests.pilot_support import screen_text, wait_for
from tests.tui.tui_helpers import loaded
from tests.tui_shell.shell_helpers import sample_app

SUCCEEDED_ROW = 4  # faq-answers.jsonl (batches/job0010), by created time
RUNNING_ROW = 3


def _names(app) -> list[str]:  # noqa: ANN001
    view = app.screen.view
    return [row.key for row in view.rows] if view is not None else []


async def test_a_archives_a_finished_row_and_h_shows_it_again(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        total = len(_names(app))
        await pilot.press(*["down"] * SUCCEEDED_ROW)
        await wait_for(pilot, lambda: app.screen.table.selected_key == "rec0010", what="the faq row")
        await pilot.press("A")
        await wait_for(pilot, lambda: "rec0010" not in _names(app), what="the archived row to go")
        assert len(_names(app)) == total - 1
        assert is_archived(app.store.get("rec0010") or {})
        await wait_for(pilot, lambda: "1 archived hidden · H shows" in screen_text(app), what="the view line")
        assert "Archived" in screen_text(app)  # the event line

        await pilot.press("H")
        await wait_for(pilot, lambda: "rec0010" in _names(app), what="H shows archived jobs")
        assert "archived hidden" not in screen_text(app)
        marked = [line for line in screen_text(app).splitlines() if " archived" in line and "faq" in line]
        assert marked, screen_text(app)  # the row says it is archived (A on it unarchives)
        await pilot.press("slash", *"archived", "enter")
        await wait_for(pilot, lambda: _names(app) == ["rec0010"], what="the filter finds the archived job")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(_names(app)) == total, what="filter cleared")

        await pilot.press("H")
        await wait_for(pilot, lambda: "rec0010" not in _names(app), what="H hides them again")


async def test_a_on_a_running_row_says_why(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await pilot.press(*["down"] * RUNNING_ROW)
        await wait_for(pilot, lambda: app.screen.table.cursor_row == RUNNING_ROW)
        await pilot.press("A")
        await wait_for(pilot, lambda: "only finished jobs can be archived" in screen_text(app), what="the reason")
        assert not any(is_archived(r) for r in app.store.read_all())


def _group_app(tmp_path: Path, *, finished: bool):  # noqa: ANN202
    from gembatch_tui.core.config import Settings
    from gembatch_tui.core.store import JobStore
    from gembatch_tui.tui.app import make_app
    from tests.tui.sample_data import fixed_clock, group_records, write_store
    from tests.tui.tui_helpers import offline_service

    records = group_records()
    if finished:
        records[1]["batch"]["state"] = "JOB_STATE_FAILED"
        records[2]["local_state"] = "cancelled"
    store = JobStore(write_store(tmp_path / "store" / "jobs.jsonl", records))
    return make_app(Settings(store_path=store.path, bell=False), store=store, service=offline_service(store),
                    clock=fixed_clock, poll=False)


async def test_a_on_a_group_row_archives_every_part_once_all_finished(tmp_path: Path) -> None:
    app = _group_app(tmp_path / "running", finished=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await pilot.press("A")
        await wait_for(pilot, lambda: "parts have all finished" in screen_text(app), what="the group's reason")
        assert not any(is_archived(r) for r in app.store.read_all())

    app = _group_app(tmp_path / "finished", finished=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await pilot.press("A")
        await wait_for(pilot, lambda: all(is_archived(r) for r in app.store.read_all()), what="every part archived")
        await wait_for(pilot, lambda: "Every job here is archived (1). Press H" in screen_text(app), what="empty text")
        await pilot.press("H")
        await wait_for(pilot, lambda: len(_names(app)) == 1, what="the group row is back")
        await pilot.press("A")  # on an archived group: unarchive every part
        await wait_for(pilot, lambda: not any(is_archived(r) for r in app.store.read_all()), what="unarchived")
