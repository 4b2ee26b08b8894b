"""Split inputs, wave scheduling under an enqueued-token budget, and merged results, against the emulator."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.models import LOCAL_QUEUED, LOCAL_SUBMITTING, record_key, record_state
from gembatch_tui.core.poll.poller import poll_once

from .support import KEY, MODEL, keys_of, make_service, poll_until_idle, text_requests, write_lines


# The split, the three parts and the merge are the same at 3,000 requests; 30,000 (the volume users send) is a
# soak of the same path, run with -m slow.
@pytest.mark.parametrize("total", [3_000, pytest.param(30_000, marks=pytest.mark.slow)])
def test_requests_over_the_job_limit_become_three_jobs_and_one_merged_file(tmp_path: Path, total: int) -> None:
    per_job = total // 3
    started = time.monotonic()
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(total))
    original = src.read_bytes()
    with Emulator(api_key=KEY, job_seconds=0.2) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=per_job))
        out = service.submit(src, model=MODEL)
        assert out.status == "submitted" and out.parts == 3 and len(out.batch_names) == 3, out.line()
        assert f"({total} requests in 3 parts)" in out.line()
        remote = emu.batches_snapshot()
        assert sorted(b["request_count"] for b in remote) == [per_job] * 3

        records = sorted(service.store.read_all(), key=lambda r: r["group_part"])
        assert [r["group_part"] for r in records] == [1, 2, 3]
        assert {r["group_id"] for r in records} == {out.group_id}
        assert all(r["group_parts"] == 3 and r["group_input_file"] == str(src) for r in records)
        assert all(r["group_count"] == total and r["count"] == per_job for r in records)
        assert [Path(r["input_file"]).name for r in records] == [f"big.part-00{i}-of-003.jsonl" for i in (1, 2, 3)]
        assert Path(records[0]["input_file"]).parent.parent == service.parts_root()

        poll_until_idle(service)
        assert emu.server_errors == []
    records = service.store.read_all()
    merged = src.parent / "results" / "big.jsonl"
    assert {r["group_results_file"] for r in records} == {str(merged)}
    assert all(r["group_results_verified"] for r in records)
    assert records[0]["group_results_check"] == {
        "lines": total, "ok": total, "errors": 0, "missing": 0, "unexpected": 0, "duplicates": 0}
    assert keys_of(merged) == [f"k{i:05d}" for i in range(total)]  # every key once, in input order
    for rec in records:  # each part keeps its own verified results
        assert Path(rec["results_file"]).is_file() and rec["results_check"]["ok"] == per_job
    assert src.read_bytes() == original
    assert time.monotonic() - started < 50


def test_budget_runs_parts_one_after_another(tmp_path: Path) -> None:
    # 300 requests of 40 characters = 10 tokens each; 100 per part = 1,000 tokens; a budget of 1,500 fits one.
    lines = ({"key": f"k{i:03d}", "request": {"contents": [{"parts": [{"text": f"{i:03d}" + "x" * 37}]}]}}
             for i in range(300))
    src = write_lines(tmp_path / "in" / "budget.jsonl", lines)
    budget = 1_500
    with Emulator(api_key=KEY, job_seconds=0.4, enqueued_token_budget={MODEL: budget}) as emu:
        limits = JobLimits(max_requests_per_job=100, token_budgets={MODEL: budget})
        service = make_service(emu, tmp_path, limits)
        out = service.submit(src, model=MODEL)
        assert out.status == "submitted" and out.parts == 3 and len(out.batch_names) == 1 and out.queued == 2
        waiting = [r for r in service.store.read_all() if record_state(r) == LOCAL_QUEUED]
        assert len(waiting) == 2 and "enqueued-token budget" in waiting[0]["queued_reason"]
        assert "waiting behind earlier queued jobs" in waiting[1]["queued_reason"]
        assert all(r["est_input_tokens"] == 1_000 for r in service.store.read_all())
        seen: list[int] = []

        def check(_report: object) -> None:
            seen.append(emu.enqueued_tokens(MODEL))
            assert seen[-1] <= budget

        reports = poll_until_idle(service, on_pass=check)
        jobs = sorted(emu.batches_snapshot(), key=lambda b: b["create_time"])
        assert emu.budget_rejections == 0 and emu.server_errors == []
        assert max(emu.peak_enqueued_tokens.values()) <= budget
    assert len(jobs) == 3
    for earlier, later in zip(jobs, jobs[1:]):  # one after another: each created after the previous ended
        assert later["create_time"] >= earlier["end_time"]
    submitted = [c for r in reports for c in r.changes if c.old == LOCAL_QUEUED]
    assert len(submitted) == 2
    assert keys_of(src.parent / "results" / "budget.jsonl") == [f"k{i:03d}" for i in range(300)]


def test_budget_alone_splits_to_fit(tmp_path: Path) -> None:
    lines = ({"key": f"k{i:03d}", "request": {"contents": [{"parts": [{"text": "y" * 40}]}]}} for i in range(300))
    src = write_lines(tmp_path / "in" / "tokens.jsonl", lines)
    with Emulator(api_key=KEY, job_seconds=0.3, enqueued_token_budget=1_500) as emu:
        service = make_service(emu, tmp_path, JobLimits(token_budgets={"*": 1_500}))
        out = service.submit(src, model=MODEL)
        assert out.parts == 2 and out.status == "submitted", out.line()
        assert [r["est_input_tokens"] for r in service.store.read_all()] == [1_500, 1_500]
        poll_until_idle(service)
        assert emu.budget_rejections == 0 and len(emu.batches_snapshot()) == 2
    assert len(keys_of(src.parent / "results" / "tokens.jsonl")) == 300


def test_429_at_create_requeues_with_backoff_and_reuses_the_upload(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "full.jsonl", ({"key": f"k{i:03d}", "request": {"contents": [
        {"parts": [{"text": "z" * 40}]}]}} for i in range(300)))
    with Emulator(api_key=KEY, job_seconds=0.3, enqueued_token_budget=1_500) as emu:
        # The client knows no budget: it only learns from the service's 429s.
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=100, backoff_initial=0.15, backoff_max=0.3))
        out = service.submit(src, model=MODEL)
        assert out.status == "submitted" and len(out.batch_names) == 1 and out.queued == 2
        second = next(r for r in service.store.read_all() if r["group_part"] == 2)
        assert second["local_state"] == "queued" and second["queue_attempts"] == 1
        assert "429" in second["queued_reason"] and "nqueued tokens" in second["queued_reason"]
        assert second["retry_after"] and second["uploaded_file_name"].startswith("files/")
        assert emu.budget_rejections >= 1
        poll_until_idle(service)
        uploads = [f for f in emu.files_snapshot() if f["source"] == "UPLOADED"]
        assert len(emu.batches_snapshot()) == 3 and emu.server_errors == []
    assert len(uploads) == 3  # a part that got 429 keeps its uploaded input for the retry
    records = service.store.read_all()
    assert all(r["batch"]["state"] == "JOB_STATE_SUCCEEDED" and "retry_after" not in r for r in records)
    assert len(keys_of(src.parent / "results" / "full.jsonl")) == 300


def test_group_is_one_submission_for_the_duplicate_guard(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "dup.jsonl", text_requests(30))
    with Emulator(api_key=KEY, job_seconds=5) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        first = service.submit(src, model=MODEL)
        assert first.parts == 3
        again = service.submit(src, model=MODEL)
        assert again.status == "skipped" and first.group_id in (again.batch_name or ""), again.line()
        copy = write_lines(tmp_path / "in" / "copy.jsonl", text_requests(30))
        assert service.submit(copy, model=MODEL).status == "skipped"
        forced = service.submit(src, model=MODEL, force=True)
        assert forced.status == "submitted" and forced.group_id != first.group_id
        assert len(emu.batches_snapshot()) == 6
        with pytest.raises(Exception, match="matches 6 jobs"):
            service.resolve(str(src))


def test_interrupted_part_is_queued_again(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "crash.jsonl", text_requests(20))
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10, token_budgets={MODEL: 10}))
        service.submit(src, model=MODEL)  # the budget lets one part go at a time
        second = next(r for r in service.store.read_all() if r["group_part"] == 2)
        # A process claimed part 2 and died before uploading it.
        service.store.update(record_key(second), lambda r: r.update(
            local_state="submitting", submit_pid=2**22 + 12345, submit_host="elsewhere"))
        assert record_state(service.store.get(record_key(second)) or {}) == LOCAL_SUBMITTING
        reports = poll_until_idle(service)
        assert any("queued again" in note for r in reports for note in r.notes)
        assert len(emu.batches_snapshot()) == 2
    assert keys_of(src.parent / "results" / "crash.jsonl") == [f"k{i:05d}" for i in range(20)]


def test_cancel_before_any_part_exists_removes_the_group(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "stop.jsonl", text_requests(40))
    cancel = threading.Event()
    with Emulator(api_key=KEY, job_seconds=1) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=MODEL, cancel=cancel, progress=lambda done, total: cancel.set())
        assert out.status == "cancelled" and out.parts == 4
        assert service.store.read_all() == [] and emu.batches_snapshot() == []
        assert list(service.parts_root().iterdir()) == []


def test_failed_part_leaves_the_others_and_no_merge(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "half.jsonl", text_requests(20))
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        emu.fail_next("POST", r":batchGenerateContent$", 400, times=1, message="bad part")
        out = service.submit(src, model=MODEL)
        assert out.status == "error" and "part 1/2" in out.message and len(out.batch_names) == 1
        poll_until_idle(service)
    records = sorted(service.store.read_all(), key=lambda r: r["group_part"])
    assert records[0]["local_state"] == "submit_failed" and records[1]["results_verified"]
    assert not any("group_results_file" in r for r in records)
    assert not (src.parent / "results" / "half.jsonl").exists()


def test_cli_submit_with_flags_then_poll_merges(tmp_path: Path) -> None:
    from tests.cli.conftest import Cli

    src = write_lines(tmp_path / "in" / "cli.jsonl", text_requests(50))
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        cli = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        cli.home.mkdir(parents=True)
        (cli.home / "config.json").write_text(json.dumps({"enqueued_token_budget": {MODEL: 10_000}}))
        out = cli("submit", "--max-requests-per-job", "20", str(src))
        assert out.returncode == 0, out.stderr
        assert "(50 requests in 3 parts)" in out.stdout and out.stdout.count("batches/") == 3
        polled = cli("poll", "--interval", "0.2")
        assert polled.returncode == 0, polled.stderr
        assert f"results saved to {src.parent / 'results' / 'cli.jsonl'}" in polled.stdout
        listed = json.loads(cli("list", "--json").stdout)
    assert len(listed) == 3 and {r["group_parts"] for r in listed} == {3}
    assert keys_of(src.parent / "results" / "cli.jsonl") == [f"k{i:05d}" for i in range(50)]


def test_cli_rejects_bad_limits(tmp_path: Path) -> None:
    from tests.cli.conftest import Cli

    cli = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY})
    bad = cli("submit", "--max-bytes-per-job", "lots", str(tmp_path / "x.jsonl"))
    assert bad.returncode == 2 and "not a size" in bad.stderr
    cli.home.mkdir(parents=True)
    (cli.home / "config.json").write_text(json.dumps({"limits": {"max_requests_per_job": -1}}))
    src = write_lines(tmp_path / "ok.jsonl", text_requests(2))
    out = cli("submit", str(src))
    assert out.returncode == 2 and "max_requests_per_job must be a positive whole number" in out.stderr


def test_poll_once_stays_cheap_without_groups(tmp_path: Path) -> None:
    """Queued-record and merge checks add no remote calls to a pass over ordinary jobs."""
    src = write_lines(tmp_path / "in" / "plain.jsonl", text_requests(3))
    with Emulator(api_key=KEY, job_seconds=30) as emu:
        service = make_service(emu, tmp_path)
        service.submit(src, model=MODEL)
        before = len(emu.request_log)
        poll_once(service)
        assert len(emu.request_log) - before == 1  # one batches.get, nothing else


def test_whole_files_wait_for_the_budget_too(tmp_path: Path) -> None:
    def file(name: str, salt: str) -> Path:
        return write_lines(tmp_path / "in" / name, ({"key": f"k{i}", "request": {"contents": [
            {"parts": [{"text": salt + "w" * 39}]}]}} for i in range(100)))  # 1,000 tokens

    first, second, third = file("a.jsonl", "a"), file("b.jsonl", "b"), file("c.jsonl", "c")
    with Emulator(api_key=KEY, job_seconds=0.4, enqueued_token_budget=1_500) as emu:
        service = make_service(emu, tmp_path, JobLimits(token_budgets={MODEL: 1_500}))
        assert service.submit(first, model=MODEL).status == "submitted"
        queued = service.submit(second, model=MODEL)
        assert queued.status == "queued" and "~1,000 of 1,500 tokens enqueued" in queued.line()
        behind = service.submit(third, model=MODEL)
        assert behind.status == "queued" and "behind earlier queued jobs" in behind.message
        assert service.submit(second, model=MODEL).status == "skipped"  # queued counts as submitted
        third.write_text(third.read_text().replace("cw", "Cw", 1))  # edited while it waited
        reports = poll_until_idle(service)
        assert emu.budget_rejections == 0 and len(emu.batches_snapshot()) == 2
    assert any("input changed while queued" in e for r in reports for e in r.errors)
    states = {Path(r["input_file"]).name: record_state(r) for r in service.store.read_all()}
    assert states == {"a.jsonl": "JOB_STATE_SUCCEEDED", "b.jsonl": "JOB_STATE_SUCCEEDED",
                      "c.jsonl": "LOCAL_SUBMIT_FAILED"}


@pytest.mark.slow
def test_large_input_split_by_bytes_end_to_end(tmp_path: Path) -> None:
    """~200 MB of ~1 KB requests, 64 MiB per job: parts, uploads, results and the merge all stream."""
    import resource

    filler = "Summarise the following passage in two sentences, keeping every number exact. " * 12
    src = write_lines(tmp_path / "in" / "large.jsonl", ({"key": f"k{i:06d}", "request": {"contents": [
        {"parts": [{"text": f"{i}: {filler}"}]}]}} for i in range(200_000)))
    with Emulator(api_key=KEY, job_seconds=1) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_bytes_per_job=64 * 1024 * 1024))
        out = service.submit(src, model=MODEL)
        assert out.status == "submitted" and out.parts == 4, out.line()
        poll_until_idle(service, timeout=600)
        assert emu.server_errors == []
    [check] = {json.dumps(r["group_results_check"]) for r in service.store.read_all()}
    assert json.loads(check)["ok"] == 200_000 and json.loads(check)["missing"] == 0
    assert keys_of(src.parent / "results" / "large.jsonl")[::50_000] == ["k000000", "k050000", "k100000", "k150000"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mb < 600, peak_mb  # the emulator shares this process; nothing holds a whole file


def test_merged_results_never_replace_another_file_of_the_same_name(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "shared.jsonl", text_requests(30))
    theirs = src.parent / "results" / "shared.jsonl"
    theirs.parent.mkdir(parents=True)
    theirs.write_text('{"key": "someone else\'s results"}\n')
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=MODEL)
        assert out.parts == 3
        poll_until_idle(service)
    records = service.store.read_all()
    merged = Path(records[0]["group_results_file"])
    assert merged == src.parent / "results" / f"shared.{out.group_id[:8]}.jsonl"
    assert keys_of(merged) == [f"k{i:05d}" for i in range(30)]
    assert theirs.read_text() == '{"key": "someone else\'s results"}\n'
