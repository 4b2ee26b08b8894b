"""The app's own poll runs on_finish too, and says what it did in the event log (E), a failure as an error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.config import Settings
from gembatch_tui.core.poll import finish_hooks
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.app_messages import PollFinished
from tests.manual_clock import ManualClock
from tests.pilot_support import wait_for

KEY = "test-key-APPHOOK-0123456789"


@pytest.fixture
def emu_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(emu_clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=1.5, clock=emu_clock) as emu:
        yield emu


async def test_the_app_runs_the_hook_once_and_logs_a_failure(emulator: Emulator, emu_clock: ManualClock,
                                                             tmp_path: Path) -> None:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.ensure()
    service = BatchService(store, GeminiClient(KEY, base_url=emulator.url), results_dir=tmp_path / "results")
    log = tmp_path / "hook.log"
    finish_hooks.install(service, finish_hooks.FinishHook(
        f'echo "$GEMBATCH_JOB_NAME" >> {log}; echo "no disk \x1b[31m" >&2; exit 4'))
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}) + "\n")
    outcome = service.submit(path, model="gemini-2.5-flash")
    assert outcome.status == "submitted"
    app = make_app(Settings(store_path=store.path, poll_interval=0.3, bell=False, notify="osc9"), store=store,
                   service=service)
    passes: list[PollFinished] = []

    def hook(message: object) -> None:
        if isinstance(message, PollFinished):
            passes.append(message)

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        emu_clock.advance(5)
        await wait_for(pilot, lambda: any(e.title == "on_finish" for e in app.events), what="the hook's event")
        [event] = [e for e in app.events if e.title == "on_finish"]
        assert event.severity == "error"
        assert event.message == f"{outcome.batch_name}: on_finish failed (exit 4): no disk \\x1b[31m"
        await wait_for(pilot, lambda: (store.read_all()[0].get("finish_hook") or {}).get("ran_at"), what="recorded")
        seen = len(passes)
        await wait_for(pilot, lambda: len(passes) >= seen + 3, what="three more poll passes")
        assert [e.title for e in app.events].count("on_finish") == 1
    assert log.read_text().splitlines() == [outcome.batch_name]
    assert store.read_all()[0]["finish_hook"]["exit_code"] == 4
