"""Against the emulator over HTTP: a routine pass asks only about due jobs; `force` (the user's `r`) and `only`
(`poll JOB...`) ask about every one; a job that finished is noticed once it is due."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from gembatch_tui.core.poll import schedule as poll_schedule
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.models import SUCCEEDED, record_key, record_state
from gembatch_tui.core.poll.poller import poll_once
from tests.manual_clock import ManualClock
from tests.service.conftest import KEY, make_service


def _calls(emu: Emulator, since: int) -> int:
    return sum(1 for method, path in emu.request_log[since:] if method == "GET" and "/batches" in path)


def test_old_jobs_wait_for_their_turn_unless_asked(tmp_path: Path) -> None:
    clock = ManualClock(time.time() - 2 * 3600)  # jobs created two hours ago
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"key": "k", "request": {"contents": [{"parts": [{"text": "q"}]}]}}) + "\n")
    with Emulator(api_key=KEY, job_seconds=3 * 3600, clock=clock) as emu:
        service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
        for _ in range(3):
            assert service.submit(src, model="gemini-2.5-flash", force=True).status == "submitted"
        clock.advance(60)
        report = poll_once(service, download=False)  # never polled: all due
        assert report.polled == 3 and report.deferred == 0

        mark = len(emu.request_log)
        report = poll_once(service, download=False)
        assert report.polled == 0 and report.deferred == 3 and _calls(emu, mark) == 0

        mark = len(emu.request_log)
        keys = [record_key(r) for r in service.store.read_all()]
        assert poll_once(service, download=False, only=frozenset(keys[:1])).polled == 1
        assert poll_once(service, download=False, force=True).polled == 3
        assert _calls(emu, mark) == 4

        clock.advance(3 * 3600)  # every job has finished on the server
        assert poll_once(service, download=False).changes == []  # not due yet: nothing asked
        stale = datetime.fromtimestamp(time.time() - poll_schedule.MAX_INTERVAL_S, timezone.utc).isoformat()
        service.store.update_many({k: (lambda r: r.update(polled_at=stale)) for k in keys})
        report = poll_once(service, download=False)  # the bound has passed: noticed
        assert len(report.changes) == 3
        assert {record_state(r) for r in service.store.read_all()} == {SUCCEEDED}
