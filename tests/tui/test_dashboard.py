"""Dashboard behaviour on fixed data (no server): rows, filter, sort, caps, which keys apply, help."""

from __future__ import annotations

from pathlib import Path

from tests.tui.sample_data import fixed_clock, many_records, write_store
from tests.tui.tui_helpers import footer_keys, loaded, offline_service, screen_text, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.help import HelpScreen
from gembatch_tui.tui.dashboard.rows import MAX_ROWS
from gembatch_tui.tui.dashboard.table import JobTable


def app_for(store: JobStore, *, service: bool = True):  # noqa: ANN201
    settings = Settings(store_path=store.path, bell=False)
    return make_app(settings, store=store, service=offline_service(store) if service else None,
                    clock=fixed_clock, poll=False)


def table(app) -> JobTable:  # noqa: ANN001
    return app.screen.query_one(JobTable)


async def test_every_state_has_its_symbol(sample_store: JobStore) -> None:
    app = app_for(sample_store)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, 11))
        text = screen_text(app)
        for word in ("▶ running", "◌ pending", "✔ succeeded", "✖ failed", "⊘ cancelled", "◷ expired",
                     "↑ submitting", "✖ not sent", "? unknown"):
            assert word in text, word
        # progress, failed count, request count, results column
        assert "317/500 ✖3" in text.replace("320/500", "317/500") or "320/500 ✖3" in text
        assert "5,000/5,000" in text and "saved" in text and "pending" in text and "error" in text
        assert "11 jobs" in text


async def test_filter_by_text_and_state(sample_store: JobStore) -> None:
    app = app_for(sample_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, loaded(app, 11))
        await pilot.press("slash")
        await pilot.press(*"state:running")
        await pilot.press("enter")
        await wait_for(pilot, loaded(app, 1), what="one running job")
        assert table(app).shown_keys == ["rec0001"]
        assert "1 of 11 jobs match" in screen_text(app)
        # escape clears the filter
        await pilot.press("escape")
        await wait_for(pilot, loaded(app, 11))
        await pilot.press("slash", *"digest", "enter")
        await wait_for(pilot, loaded(app, 1))
        assert table(app).shown_keys == ["rec0006"]
        await pilot.press("escape")
        await wait_for(pilot, loaded(app, 11))
        # t cycles the state preset: active = pending, running, submitting
        await pilot.press("t")
        await wait_for(pilot, loaded(app, 3))
        assert set(table(app).shown_keys) == {"rec0001", "rec0002", "rec0008"}
        assert "state: active" in screen_text(app)


async def test_sort_cycles_and_keeps_the_cursor_on_its_job(sample_store: JobStore) -> None:
    app = app_for(sample_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, loaded(app, 11))
        newest_first = table(app).shown_keys
        assert newest_first[0] == "rec0008"  # submitted 12 s ago
        await pilot.press("j", "j")
        chosen = table(app).selected_key
        await pilot.press("o")  # sort by name
        await wait_for(pilot, lambda: table(app).shown_keys != newest_first)
        names = [app.record(k)["display_name"] for k in table(app).shown_keys]
        assert names == sorted(names, key=str.lower)
        assert table(app).selected_key == chosen
        assert "sort: name ↑" in screen_text(app)
        await pilot.press("O")
        await wait_for(pilot, lambda: [app.record(k)["display_name"] for k in table(app).shown_keys] == names[::-1])
        await pilot.press("g")
        assert table(app).cursor_row == 0
        await pilot.press("G")
        assert table(app).cursor_row == 10


async def test_actions_only_where_they_apply(sample_store: JobStore) -> None:
    app = app_for(sample_store)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, 11))
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        t = table(app)
        seen = {}
        for _ in range(t.row_count):
            key = t.selected_key
            seen[key] = (
                dash.check_action("cancel_job", ()),
                dash.check_action("delete_job", ()),
                "c" in footer_keys(app),
                "d" in footer_keys(app),
            )
            await pilot.press("down")
            await pilot.pause()
        assert seen["rec0001"] == (True, False, True, False)  # running: cancel only
        assert seen["rec0002"] == (True, False, True, False)  # pending
        assert seen["rec0008"] == (False, False, False, False)  # still submitting: neither
        for final in ("rec0003", "rec0004", "rec0005", "rec0006", "rec0007", "rec0009"):
            assert seen[final] == (False, True, False, True), final


async def test_no_service_hides_remote_actions(sample_store: JobStore) -> None:
    app = app_for(sample_store, service=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, loaded(app, 11))
        await wait_for(pilot, lambda: {"enter", "slash", "t", "q"} <= footer_keys(app), what="the footer")
        assert not {"c", "d", "r", "s", "b"} & footer_keys(app)
        assert "offline" in screen_text(app)


async def test_detail_and_help_screens(sample_store: JobStore) -> None:
    app = app_for(sample_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, loaded(app, 11))
        t = table(app)
        t.move_cursor(row=t.get_row_index("rec0005"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        text = screen_text(app)
        assert "product-descriptions.jsonl" in text and "batches/job0005" in text
        assert "contents must not be empty" in text  # the last error
        assert "Timeline" in text and "created" in text and "ended" in text
        assert "d" in footer_keys(app) and "c" not in footer_keys(app)
        await pilot.press("G")  # all recorded fields at the end
        assert "uploaded_file_name" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for word in ("Cancel the selected", "Filter by text", "First job", "Expand or collapse a split job's parts"):
            assert word in text, word
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        assert isinstance(app.screen, DashboardScreen)


async def test_ten_thousand_jobs_are_capped(tmp_path: Path) -> None:
    store = JobStore(write_store(tmp_path / "big" / "jobs.jsonl", many_records(10_000)))
    app = app_for(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, loaded(app, MAX_ROWS), timeout=30)
        text = screen_text(app)
        assert f"showing {MAX_ROWS:,} of 10,000; filter to narrow" in text
        assert "10,000 jobs" in text
        # the newest are shown first
        assert table(app).shown_keys[0] == "rec109999"
        await pilot.press("slash", *"bulk-0000", "enter")
        await wait_for(pilot, loaded(app, 10), timeout=30)
        assert "showing" not in screen_text(app)


async def test_quit_key(sample_store: JobStore) -> None:
    app = app_for(sample_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 11))
        await pilot.press("q")
    assert app.return_code == 0
