"""Retry part: a cancelled or failed part of a split input is queued again and the group still merges, against
the emulator over real HTTP (its clock is moved by hand, so job states change exactly when the test says)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup import plan as cleanup
from gembatch_tui.core.submit import groups
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.models import (
    CANCELLED,
    LOCAL_QUEUED,
    LOCAL_SUBMIT_FAILED,
    SUCCEEDED,
    batch_name,
    record_key,
    record_state,
)
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.retry_parts import RetryError, can_retry, retry_group, retry_part, retry_ref
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore

from .support import KEY, MODEL, keys_of, make_service, text_requests, write_lines
from tests.manual_clock import ManualClock as Clock

EXPECTED = [f"k{i:05d}" for i in range(30)]


def _parts(service: BatchService) -> list[dict]:
    return sorted(service.store.read_all(), key=lambda r: r["group_part"])


def test_cancelled_part_is_retried_and_the_group_merges_every_key_once(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(30))
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=MODEL)
        assert out.parts == 3 and len(out.batch_names) == 3, out.line()
        gid = out.group_id
        first, second, third = _parts(service)
        old_name = batch_name(second)
        assert cancel_job(service, second) == CANCELLED  # a real cancel through the SDK
        clock.advance(20)
        poll_once(service)
        assert [record_state(p) for p in _parts(service)] == [SUCCEEDED, CANCELLED, SUCCEEDED]
        assert not any(p.get("group_results_file") for p in _parts(service))  # blocked: part 2 is missing

        with pytest.raises(RetryError, match=rf"^part 1/3 of group {gid} already succeeded; nothing to retry$"):
            retry_part(service.store, record_key(first))
        assert can_retry(_parts(service)[1]) and not can_retry(_parts(service)[0])
        outcome = retry_part(service.store, record_key(second))
        assert outcome.line() == f"retried part 2/3 of group {gid} (queued)"

        rec = service.store.get(record_key(second)) or {}
        assert record_state(rec) == LOCAL_QUEUED and "batch" not in rec and "uploaded_file_name" not in rec
        [attempt] = rec["previous_attempts"]
        assert attempt["state"] == CANCELLED and attempt["batch"]["name"] == old_name and attempt["retried_at"]
        assert attempt["uploaded_file_name"] and attempt["cancelled_at"]
        assert rec["input_file"] == second["input_file"] and rec["group_part"] == 2  # the same part, same record
        assert len(service.store.read_all()) == 3
        assert groups.summarise(_parts(service)).state == LOCAL_QUEUED
        # The group is live again: the original is a duplicate, not something to submit a second time.
        assert service.submit(src, model=MODEL).status == "skipped"

        poll_once(service)  # the poller submits the queued part like any other
        rec = service.store.get(record_key(second)) or {}
        new_name = batch_name(rec)
        assert new_name and new_name != old_name
        with pytest.raises(RetryError, match=rf"^part 2/3 of group {gid} is PENDING; only a failed"):
            retry_part(service.store, record_key(second))

        clock.advance(20)
        report = poll_once(service)
        merged = src.parent / "results" / "big.jsonl"
        assert any(d.ok and d.path == merged for d in report.downloads), report
        assert keys_of(merged) == EXPECTED  # every key once, in input order
        assert all(p["group_results_verified"] for p in _parts(service))

        # The cancelled attempt's remote job stays deletable: clean-up plans it, marked on the attempt.
        old = [a for a in cleanup.plan_cleanup(service.store.read_all()).actions if a.attempt == 0]
        assert ("batch", old_name) in {(a.kind, a.target) for a in old}
        assert "earlier attempt" in old[0].describe()
        assert all(r.ok for r in execute(service, old))
        assert old_name not in {b["name"] for b in emu.batches_snapshot()}
        assert new_name in {b["name"] for b in emu.batches_snapshot()}
        rec = service.store.get(record_key(second)) or {}
        assert rec["previous_attempts"][0]["remote_deleted"]["batch"] is True
        assert "remote_deleted" not in rec  # the current attempt is untouched
        assert not [a for a in cleanup.plan_cleanup(service.store.read_all()).actions
                    if a.attempt == 0 and a.kind == "batch"]


def test_retry_group_queues_every_part_whose_submission_failed(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "flaky.jsonl", text_requests(30))
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        emu.fail_next("POST", r":batchGenerateContent$", 400, times=2, message="bad part")
        out = service.submit(src, model=MODEL)
        assert out.status == "error" and len(out.batch_names) == 1
        states = [record_state(p) for p in _parts(service)]
        assert states == [LOCAL_SUBMIT_FAILED, LOCAL_SUBMIT_FAILED, "JOB_STATE_PENDING"]

        lines = [o.line() for o in retry_ref(service.store, out.group_id or "")]
        assert lines == [f"retried part {i}/3 of group {out.group_id} (queued)" for i in (1, 2)]
        assert all(p["previous_attempts"][0]["error"].endswith("): bad part") for p in _parts(service)[:2])
        assert all("error" not in p for p in _parts(service))
        with pytest.raises(RetryError, match="has no failed, expired or cancelled part to retry"):
            retry_group(service.store, out.group_id or "")

        poll_once(service)
        clock.advance(20)
        poll_once(service)
    assert keys_of(src.parent / "results" / "flaky.jsonl") == EXPECTED


def _store_with(tmp_path: Path, records: list[dict]) -> JobStore:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.add_many(records)
    return store


def _failed_part(part_file: Path, **extra: object) -> dict:
    return {"id": "p2", "input_file": str(part_file), "group_id": "abcdef012345", "group_part": 2, "group_parts": 3,
            "batch": {"name": "batches/old2", "state": "JOB_STATE_FAILED"}, **extra}


def test_missing_or_changed_part_file_and_jobs_that_are_not_parts_are_refused(tmp_path: Path) -> None:
    part_file = tmp_path / "parts" / "abcdef012345" / "big.part-002-of-003.jsonl"
    plain = {"id": "plain", "input_file": str(tmp_path / "x.jsonl"),
             "batch": {"name": "batches/plain", "state": "JOB_STATE_FAILED"}}
    store = _store_with(tmp_path, [_failed_part(part_file, input_bytes=5), plain])
    before = store.read_all()

    with pytest.raises(RetryError, match=rf"^part 2/3 of group abcdef012345: part file {part_file} is missing; "
                                         "submit the whole input again with --force$"):
        retry_part(store, "p2")
    part_file.parent.mkdir(parents=True)
    part_file.write_text("{}\n")  # 3 bytes, not the 5 recorded at the split
    with pytest.raises(RetryError, match=r"changed since the split \(3 bytes, expected 5\)"):
        retry_part(store, "p2")
    with pytest.raises(RetryError, match="^batches/plain is not a part of a split input; submit its file again"):
        retry_part(store, "plain")
    assert store.read_all() == before  # nothing changed

    part_file.write_text("{}\n\n\n")  # back to the size of the split
    assert retry_ref(store, "old2")[0].ok  # the bare id of the failed attempt names the part
    assert (store.get("p2") or {})["previous_attempts"][0]["batch"]["name"] == "batches/old2"


def test_resources_show_an_earlier_attempt_as_the_parts_not_an_orphan(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from gembatch_tui.core.cleanup import flags
    from gembatch_tui.core.cleanup import remote as resources

    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(30))
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        service.submit(src, model=MODEL)
        second = _parts(service)[1]
        old_name, old_input = batch_name(second), second["uploaded_file_name"]
        assert cancel_job(service, second) == CANCELLED
        clock.advance(20)
        poll_once(service)
        retry_part(service.store, record_key(second))
        poll_once(service)  # the retried part is running as a new job now
        new_name = batch_name(service.store.get(record_key(second)) or {})

        def now() -> datetime:
            return datetime.now(timezone.utc)

        inventory, _records = resources.list_inventory(service, now)
        rows = inventory.by_name()
        old_row, old_file = rows[old_name], rows[old_input]
        assert flags.ORPHAN not in old_row.flags and old_row.in_store and flags.SAFE in old_row.flags
        assert old_row.record_key is None  # a deletion goes through clean-up's per-attempt action
        assert flags.ORPHAN not in old_file.flags and old_file.role == "input"
        assert "(earlier attempt)" in old_file.job_label and old_file.job_name == old_name
        assert flags.ACTIVE in rows[new_name].flags

        report = resources.delete_rows(service, inventory, [old_name, old_input], now)
        assert [r.ok for r in report.results] == [True, True], report.results
        rec = service.store.get(record_key(second)) or {}
        assert rec["previous_attempts"][0]["remote_deleted"] == {"batch": True, "input": True}
        assert "remote_deleted" not in rec  # the running attempt is untouched
        assert new_name in {b["name"] for b in emu.batches_snapshot()}


def test_a_part_deleted_outside_is_marked_missing_then_retried_and_merged(tmp_path: Path) -> None:
    from gembatch_tui.core.models import LOCAL_MISSING

    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(30))
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        service.submit(src, model=MODEL)
        second = _parts(service)[1]
        service.client.cancel_batch(batch_name(second))  # gone behind the store's back
        service.client.delete_batch(batch_name(second))
        poll_once(service)
        poll_once(service)
        assert record_state(service.store.get(record_key(second)) or {}) == LOCAL_MISSING
        assert can_retry(service.store.get(record_key(second)))
        retry_part(service.store, record_key(second))
        rec = service.store.get(record_key(second)) or {}
        assert "remote_missing_at" not in rec and rec["previous_attempts"][0]["remote_missing_at"]
        poll_once(service)  # submits the part again
        assert record_state(service.store.get(record_key(second)) or {}) == "JOB_STATE_PENDING"
        clock.advance(20)
        poll_once(service)
        poll_once(service)
    merged = src.parent / "results" / "big.jsonl"
    assert keys_of(merged) == EXPECTED
