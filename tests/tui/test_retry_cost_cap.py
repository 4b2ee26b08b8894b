"""R (dashboard and job detail) holds the cost cap as `retry` does: a part whose estimate, with the parts queued
before it in the same R, is over the config's `max_cost_usd` stays as it was, nothing is queued or created, and
the event line says why with the figures. Against the emulator over real HTTP: a real split input whose parts were
cancelled through the SDK, and the app's own poll submits the part that fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.tui.tui_helpers import footer_keys, loaded, wait_for

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.config import Settings
from gembatch_tui.core.models import CANCELLED, LOCAL_QUEUED, batch_name, record_key, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.cost_cap import estimate_file
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.groups import group_key
from gembatch_tui.tui.dashboard.screen import DashboardScreen

MODEL = "gemini-2.5-flash"


def _cancelled_group(service: BatchService, tmp_path: Path, emu_clock: Any) -> tuple[str, list[dict[str, Any]]]:
    """A 6-request input split into 2 parts of 3, both cancelled on the emulator and polled: (group id, parts)."""
    src = tmp_path / "in" / "big.jsonl"
    src.parent.mkdir(parents=True)
    src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}})
                           + "\n" for i in range(6)), encoding="utf-8")
    service.limits = JobLimits(max_requests_per_job=3)
    out = service.submit(src, model=MODEL)
    assert out.parts == 2, out.line()
    for part in service.store.read_all():
        assert cancel_job(service, part) == CANCELLED
    emu_clock.advance(5)
    poll_once(service)
    parts = sorted(service.store.read_all(), key=lambda r: r["group_part"])
    assert [record_state(p) for p in parts] == [CANCELLED, CANCELLED]
    return str(out.group_id), parts


def _app_with_cap(tmp_path: Path, service: BatchService, store: JobStore, cap: Any, poll: bool) -> Any:
    """The app as a user starts it after writing `max_cost_usd` into the config: a fresh service that reads it."""
    config = tmp_path / "home" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(cap if isinstance(cap, str) else json.dumps({"max_cost_usd": cap}), encoding="utf-8")
    fresh = BatchService(store, service.client, results_dir=tmp_path / "results")
    return make_app(Settings(store_path=store.path, poll_interval=60.0, bell=False), store=store, service=fresh,
                    poll=poll)


def _events(app: Any) -> str:
    return "\n".join(f"{e.title}: {e.message}" for e in app.events)


async def test_r_on_a_group_queues_the_part_that_fits_and_refuses_the_one_over_the_cap(
    tmp_path: Path, service: BatchService, store: JobStore, emulator: Any, emu_clock: Any
) -> None:
    gid, (first, second) = _cancelled_group(service, tmp_path, emu_clock)
    high = estimate_file(first["input_file"], MODEL).high
    assert high is not None and high > 0
    created = len(emulator.batches_snapshot())
    app = _app_with_cap(tmp_path, service, store, high * 1.5, poll=True)  # one part fits, not two
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, loaded(app, 1), what="the group row")
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.table.selected_key == group_key(gid), what="the group row selected")
        await wait_for(pilot, lambda: "R" in footer_keys(app), what="R in the footer")
        await pilot.press("R")
        await wait_for(pilot, lambda: f"part 2/2 of group {gid}: estimated" in _events(app), what="the refusal")
        text = _events(app)
        assert f"retried part 1/2 of group {gid} (queued)" in text
        assert "over the cap of $" in text and "already accepted in this run" in text and "3 requests, ~" in text
        # the part that fit is submitted by the app's own poll; the other one is untouched: nothing queued or made
        await wait_for(pilot, lambda: batch_name(store.get(record_key(first)) or {}) not in (None, batch_name(first)),
                       what="part 1 submitted again")
        assert len(emulator.batches_snapshot()) == created + 1
        rec = store.get(record_key(second)) or {}
        assert record_state(rec) == CANCELLED and "previous_attempts" not in rec
        assert batch_name(rec) == batch_name(second)


async def test_r_on_the_detail_refuses_a_part_over_the_cap_and_a_cap_that_cannot_be_read(
    tmp_path: Path, service: BatchService, store: JobStore, emulator: Any, emu_clock: Any
) -> None:
    gid, (first, _second) = _cancelled_group(service, tmp_path, emu_clock)
    created = len(emulator.batches_snapshot())
    for cap, expected in ((1e-9, f"part 1/2 of group {gid}: estimated cost ~$"),
                          ('{"max_cost_usd": "lots"}', "the cost cap cannot be checked: ")):
        app = _app_with_cap(tmp_path, service, store, cap, poll=False)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await wait_for(pilot, loaded(app, 1))
            app.push_screen(DetailScreen(record_key(first)))
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and "R" in footer_keys(app),
                           what="the detail with R")
            await pilot.press("R")
            await wait_for(pilot, lambda: expected in _events(app), what=expected)
            assert "Cannot retry part" in _events(app)
            await wait_for(pilot, lambda: not app.workers, what="the retry worker done")
            rec = store.get(record_key(first)) or {}
            assert record_state(rec) == CANCELLED and "previous_attempts" not in rec
            assert rec.get("local_state") != LOCAL_QUEUED
    assert len(emulator.batches_snapshot()) == created
