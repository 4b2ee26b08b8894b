"""Cancel and delete of records that wait in the local queue (no remote job yet): done locally, never submitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup import plan as cleanup
from gembatch_tui.core.submit import groups, waves
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.models import CANCELLED, LOCAL_QUEUED, SUCCEEDED, is_final, record_key, record_state
from gembatch_tui.core.submit.service import BatchService

from .support import KEY, MODEL, make_service, poll_until_idle, write_lines


def _file(tmp_path: Path, name: str, salt: str) -> Path:
    """100 requests of 40 characters: ~1,000 tokens, so a budget of 1,500 lets one such file run at a time."""
    return write_lines(tmp_path / "in" / name, ({"key": f"k{i}", "request": {"contents": [
        {"parts": [{"text": salt + "w" * 39}]}]}} for i in range(100)))


def _by_name(service: BatchService) -> dict[str, dict]:
    return {Path(r["input_file"]).name: r for r in service.store.read_all()}


def test_cancel_a_queued_file_marks_it_cancelled_and_it_is_never_submitted(tmp_path: Path) -> None:
    first, second = _file(tmp_path, "a.jsonl", "a"), _file(tmp_path, "b.jsonl", "b")
    with Emulator(api_key=KEY, job_seconds=0.4, enqueued_token_budget=1_500) as emu:
        service = make_service(emu, tmp_path, JobLimits(token_budgets={MODEL: 1_500}))
        assert service.submit(first, model=MODEL).status == "submitted"
        assert service.submit(second, model=MODEL).status == "queued"
        queued = _by_name(service)["b.jsonl"]
        assert record_state(queued) == LOCAL_QUEUED

        assert cancel_job(service, queued) == CANCELLED
        rec = _by_name(service)["b.jsonl"]
        assert rec["local_state"] == "cancelled" and rec["cancelled_at"] and "batch" not in rec
        assert "queued_reason" not in rec
        assert record_state(rec) == CANCELLED and is_final(record_state(rec))
        assert not waves.is_queued(rec) and not waves.is_enqueued(rec)
        with pytest.raises(ServiceError, match="no remote job to cancel .CANCELLED."):
            cancel_job(service, rec)

        reports = poll_until_idle(service)
        assert reports[-1].queued == 0 and reports[-1].active == 0
        assert len(emu.batches_snapshot()) == 1  # only a.jsonl ever reached the service
        assert record_state(_by_name(service)["b.jsonl"]) == CANCELLED
        # A cancelled submission does not block submitting the file again.
        again = service.submit(second, model=MODEL)
        assert again.status == "submitted", again.line()


def test_cancel_a_queued_part_deletes_its_kept_upload_and_the_others_go_on(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "full.jsonl", ({"key": f"k{i:03d}", "request": {"contents": [
        {"parts": [{"text": "z" * 40}]}]}} for i in range(300)))
    with Emulator(api_key=KEY, job_seconds=0.4, enqueued_token_budget=1_500) as emu:
        # The client knows no budget: part 2 is uploaded, gets a 429, and waits with its upload kept.
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=100, backoff_initial=0.2, backoff_max=0.4))
        out = service.submit(src, model=MODEL)
        assert out.parts == 3 and out.queued == 2
        part2 = next(r for r in service.store.read_all() if r["group_part"] == 2)
        uploaded = part2["uploaded_file_name"]
        assert uploaded in {f["name"] for f in emu.files_snapshot()}

        assert cancel_job(service, part2) == CANCELLED
        part2 = service.store.get(record_key(part2)) or {}
        assert part2["uploaded_file_deleted"] is True and "retry_after" not in part2
        assert uploaded not in {f["name"] for f in emu.files_snapshot()}

        poll_until_idle(service)  # part 3 is not held back by the cancelled part 2
        assert len(emu.batches_snapshot()) == 2 and emu.server_errors == []
    states = {r["group_part"]: record_state(r) for r in service.store.read_all()}
    assert states == {1: SUCCEEDED, 2: CANCELLED, 3: SUCCEEDED}
    summary = groups.summarise(groups.by_group(service.store.read_all())[out.group_id])
    assert summary.state == CANCELLED and summary.results_file is None  # no merge with a part missing


def test_cancel_of_a_record_submitted_meanwhile_cancels_its_job(tmp_path: Path) -> None:
    first, second = _file(tmp_path, "a.jsonl", "a"), _file(tmp_path, "b.jsonl", "b")
    with Emulator(api_key=KEY, job_seconds=30) as emu:
        service = make_service(emu, tmp_path, JobLimits(token_budgets={MODEL: 1_500}))
        service.submit(first, model=MODEL)
        assert service.submit(second, model=MODEL).status == "queued"
        stale = _by_name(service)["b.jsonl"]  # what the user's screen showed
        assert service.dispatch(record_key(stale)).status == "submitted"  # the poller got there first
        assert cancel_job(service, stale) == "JOB_STATE_CANCELLED"
        rec = _by_name(service)["b.jsonl"]
        assert record_state(rec) == "JOB_STATE_CANCELLED" and rec["batch"]["name"].startswith("batches/")
        assert {b["state"] for b in emu.batches_snapshot()} == {"BATCH_STATE_PENDING", "BATCH_STATE_CANCELLED"}


def test_cancel_of_a_record_being_submitted_is_refused(tmp_path: Path) -> None:
    first, second = _file(tmp_path, "a.jsonl", "a"), _file(tmp_path, "b.jsonl", "b")
    with Emulator(api_key=KEY, job_seconds=5, enqueued_token_budget=1_500) as emu:
        service = make_service(emu, tmp_path, JobLimits(token_budgets={MODEL: 1_500}))
        service.submit(first, model=MODEL)
        service.submit(second, model=MODEL)
        stale = _by_name(service)["b.jsonl"]
        assert waves.claim(service, record_key(stale)) is not None  # a poller took it a moment ago
        with pytest.raises(ServiceError, match="being submitted right now"):
            cancel_job(service, stale)
        plan = cleanup.plan_delete(_by_name(service)["b.jsonl"], local_record=True)
        assert plan.actions == [] and "being submitted" in plan.refused[0]


def test_delete_a_queued_record(tmp_path: Path) -> None:
    first, second, third = (_file(tmp_path, n, n[0]) for n in ("a.jsonl", "b.jsonl", "c.jsonl"))
    with Emulator(api_key=KEY, job_seconds=0.4, enqueued_token_budget=1_500) as emu:
        service = make_service(emu, tmp_path, JobLimits(token_budgets={MODEL: 1_500}))
        service.submit(first, model=MODEL)
        service.submit(second, model=MODEL)
        service.submit(third, model=MODEL)
        queued = _by_name(service)["b.jsonl"]
        assert cleanup.plan_delete(queued).actions == []  # nothing remote exists; the record is kept unless asked
        plan = cleanup.plan_delete(queued, local_record=True)
        assert [a.kind for a in plan.actions] == ["record"] and plan.refused == []
        assert all(r.ok for r in execute(service, plan.actions))
        assert set(_by_name(service)) == {"a.jsonl", "c.jsonl"}

        # A record the poller takes between the plan and its execution is kept, and the action fails.
        third_rec = _by_name(service)["c.jsonl"]
        plan = cleanup.plan_delete(third_rec, local_record=True)
        waves.claim(service, record_key(third_rec))
        [result] = execute(service, plan.actions)
        assert not result.ok and "being submitted" in result.message
        assert "c.jsonl" in _by_name(service)
        service.store.update(record_key(third_rec), lambda r: r.update(local_state="queued"))

        # A cancelled record deletes like any final one.
        cancel_job(service, _by_name(service)["c.jsonl"])
        plan = cleanup.plan_delete(_by_name(service)["c.jsonl"], local_record=True)
        assert [a.kind for a in plan.actions] == ["record"]
        assert all(r.ok for r in execute(service, plan.actions))
        poll_until_idle(service)
        assert len(emu.batches_snapshot()) == 1
    assert set(_by_name(service)) == {"a.jsonl"}


def test_deleting_the_kept_upload_of_a_queued_part_uploads_it_again(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "full.jsonl", ({"key": f"k{i:03d}", "request": {"contents": [
        {"parts": [{"text": "z" * 40}]}]}} for i in range(200)))
    with Emulator(api_key=KEY, job_seconds=0.4, enqueued_token_budget=1_500) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=100, backoff_initial=0.2, backoff_max=0.4))
        service.submit(src, model=MODEL)
        part2 = next(r for r in service.store.read_all() if r["group_part"] == 2)
        plan = cleanup.plan_delete(part2)
        assert [a.kind for a in plan.actions] == ["input"]
        assert all(r.ok for r in execute(service, plan.actions))
        poll_until_idle(service)
        assert emu.server_errors == []
    part2 = next(r for r in service.store.read_all() if r["group_part"] == 2)
    assert record_state(part2) == SUCCEEDED and "remote_deleted" not in part2, json.dumps(part2)


def test_cli_cancel_of_a_queued_file(tmp_path: Path) -> None:
    from tests.cli.conftest import Cli

    first, second = _file(tmp_path, "a.jsonl", "a"), _file(tmp_path, "b.jsonl", "b")
    with Emulator(api_key=KEY, job_seconds=5, enqueued_token_budget=1_500) as emu:
        cli = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        cli.home.mkdir(parents=True)
        (cli.home / "config.json").write_text(json.dumps({"enqueued_token_budget": {MODEL: 1_500}}))
        out = cli("submit", str(first), str(second))
        assert out.returncode == 0 and "queued" in out.stdout, out.stdout + out.stderr
        cancelled = cli("cancel", str(second))
        assert cancelled.returncode == 0, cancelled.stderr
        assert cancelled.stdout.strip() == "b.jsonl: cancelled while queued, now CANCELLED"
        listed = {Path(r["input_file"]).name: r for r in json.loads(cli("list", "--json").stdout)}
        assert listed["b.jsonl"]["local_state"] == "cancelled" and len(emu.batches_snapshot()) == 1
