"""The full-screen app with wrong-typed records in its store: it says the store has unreadable lines, shows and
polls the good job to the end (its results saved) and never gets stuck failing its polls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.models import SUCCEEDED, record_state
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from tests.manual_clock import ManualClock
from tests.pilot_support import screen_text, wait_for

BAD = [
    '{"id": "bad1", "batch": "oops"}',
    '{"id": "bad2", "batch": {"name": "batches/nope", "state": "JOB_STATE_SUCCEEDED", "dest": {"file_name": "files/f"}}, "results_file": 123}',
    '{"id": "bad3", "batch": {"name": "batches/nope3", "state": "JOB_STATE_RUNNING", "dest": "y"}}',
]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(tmp_path / "home"))
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(api_key="test-key", job_seconds=1.5, clock=clock) as emulator:
        yield emulator


async def test_app_polls_the_good_job_through_bad_records(emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    src = tmp_path / "input" / "small.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}}) + "\n"
                           for i in range(3)))
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    client = GeminiClient("test-key", base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
    service = BatchService(store, client, results_dir=tmp_path / "results")
    assert service.submit(src, model="gemini-2.5-flash").status == "submitted"
    with open(store.path, "a", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in BAD))
    [good] = store.read_all()
    app = make_app(Settings(store_path=store.path, poll_interval=60.0, bell=False), store=store, service=service)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        told = lambda: [str(n.message) for n in app._notifications if "skipped lines are kept" in str(n.message)]  # noqa: E731
        await wait_for(pilot, told, what="the store's problems")
        assert f"{store.path} line 2: batch: expected an object" in told()[0]  # the first one, by its line
        assert "(+2 more)" in told()[0]
        clock.advance(3.0)  # past the job's 1.5 s
        await pilot.press("r")
        await wait_for(pilot, lambda: (store.get(good["id"]) or {}).get("results_verified"), what="results saved")
        await wait_for(pilot, lambda: app.schedule.last_poll is not None and not app.schedule.running)
        assert app.schedule.failures == 0 and "poll failed" not in screen_text(app)
        assert set(app.records_by_key) == {good["id"]}
    saved = store.get(good["id"])
    assert record_state(saved) == SUCCEEDED and len(Path(saved["results_file"]).read_text().splitlines()) == 3
    assert store.path.read_text(encoding="utf-8").splitlines()[1:] == BAD
