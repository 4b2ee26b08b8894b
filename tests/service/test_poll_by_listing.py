"""A poll pass over many unfinished jobs reads them with batches.list (100 a call), not one get each."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.models import RUNNING, SUCCEEDED, record_state
from gembatch_tui.core.poll.poller import LIST_FROM, poll_once

from .conftest import KEY, make_service
from tests.manual_clock import ManualClock as Clock


def _inputs(root: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        path = root / f"in{i:02d}.jsonl"
        path.write_text(json.dumps({"key": "k", "request": {"contents": [{"parts": [{"text": f"job {i}"}]}]}}) + "\n")
        paths.append(path)
    return paths


def _gets_and_lists(emu: Emulator, since: int) -> tuple[int, int]:
    log = emu.request_log[since:]
    gets = sum(1 for method, path in log if method == "GET" and "/batches/" in path)
    lists = sum(1 for method, path in log if method == "GET" and path.rstrip("/").endswith("/batches"))
    return gets, lists


def test_many_jobs_are_polled_by_listing_and_old_ones_by_get(tmp_path: Path) -> None:
    clock = Clock()
    root = tmp_path / "in"
    root.mkdir()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
        files = _inputs(root, 12)
        for path in files:
            assert service.submit(path, model="gemini-2.5-flash").status == "submitted"
        clock.now += 5  # every job running

        mark = len(emu.request_log)
        report = poll_once(service)
        assert report.polled == 12 and report.listed == 12 and not report.errors
        assert _gets_and_lists(emu, mark) == (0, 1)  # one list call instead of 12 gets
        assert {record_state(r) for r in service.store.read_all()} == {RUNNING}

        clock.now += 10
        mark = len(emu.request_log)
        report = poll_once(service)
        assert report.listed == 12 and {record_state(r) for r in service.store.read_all()} == {SUCCEEDED}
        assert all(r["batch"]["stats"]["request_count"] == 1 for r in service.store.read_all())
        assert _gets_and_lists(emu, mark)[0] == 0


def test_a_failed_listing_falls_back_to_get_and_few_jobs_never_list(tmp_path: Path) -> None:
    clock = Clock()
    root = tmp_path / "in"
    root.mkdir()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
        for path in _inputs(root, LIST_FROM):
            service.submit(path, model="gemini-2.5-flash")
        clock.now += 5
        emu.fail_next("GET", r"/batches$", 500, times=10)  # more than the client's retries
        mark = len(emu.request_log)
        report = poll_once(service)
        assert report.polled == LIST_FROM and report.listed == 0 and not report.errors
        assert _gets_and_lists(emu, mark)[0] == LIST_FROM
        assert {record_state(r) for r in service.store.read_all()} == {RUNNING}

        for rec in service.store.read_all()[1:]:  # cancel all but one: too few left to list
            service.client.cancel_batch(rec["batch"]["name"])
        poll_once(service)
        mark = len(emu.request_log)
        report = poll_once(service)
        assert report.polled == 1 and report.listed == 0
        assert _gets_and_lists(emu, mark) == (1, 0)


def test_jobs_behind_many_newer_ones_are_fetched_by_get(tmp_path: Path) -> None:
    clock = Clock()
    root = tmp_path / "in"
    root.mkdir()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, max_concurrent_jobs=1000) as emu:
        service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
        files = _inputs(root, LIST_FROM)
        for path in files:
            service.submit(path, model="gemini-2.5-flash")
        uploaded = service.client.upload(files[0], display_name="other")
        for i in range(300):  # newer jobs made elsewhere (not in this store), listed before ours
            service.client.create_batch(model="models/gemini-2.5-flash", file_name=uploaded, display_name=f"other {i}")
        clock.now += 5
        mark = len(emu.request_log)
        report = poll_once(service)
        assert report.polled == LIST_FROM and report.listed == 0 and not report.errors
        gets, lists = _gets_and_lists(emu, mark)
        assert gets == LIST_FROM and lists == 2  # gave up listing after two pages, then one get each
        assert {record_state(r) for r in service.store.read_all()} == {RUNNING}
