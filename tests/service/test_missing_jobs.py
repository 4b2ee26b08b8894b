"""A job deleted outside gembatch-tui: marked missing after two 404s in a row, never polled again; a wrong base
URL (every call 404) marks nothing."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.models import LOCAL_MISSING, RUNNING, is_final, record_state
from gembatch_tui.core.poll.poller import needs_poll, poll_once
from gembatch_tui.core.submit.retry_parts import can_retry

from .conftest import KEY, make_service
from tests.manual_clock import ManualClock as Clock


def _input(root: Path, name: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(json.dumps({"key": "k", "request": {"contents": [{"parts": [{"text": name}]}]}}) + "\n")
    return path


def test_a_job_deleted_elsewhere_is_marked_missing_and_poll_ends(tmp_path: Path) -> None:
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
        gone = service.submit(_input(tmp_path / "in", "gone.jsonl"), model="gemini-2.5-flash").batch_name
        kept = service.submit(_input(tmp_path / "in", "kept.jsonl"), model="gemini-2.5-flash").batch_name
        clock.now += 5
        poll_once(service)
        service.client.cancel_batch(gone)  # another tool cancels and deletes it; the store still says running
        service.client.delete_batch(gone)

        report = poll_once(service)
        assert not report.errors and any("not found on the server" in n for n in report.notes)
        rec = service.store.find_by_batch_name(gone)
        assert record_state(rec) == RUNNING and rec["missing_polls"] == 1

        report = poll_once(service)
        assert not report.errors
        assert [(c.name, c.old, c.new) for c in report.changes] == [(gone, RUNNING, LOCAL_MISSING)]
        rec = service.store.find_by_batch_name(gone)
        assert record_state(rec) == LOCAL_MISSING and is_final(record_state(rec)) and not needs_poll(rec)
        assert "no longer on the server" in rec["error"] and rec["batch"]["state"] == RUNNING  # last seen kept
        assert report.active == 1  # only the other job still counts

        clock.now += 10
        report = poll_once(service)
        assert report.polled == 1 and report.active == 0  # `poll` would stop here
        assert service.store.find_by_batch_name(kept)["batch"]["state"] == "JOB_STATE_SUCCEEDED"
        assert not can_retry(rec)  # not a part of a split input: nothing to retry


def test_a_wrong_base_url_marks_nothing_missing(tmp_path: Path) -> None:
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
        name = service.submit(_input(tmp_path / "in", "a.jsonl"), model="gemini-2.5-flash").batch_name
        clock.now += 5
        poll_once(service)
        from gembatch_tui.core.api.gemini import GeminiClient

        service.client = GeminiClient(KEY, base_url=emu.url, api_version="v9", retry_attempts=1)  # every path 404
        for _ in range(3):
            report = poll_once(service)
            assert report.errors and not report.changes
        rec = service.store.find_by_batch_name(name)
        assert record_state(rec) == RUNNING and "remote_missing_at" not in rec and needs_poll(rec)
