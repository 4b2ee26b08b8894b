"""A real-time record is a job the batch API knows nothing about: the poller never asks about it (running or
finished, its results file gone or not), delete and clean-up plan nothing remote for it, and a cancel reaches its
run through the record (or ends it at once when its process is gone)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.cleanup.plan import plan_cleanup, plan_delete
from gembatch_tui.core.models import CANCELLED, RUNNING, SUCCEEDED, is_realtime, record_key, record_state
from gembatch_tui.core.poll.poller import needs_poll, poll_once
from gembatch_tui.core.realtime.limits import RealtimeLimits
from gembatch_tui.core.realtime import runner
from gembatch_tui.core.realtime.runner import RealtimeRun
from gembatch_tui.core.realtime.start import prepare_file
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator
from tests.realtime.conftest import KEY, make_service, write_input

LIMITS = RealtimeLimits(rpm=None, tpm=None, concurrency=2)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_poller_never_asks_the_batch_api_about_a_realtime_record(service: BatchService, emulator: Emulator,
                                                                       tmp_path: Path) -> None:
    running = prepare_file(service, write_input(tmp_path / "a.jsonl", 3), "gemini-2.5-flash", LIMITS).record
    finished = prepare_file(service, write_input(tmp_path / "b.jsonl", 3), "gemini-2.5-flash", LIMITS).record
    assert running is not None and finished is not None and is_realtime(running)
    outcome = RealtimeRun(service, finished, LIMITS).run()
    Path(outcome.results_file).unlink()  # results gone: a batch job would be downloaded (or read inline) again
    batch = service.submit(write_input(tmp_path / "c.jsonl", 2), model="gemini-2.5-flash")  # a real job beside
    assert batch.status == "submitted"
    emulator.request_log.clear()

    assert record_state(service.store.get(record_key(running))) == RUNNING
    assert not needs_poll(service.store.get(record_key(running)))
    report = poll_once(service, force=True)
    report_only = poll_once(service, only=frozenset({record_key(running), record_key(finished)}))

    paths = [path for _method, path in emulator.request_log]
    assert any(batch.batch_name.split("/")[-1] in p for p in paths), "the batch job was not polled: proves nothing"
    assert not [p for p in paths if "realtime" in p or record_key(running) in p or record_key(finished) in p]
    assert not report.errors and not report_only.errors
    assert report.active == 1  # the batch job; the running real-time record is not the poller's
    assert record_state(service.store.get(record_key(running))) == RUNNING


def test_delete_and_cleanup_plan_nothing_remote_for_a_realtime_record(service: BatchService, tmp_path: Path) -> None:
    record = prepare_file(service, write_input(tmp_path / "a.jsonl", 3), "gemini-2.5-flash", LIMITS).record
    RealtimeRun(service, record, LIMITS).run()
    done = service.store.get(record_key(record))
    assert record_state(done) == SUCCEEDED
    plan = plan_delete(done, local_record=True)
    assert [a.kind for a in plan.actions] == ["record"] and not plan.refused
    cleanup = plan_cleanup(service.store.read_all())
    assert cleanup.actions == [] and cleanup.refused == []


def test_cancel_reaches_the_run_through_its_record(service: BatchService, emulator: Emulator, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "PROGRESS_EVERY", 0.05)  # the run reads its record more often than once a second
    record = prepare_file(service, write_input(tmp_path / "a.jsonl", 3), "gemini-2.5-flash", LIMITS).record
    assert record is not None
    service.store.update(record_key(record), lambda r: r["realtime"].update(pid=_dead_pid()))
    emulator.request_log.clear()
    assert cancel_job(service, service.store.get(record_key(record))) == CANCELLED  # its process is gone
    assert record_state(service.store.get(record_key(record))) == CANCELLED
    assert emulator.request_log == []

    with Emulator(api_key=KEY, latency_ms=20) as slow:  # 100 requests one at a time: 2 s at least
        service = make_service(slow, service.store.path)
        live = prepare_file(service, write_input(tmp_path / "b.jsonl", 100), "gemini-2.5-flash", LIMITS).record
        assert live is not None
        run = RealtimeRun(service, live, RealtimeLimits(rpm=None, tpm=None, concurrency=1),
                          progress=lambda p: cancel_job(service, service.store.get(record_key(live)))
                          if p.done >= 5 else None)
        outcome = run.run()
        assert slow.request_log and all("batches" not in p for _m, p in slow.request_log)
    assert outcome.state == CANCELLED and 5 <= outcome.ok < 100
    saved = service.store.get(record_key(live))
    assert record_state(saved) == CANCELLED and saved["results_check"]["ok"] == outcome.ok
