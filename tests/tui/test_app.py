"""The app's plumbing: poll schedule and back-off rule, status line wording, palette, submit screen,
store-change messages, download progress, idle repaint rules."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.tui.sample_data import FIXED_NOW, fixed_clock
from tests.tui.tui_helpers import loaded, offline_service, screen_text, wait_for

from gembatch_tui.tui.app import DownloadProgressed, make_app, write_demo_requests
from gembatch_tui.core.config import Settings
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.messages import JobsSubmitted, StoreChanged
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.widgets.status_line import PollSchedule, StatusLine, coarse_wait


def test_backoff_doubles_up_to_five_minutes_and_resets() -> None:
    s = PollSchedule(interval=30)
    assert s.delay() == 30
    waits = []
    for _ in range(6):
        s.failed(FIXED_NOW, "boom")
        waits.append(s.delay())
    assert waits == [60, 120, 240, 300, 300, 300]
    s.succeeded(FIXED_NOW)
    assert s.delay() == 30 and s.failures == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "in a moment"), (4, "in ~10 s"), (11, "in ~20 s"), (30, "in ~30 s"), (89, "in ~90 s"), (100, "in ~2 min"),
     (300, "in ~5 min")],
)
def test_countdown_is_coarse(seconds: float, text: str) -> None:
    assert coarse_wait(seconds) == text


def test_status_wording() -> None:
    s = PollSchedule(interval=30)
    s.succeeded(FIXED_NOW)
    s.next_due = 100.0
    assert s.describe(now=75.0).plain == "polled 12:00:00 · next poll in ~30 s · r polls now"
    assert s.describe(now=81.0).plain == s.describe(now=89.0).plain  # a 5 s ticker repaints rarely
    s.failed(FIXED_NOW, "cannot reach the service (ConnectError)\ntraceback...")
    s.next_due = 160.0
    text = s.describe(now=100.0).plain
    assert text.startswith("✖ poll failed 1×, backing off: next try in ~60 s")
    assert "ConnectError" in text and "traceback" not in text


async def test_status_line_repaints_only_on_change(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    app = make_app(Settings(store_path=store.path), store=store, service=None, clock=fixed_clock, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        line = app.screen.query_one("#statusline", StatusLine)
        assert line.show("same") is True
        assert line.show("same") is False
        assert line.show("[b]markup[/b] \x1b[2J") is True
        await pilot.pause()
        assert "[b]markup[/b] \\x1b[2J" in screen_text(app)


async def test_store_changed_reloads_and_empty_store_says_what_to_do(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    app = make_app(Settings(store_path=store.path), store=store, service=None, clock=fixed_clock, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 0))
        assert "No jobs in the store yet" in screen_text(app)
        store.add({"input_file": "/data/a.jsonl", "count": 2, "batch": {"name": "batches/a", "state": "JOB_STATE_RUNNING"}})
        app.post_message(StoreChanged("test"))
        await wait_for(pilot, loaded(app, 1))
        assert "a.jsonl" in screen_text(app) and "▶ running" in screen_text(app)


async def test_download_progress_shows_in_the_status_line(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    app = make_app(Settings(store_path=store.path), store=store, service=offline_service(store), clock=fixed_clock,
                   poll=False)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, loaded(app, 0))
        app._poll_enabled = True  # as if a poll were running (none is scheduled: the service is never called)
        app.schedule.started()
        for done in (10, 20, 3 * 1024 * 1024):
            app.post_message(DownloadProgressed("batches/x", done, 6 * 1024 * 1024))
        await wait_for(pilot, lambda: "downloading results: 50% of 6.0 MiB · batches/x" in screen_text(app))


async def test_download_progress_keeps_its_figure_at_80_columns_with_a_long_name(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    app = make_app(Settings(store_path=store.path), store=store, service=offline_service(store), clock=fixed_clock,
                   poll=False)
    name = "batches/iu4g24g1oqqfhcm3cwnte2k6fqtumln3vsmugbkl"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 0))
        app._poll_enabled = True
        app.schedule.started()
        app.post_message(DownloadProgressed(name, 3 * 1024 * 1024, 6 * 1024 * 1024))
        await wait_for(pilot, lambda: "downloading results: 50% of 6.0 MiB · batches/iu4g" in screen_text(app))
        line = next(x for x in screen_text(app).splitlines() if "downloading results" in x)
        assert "…" in line and name not in line  # the name is what is cut, with an ellipsis


def test_demo_file_has_five_requests(tmp_path: Path) -> None:
    from gembatch_tui.core.submit.validate import validate_file

    path = write_demo_requests(tmp_path / "examples")
    report = validate_file(path)
    assert report.ok and report.request_count == 5


async def test_palette_submit_screen_and_submitted_message(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path
) -> None:
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, loaded(app, 0))
        await wait_for(pilot, lambda: app.schedule.last_poll is not None, what="the first poll")
        first = app.schedule.last_poll
        # the palette lists the main actions and runs them
        await pilot.press("ctrl+p")
        await pilot.press(*"poll now")
        await wait_for(pilot, lambda: "Poll now" in screen_text(app))
        assert "Poll every unfinished job now" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(pilot, lambda: app.schedule.last_poll is not None and app.schedule.last_poll != first
                       or app.schedule.running, what="a poll from the palette")
        # s opens the submit screen (built elsewhere); escape comes back
        await pilot.press("s")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SubmitScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        # a submit elsewhere reports JobsSubmitted: the table reloads and a poll follows soon
        outcome = service.submit(batch_file, model="gemini-2.5-flash")
        app.post_message(JobsSubmitted([outcome.batch_name or ""]))
        await wait_for(pilot, loaded(app, 1))
        assert app.schedule.next_due is not None
        assert app.schedule.running or app.schedule.next_due - time.monotonic() < 2.0


async def test_demo_marker_and_quit(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    settings = Settings(store_path=store.path, demo=True)
    app = make_app(settings, store=store, service=None, clock=fixed_clock, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 0))
        assert " DEMO " in screen_text(app).splitlines()[0]
        await pilot.press("ctrl+q")
    assert app.return_code == 0


