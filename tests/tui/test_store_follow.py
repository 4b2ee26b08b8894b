"""The app follows the store file (tui/store_follow.py): a job another process adds shows within seconds with
polling off, and a reload that fails is asked for again at the next tick, not left until the next write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.app import make_app
from tests.pilot_support import wait_for
from tests.tui.tui_helpers import loaded


def _job(tmp_path: Path, n: int) -> dict[str, Any]:
    src = tmp_path / f"other-{n}.jsonl"
    src.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
    return {"input_file": str(src), "count": 1,
            "batch": {"name": f"batches/other{n}", "state": "JOB_STATE_RUNNING", "model": "models/gemini-2.5-flash",
                      "display_name": f"other-{n}.jsonl"}}


def _names(app: Any) -> set[str]:
    return {str(r.get("batch", {}).get("name")) for r in app.records}


async def test_a_job_added_by_another_process_shows_without_a_poll(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    store.add(_job(tmp_path, 1))
    app = make_app(Settings(store_path=store.path, poll_interval=600.0, bell=False), store=store, service=None,
                   poll=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, loaded(app, rows=1), what="the first job")
        JobStore(store.path).add(_job(tmp_path, 2))  # another process's write: this app's store object knows nothing
        await wait_for(pilot, loaded(app, rows=2), timeout=15, what="the other process's job on the dashboard")
        assert _names(app) == {"batches/other1", "batches/other2"}


async def test_a_reload_that_failed_is_asked_for_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    store.add(_job(tmp_path, 1))
    app = make_app(Settings(store_path=store.path, poll_interval=600.0, bell=False), store=store, service=None,
                   poll=False)
    real = store.read_with_problems
    failures: list[int] = []

    def busy_once() -> Any:
        if not failures:
            failures.append(1)
            raise OSError("the store is busy for a moment")
        return real()

    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, loaded(app, rows=1), what="the first job")
        monkeypatch.setattr(store, "read_with_problems", busy_once)
        JobStore(store.path).add(_job(tmp_path, 2))  # one write, and no other after it
        await wait_for(pilot, lambda: bool(failures), timeout=15, what="the reload that fails")
        await wait_for(pilot, loaded(app, rows=2), timeout=15, what="the job, at a later tick")
