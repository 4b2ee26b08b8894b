"""A pass over hundreds of unfinished jobs asks for pages bigger than 100 (fewer sequential round trips where the
service serves them), and copes with a service that clamps them or refuses them with 400."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.core.models import RUNNING, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.emulator import Emulator
from tests.manual_clock import ManualClock as Clock

from .conftest import KEY, make_service

JOBS = 250


def _lists(emu: Emulator, since: int) -> int:
    return sum(1 for method, path in emu.request_log[since:]
               if method == "GET" and path.rstrip("/").endswith("/batches"))


def _gets(emu: Emulator, since: int) -> int:
    return sum(1 for method, path in emu.request_log[since:] if method == "GET" and "/batches/" in path)


def _running_jobs(emu: Emulator, tmp_path: Path, clock: Clock):  # type: ignore[no-untyped-def]
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    src = tmp_path / "one.jsonl"
    src.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
    uploaded = service.client.upload(src, display_name="one.jsonl")
    snaps = [service.client.create_batch(model="gemini-2.5-flash", file_name=uploaded, display_name=f"job {i}")
             for i in range(JOBS)]
    service.store.add_many([{"input_file": str(src), "count": 1, "batch": s.to_batch_dict()} for s in snaps])
    clock.now += 5
    return service


def test_a_service_that_serves_big_pages_is_read_in_one_call(tmp_path: Path) -> None:
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, max_concurrent_jobs=1000, batch_page_max=1000) as emu:
        service = _running_jobs(emu, tmp_path, clock)
        mark = len(emu.request_log)
        report = poll_once(service, download=False, force=True)
        assert report.polled == JOBS and report.listed == JOBS and not report.errors
        assert (_lists(emu, mark), _gets(emu, mark)) == (1, 0)  # pages of 100 would be three calls
        assert {record_state(r) for r in service.store.read_all()} == {RUNNING}


def test_a_service_that_clamps_gives_pages_of_100(tmp_path: Path) -> None:
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, max_concurrent_jobs=1000) as emu:
        service = _running_jobs(emu, tmp_path, clock)
        mark = len(emu.request_log)
        report = poll_once(service, download=False, force=True)
        assert report.polled == JOBS and report.listed == JOBS and not report.errors
        assert (_lists(emu, mark), _gets(emu, mark)) == (3, 0)


def test_a_service_that_refuses_big_pages_is_asked_for_100_from_then_on(tmp_path: Path) -> None:
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, max_concurrent_jobs=1000, reject_big_pages=True) as emu:
        service = _running_jobs(emu, tmp_path, clock)
        mark = len(emu.request_log)
        report = poll_once(service, download=False, force=True)
        assert report.polled == JOBS and report.listed == JOBS and not report.errors
        assert (_lists(emu, mark), _gets(emu, mark)) == (4, 0)  # the refused big page, then three of 100

        mark = len(emu.request_log)
        report = poll_once(service, download=False, force=True)
        assert report.listed == JOBS and not report.errors
        assert (_lists(emu, mark), _gets(emu, mark)) == (3, 0)  # not refused again: the client remembers
