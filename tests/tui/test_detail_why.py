"""The job detail screen explains a key that does not apply (d on a running job, v on a pending one) in the
dashboard's words instead of ignoring it, and its title cuts a long name with an ellipsis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.sample_data import fixed_clock, write_store
from tests.tui.tui_helpers import footer_keys, loaded, offline_service, screen_text, wait_for

from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.detail import DetailScreen

LONG = "a-very-long-input-file-name-that-does-not-fit-the-title-bar-of-the-detail-screen.jsonl"


def _app(tmp_path: Path) -> Any:
    records = [
        {"id": "run", "version": 1, "input_file": str(tmp_path / "run.jsonl"), "display_name": "run.jsonl",
         "batch": {"name": "batches/run", "state": "JOB_STATE_RUNNING"}},
        {"id": "pend", "version": 1, "input_file": str(tmp_path / "pend.jsonl"), "display_name": "pend.jsonl",
         "batch": {"name": "batches/pend", "state": "JOB_STATE_PENDING"}},
        {"id": "long", "version": 1, "input_file": str(tmp_path / LONG), "display_name": LONG,
         "batch": {"name": "batches/long0123456789", "state": "JOB_STATE_FAILED"}},
    ]
    store = JobStore(write_store(tmp_path / "store" / "jobs.jsonl", records))
    return make_app(Settings(store_path=store.path, bell=False), store=store, service=offline_service(store),
                    clock=fixed_clock, poll=False)


def said(app: Any, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def _open(pilot: Any, app: Any, key: str) -> None:
    await wait_for(pilot, loaded(app))
    app.push_screen(DetailScreen(key))
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.key == key)


async def test_keys_that_do_not_apply_are_explained(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, app, "run")
        assert "d" not in footer_keys(app) and "v" not in footer_keys(app)
        await pilot.press("d")
        await wait_for(pilot, lambda: said(app, "running: cancel it first (c)"), what="why no delete")
        assert any(e.title == "No delete" and e.message == "running: cancel it first (c)" for e in app.events)
        await pilot.press("v")
        await wait_for(pilot, lambda: said(app, "running: no results until it succeeds"), what="why no results")
        await pilot.press("R")
        await wait_for(pilot, lambda: said(app, "retry (R) is for parts of a split input"), what="why no retry")
        assert isinstance(app.screen, DetailScreen)  # nothing else happened


async def test_a_key_that_applies_is_not_explained(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, app, "pend")
        await pilot.press("v")
        await wait_for(pilot, lambda: said(app, "pending: no results until it succeeds"))
        assert "c" in footer_keys(app)
        await pilot.press("c")  # applies: its dialog, no reason
        await wait_for(pilot, lambda: not isinstance(app.screen, DetailScreen), what="the cancel dialog")
        assert not any(e.title == "No cancel" for e in app.events)


async def test_a_long_name_in_the_title_ends_with_an_ellipsis(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, app, "long")
        await wait_for(pilot, lambda: LONG[:20] in screen_text(app))
        top = screen_text(app).splitlines()[0]
        assert top.rstrip().endswith("…"), top
