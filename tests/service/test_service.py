"""BatchService against the emulator over real HTTP with the real google-genai client."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup import plan as cleanup
from gembatch_tui.core.models import batch_name, record_key, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator

from .conftest import KEY, make_service


def poll_until_final(service: BatchService, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        report = poll_once(service)
        if report.active == 0 and not any(not d.ok for d in report.downloads):
            return report
        assert time.monotonic() < deadline, f"jobs not final: {report}"
        time.sleep(0.05)


def test_submit_poll_download_verified(service: BatchService, emulator, examples: Path) -> None:
    out = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    assert out.status == "submitted" and out.batch_name.startswith("batches/") and out.request_count == 5
    [rec] = service.store.read_all()
    assert rec["uploaded_file_name"].startswith("files/") and rec["input_sha256"]
    assert rec["batch"]["model"] == "models/gemini-2.5-flash"
    poll_until_final(service)
    [rec] = service.store.read_all()
    assert record_state(rec) == "JOB_STATE_SUCCEEDED"
    results = Path(rec["results_file"])
    assert results == examples / "results" / "basic.jsonl"
    assert rec["results_verified"] is True and rec["results_check"]["ok"] == 5
    keys = {json.loads(line)["key"] for line in results.read_text().splitlines()}
    assert keys == {f"request_{i}" for i in range(1, 6)}
    assert rec["batch"]["stats"]["request_count"] == 5
    assert not [p for p in results.parent.iterdir() if p.name.endswith(".partial")]


def test_duplicate_guard_and_force(service: BatchService, emulator, examples: Path) -> None:
    first = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    again = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    assert again.status == "skipped" and again.batch_name == first.batch_name
    copy = examples / "copy-of-basic.jsonl"
    copy.write_bytes((examples / "basic.jsonl").read_bytes())
    same_content = service.submit(copy, model="gemini-2.5-flash")
    assert same_content.status == "skipped" and same_content.batch_name == first.batch_name
    forced = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash", force=True)
    assert forced.status == "submitted" and forced.batch_name != first.batch_name
    assert len(emulator.batches_snapshot()) == 2


def test_a_finished_job_that_answered_nothing_does_not_block_its_file(service: BatchService, examples: Path) -> None:
    """Every request failed (a misspelt field, say): sending the file again duplicates no answer, so it is not
    skipped as already submitted; one answered request is enough to keep the guard."""
    first = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    key = record_key(next(r for r in service.store.read_all() if batch_name(r) == first.batch_name))

    def ended(ok: int, failed: int):  # noqa: ANN202
        def apply(rec: dict) -> None:
            rec["batch"].update(state="JOB_STATE_SUCCEEDED", stats={
                "request_count": 5, "successful_request_count": ok, "failed_request_count": failed})
        return apply

    service.store.update(key, ended(1, 4))
    assert service.submit(examples / "basic.jsonl", model="gemini-2.5-flash").status == "skipped"
    service.store.update(key, ended(0, 5))
    again = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    assert again.status == "submitted" and again.batch_name != first.batch_name


def test_create_failure_deletes_upload_and_marks_record(service: BatchService, emulator, examples: Path) -> None:
    # A create the service refuses outright (an unknown model is refused before the upload: test_unknown_model.py).
    emulator.fail_next("POST", r":batchGenerateContent$", 400, message="Invalid batch: input file is empty.")
    out = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    assert out.status == "error" and "400" in out.message and "input file is empty" in out.message
    [rec] = service.store.read_all()
    assert rec["local_state"] == "submit_failed" and "400" in rec["error"]
    assert emulator.files_snapshot() == [] and emulator.batches_snapshot() == []
    retry = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    assert retry.status == "submitted"


def test_interrupted_after_create_is_recovered_not_duplicated(service: BatchService, emulator, examples: Path) -> None:
    src = examples / "basic.jsonl"
    file_name = service.client.upload(src, display_name="basic.jsonl")
    snap = service.client.create_batch(model="gemini-2.5-flash", file_name=file_name, display_name="basic.jsonl")
    # The process died right after create: the record still says "submitting" and names a dead pid.
    from gembatch_tui.core.submit.validate import validate_file

    report = validate_file(src)
    service.store.add({
        "input_file": str(src), "count": 5, "input_sha256": report.sha256, "model": "models/gemini-2.5-flash",
        "display_name": "basic.jsonl", "local_state": "submitting", "uploaded_file_name": file_name,
        "submit_host": os.uname().nodename, "submit_pid": 2**22 + 12345,
    })
    out = service.submit(src, model="gemini-2.5-flash")
    assert out.status == "submitted" and out.batch_name == snap.name
    assert len(emulator.batches_snapshot()) == 1
    [rec] = service.store.read_all()
    assert "local_state" not in rec and rec["batch"]["name"] == snap.name


def test_interrupted_before_create_is_marked_by_poll(service: BatchService, emulator, examples: Path) -> None:
    service.store.add({"input_file": str(examples / "basic.jsonl"), "local_state": "submitting",
                       "submit_host": os.uname().nodename, "submit_pid": 2**22 + 12346})
    report = poll_once(service)
    assert any("interrupted" in n for n in report.notes)
    [rec] = service.store.read_all()
    assert rec["local_state"] == "submit_failed"


def test_failed_download_leaves_no_file_and_is_retried(service: BatchService, emulator, examples: Path) -> None:
    service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    deadline = time.monotonic() + 15
    while emulator.batches_snapshot()[0]["state"] != "BATCH_STATE_SUCCEEDED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # A 500 before the first byte is tried again (nothing was written); one that outlasts every attempt fails
    # the download, which leaves no file and is tried again by the next pass.
    emulator.fail_next("GET", r":download", 500, times=max(1, service.client.policy.attempts))
    report = poll_once(service)
    assert [d.ok for d in report.downloads] == [False]
    results_dir = examples / "results"
    assert not results_dir.exists() or list(results_dir.iterdir()) == []
    [rec] = service.store.read_all()
    assert "results_file" not in rec and rec["results_error"]
    report = poll_once(service)
    assert [d.ok for d in report.downloads] == [True]
    assert (results_dir / "basic.jsonl").is_file()


def test_cancel_and_delete_rules(examples: Path, tmp_path: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=3600) as emulator:  # the job is still running when it is cancelled
        _cancel_and_delete_rules(emulator, make_service(emulator, tmp_path / "s2" / "jobs.jsonl"), examples)


def _cancel_and_delete_rules(emulator: Emulator, slow: BatchService, examples: Path) -> None:
    out = slow.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    rec = slow.resolve(out.batch_name)
    plan = cleanup.plan_delete(rec)
    assert plan.actions == [] and "cancel it first" in plan.refused[0]
    state = cancel_job(slow, rec)
    assert state == "JOB_STATE_CANCELLED"
    rec = slow.resolve(out.batch_name.split("/")[1])  # the bare id resolves too
    with pytest.raises(Exception, match="already CANCELLED"):
        cancel_job(slow, rec)
    plan = cleanup.plan_delete(rec, local_record=True)
    assert [a.kind for a in plan.actions] == ["batch", "input", "record"]
    results = execute(slow, plan.actions)
    assert all(r.ok for r in results)
    assert emulator.batches_snapshot() == [] and emulator.files_snapshot() == []
    assert slow.store.read_all() == []


def test_unsaved_results_are_protected(service: BatchService, emulator, examples: Path) -> None:
    out = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    deadline = time.monotonic() + 15
    while True:
        poll_once(service, download=False)
        rec = service.resolve(out.batch_name)
        if record_state(rec) == "JOB_STATE_SUCCEEDED":
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert cleanup.plan_cleanup(service.store.read_all()).actions == []
    plan = cleanup.plan_delete(rec, local_record=True)
    assert {a.kind for a in plan.actions} == {"batch", "input"}
    assert any("not downloaded" in r for r in plan.refused)
    poll_once(service)
    rec = service.resolve(out.batch_name)
    kinds = sorted(a.kind for a in cleanup.plan_cleanup([rec]).actions)
    assert kinds == ["batch", "input", "output"]


def test_api_key_never_stored(service: BatchService, emulator, examples: Path) -> None:
    service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    service.submit(examples / "structured-output.jsonl", model="no-such-model")
    poll_until_final(service)
    assert KEY not in service.store.path.read_text()


def test_file_vanishing_after_validation_leaves_no_half_done_record(service: BatchService, emulator, examples: Path) -> None:
    from gembatch_tui.core.submit.validate import validate_file

    src = examples / "basic.jsonl"
    report = validate_file(src)
    src.unlink()
    out = service.submit(src, model="gemini-2.5-flash", report=report)
    assert out.status == "error" and str(src) in out.message
    [rec] = service.store.read_all()
    assert rec["local_state"] == "submit_failed"
    assert emulator.files_snapshot() == [] and emulator.batches_snapshot() == []


def test_download_still_happens_after_input_file_deleted_and_usage_is_recorded(
    service: BatchService, emulator, examples: Path
) -> None:
    out = service.submit(examples / "basic.jsonl", model="gemini-2.5-flash")
    rec = service.resolve(out.batch_name)
    execute(service, [cleanup.Action("input", rec["uploaded_file_name"], record_key(rec), "basic")])
    poll_until_final(service)
    rec = service.resolve(out.batch_name)
    assert rec["remote_deleted"] == {"input": True}
    assert rec["results_verified"] is True and Path(rec["results_file"]).is_file()
    lines = [json.loads(x) for x in Path(rec["results_file"]).read_text().splitlines()]
    prompt = sum(int(x["response"]["usageMetadata"].get("promptTokenCount", 0)) for x in lines)
    assert rec["usage"]["prompt"] == prompt > 0


@pytest.mark.parametrize("split", [False, True], ids=["one job", "split into parts"])
def test_two_submits_of_one_file_at_once_make_one_job(emulator, examples: Path, tmp_path: Path, split: bool) -> None:
    """Two processes submit the same file at the same moment: both pass the first duplicate check before either has
    a record. The check is asked again under the store's lock as the record is added, so the second is skipped.

    The race is made certain: the first check of `ours` lets a rival service (another process, as far as the store
    knows) submit the file to the end before it answers with what it had seen: nothing."""
    from gembatch_tui.core.submit.limits import JobLimits

    store = tmp_path / "store" / "jobs.jsonl"
    limits = JobLimits(max_requests_per_job=2) if split else None
    ours = make_service(emulator, store, **({"limits": limits} if limits else {}))
    rival = make_service(emulator, store, **({"limits": limits} if limits else {}))
    src = examples / "basic.jsonl"
    real = ours.duplicate_of
    rival_outcome = []

    def first_check_then_rival(path, sha256, among=None):  # noqa: ANN001, ANN202
        seen = real(path, sha256, among)
        if among is None and not rival_outcome:
            rival_outcome.append(rival.submit(src, model="gemini-2.5-flash"))
        return seen

    ours.duplicate_of = first_check_then_rival  # type: ignore[method-assign]
    outcome = ours.submit(src, model="gemini-2.5-flash")
    [theirs] = rival_outcome
    assert theirs.status == "submitted"
    assert outcome.status == "skipped"
    jobs = emulator.batches_snapshot()
    records = ours.store.read_all()
    assert len(jobs) == len(records) == (3 if split else 1)  # 5 requests in parts of 2: one group of 3 jobs
    assert sorted(j["name"] for j in jobs) == sorted(batch_name(r) for r in records)
    if split:
        assert outcome.group_id == theirs.group_id
        assert len({r["group_id"] for r in records}) == 1
        assert [p.name for p in ours.parts_root().iterdir()] == [theirs.group_id]  # our part files were removed
    else:
        assert outcome.batch_name == theirs.batch_name
