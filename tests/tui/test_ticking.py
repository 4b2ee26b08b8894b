"""Relative times and durations move on their own (issue 15, point 13): the dashboard's Took and Created cells and
the detail screen's duration and "ago" times follow the app's duration tick, against the emulator at 80x24."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from tests.manual_clock import ManualClock
from tests.tui.tui_helpers import flat, loaded, screen_text, wait_for

from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.table import JobTable

START = datetime(2026, 11, 23, 23, 40, 0, tzinfo=timezone.utc).timestamp()


@pytest.fixture
def slow_clock() -> ManualClock:
    return ManualClock(start=START)


@pytest.fixture
def slow_service(slow_clock: ManualClock, store: JobStore, tmp_path: Path) -> Iterator[BatchService]:
    """An emulator whose jobs run for an hour of `slow_clock` time."""
    from gembatch_tui.emulator import Emulator

    emu = Emulator(api_key="test-key", job_seconds=3600, clock=slow_clock).start()
    try:
        client = GeminiClient("test-key", base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
        yield BatchService(store, client, results_dir=tmp_path / "results")
    finally:
        emu.stop()


def cells(app: Any, key: str) -> dict[str, str]:
    table = app.screen_stack[0].query_one(JobTable)
    return {col: table.get_cell(key, col).plain for col in table.column_keys()}


async def test_took_created_and_detail_times_tick(slow_service: BatchService, store: JobStore, settings: Settings,
                                                  batch_file: Path, slow_clock: ManualClock) -> None:
    outcome = slow_service.submit(batch_file, model="gemini-2.5-flash")
    key = store.find_by_batch_name(outcome.batch_name)["id"]
    app = make_app(settings, store=store, service=slow_service, clock=slow_clock.utc)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        slow_clock.advance(600)  # past the pending 15%: running, 10 minutes old
        await pilot.press("r")
        await wait_for(pilot, lambda: "running" in cells(app, key)["state"], what="running")
        assert cells(app, key)["duration"] == "10m" and cells(app, key)["created"] == "23:40"
        slow_clock.advance(330)  # 15.5 minutes: no poll, only the tick
        app.jobs_tick()
        await wait_for(pilot, lambda: cells(app, key)["duration"] == "15m", what="Took ticks to 15m")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await wait_for(pilot, lambda: "Duration 15m" in flat(screen_text(app)), what="detail duration")
        assert "(15m ago)" in flat(screen_text(app))
        detail = app.screen
        before = detail.query_one("#detail").render()
        app.jobs_tick()  # nothing moved: no repaint
        await pilot.pause()
        assert detail.query_one("#detail").render() is before
        slow_clock.advance(120)
        app.jobs_tick()
        await wait_for(pilot, lambda: "Duration 17m" in flat(screen_text(app)), what="detail duration ticks")
        assert "(17m ago)" in flat(screen_text(app))
        await pilot.press("escape")
        # Past midnight the Created cell names the day (it said the time of day), without a poll.
        slow_clock.advance(10 * 60)
        app.jobs_tick()
        await wait_for(pilot, lambda: cells(app, key)["created"] == "Nov 23", what="Created names the day")
        assert cells(app, key)["duration"] == "25m"


async def test_a_covered_dashboard_waits_and_catches_up(slow_service: BatchService, store: JobStore,
                                                         settings: Settings, batch_file: Path) -> None:
    """Under the detail screen the dashboard handles nothing (Textual would repaint the detail for each thing it
    handled: ~5 KB a time); what changed meanwhile is on it when it comes back."""
    slow_service.submit(batch_file, model="gemini-2.5-flash")
    app = make_app(settings, store=store, service=slow_service)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        dash = app.screen
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        other = batch_file.with_name("other.jsonl")
        other.write_text(batch_file.read_text().replace("question", "another question"))
        slow_service.submit(other, model="gemini-2.5-flash")
        app.load_jobs()
        await wait_for(pilot, lambda: len(app.records) == 2, what="the app read the new job")
        app.jobs_tick()
        app.show_poll_status()
        await pilot.pause(0.3)
        assert dash.query_one(JobTable).row_count == 1 and dash._stale  # nothing done while covered
        await pilot.press("escape")
        await wait_for(pilot, loaded(app, 2), what="the new row on return")
