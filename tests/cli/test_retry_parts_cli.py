"""`gembatch-tui retry JOB...` as a real process: one line per part, exit codes 0 / 1 / 2.

The store is set up through the core against the emulator (real SDK, real HTTP, a hand-moved clock); the
command itself needs no key: it only touches the store and the part files."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.models import CANCELLED, SUCCEEDED, batch_id, batch_name, record_key, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.service import BatchService

from tests.split.support import KEY, MODEL, make_service, text_requests, write_lines
from tests.manual_clock import ManualClock as Clock


def _parts(service: BatchService) -> list[dict]:
    return sorted((r for r in service.store.read_all() if r.get("group_id")), key=lambda r: r["group_part"])


def test_retry_by_part_and_by_group(cli, tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(30))
    plain_src = write_lines(tmp_path / "in" / "small.jsonl", text_requests(3, prefix="s"))
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        store = str(service.store.path)
        out = service.submit(src, model=MODEL)
        plain = service.submit(plain_src, model=MODEL)
        gid = out.group_id
        first, second, _third = _parts(service)
        assert cancel_job(service, second) == CANCELLED
        clock.advance(20)
        poll_once(service)
        assert record_state(_parts(service)[0]) == SUCCEEDED
    old2 = batch_name(second) or ""

    # A part that succeeded is refused, the cancelled one (by its bare id) is queued: one line each, exit 1.
    run = cli("--store", store, "retry", batch_name(first) or "", batch_id(old2))
    assert run.returncode == 1, run
    assert run.stdout.splitlines() == [
        f"error: part 1/3 of group {gid} already succeeded; nothing to retry",
        f"retried part 2/3 of group {gid} (queued)",
    ]
    assert run.stderr == ""
    rec = service.store.get(record_key(second)) or {}
    assert rec["local_state"] == "queued" and rec["previous_attempts"][0]["batch"]["name"] == old2

    # Again (by the old name): it is queued now; a name that is nowhere and a job that was never split: exit 2.
    run = cli("--store", store, "retry", old2, "batches/nosuch", plain.batch_name or "")
    assert run.returncode == 2, run
    assert run.stdout.splitlines() == [
        f"error: part 2/3 of group {gid} is QUEUED; only a failed, expired or cancelled part can be retried",
        f"error: batches/nosuch: no such job or group in {store}",
        f"error: {plain.batch_name} is not a part of a split input; submit its file again with --force",
    ]

    # By group id: every failed part of the group; nothing left to retry is exit 1.
    cancel_job(service, service.store.get(record_key(second)) or {})  # cancelled while queued
    run = cli("--store", store, "retry", gid or "")
    assert (run.returncode, run.stdout) == (0, f"retried part 2/3 of group {gid} (queued)\n"), run
    assert len((service.store.get(record_key(second)) or {})["previous_attempts"]) == 2
    run = cli("--store", store, "retry", (gid or "")[:8])  # a unique prefix names the group too
    assert run.returncode == 1
    assert run.stdout == (f"error: group {gid} has no failed, expired or cancelled part to retry "
                          "(parts: queued, succeeded)\n")

    # A part file that was deleted: a clear line, the record is left as it was.
    cancel_job(service, service.store.get(record_key(second)) or {})
    Path(second["input_file"]).unlink()
    run = cli("--store", store, "retry", str(src))  # the original input's path names its group
    assert run.returncode == 1
    assert run.stdout == (f"error: part 2/3 of group {gid}: part file {second['input_file']} is missing; "
                          "submit the whole input again with --force\n")
    assert record_state(service.store.get(record_key(second)) or {}) == CANCELLED
