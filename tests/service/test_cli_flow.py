"""The headless commands end to end: real processes, real SDK, the emulator over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator

from ..cli.conftest import Cli
from .conftest import KEY


@pytest.fixture
def cli_env(emulator: Emulator, tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emulator.url})


def test_whole_flow(cli_env: Cli, emulator: Emulator, examples: Path) -> None:
    a, b = examples / "basic.jsonl", examples / "structured-output.jsonl"
    out = cli_env("submit", str(a), str(b))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"[1/2] {a}: submitted batches/") and lines[0].endswith("(5 requests)")
    assert lines[1].startswith(f"[2/2] {b}: submitted batches/")
    again = cli_env("submit", str(a))
    assert again.returncode == 0 and "skipped (already submitted as batches/" in again.stdout
    polled = cli_env("poll", "--interval", "0.3")
    assert polled.returncode == 0, polled.stderr
    assert "-> SUCCEEDED" in polled.stdout and "results saved to" in polled.stdout
    records = json.loads(cli_env("list", "--json").stdout)
    assert len(records) == 2
    for rec in records:
        assert set(rec) >= {"input_file", "count", "uploaded_file_name", "batch", "results_file"}
        batch = rec["batch"]
        assert batch["state"] == "JOB_STATE_SUCCEEDED" and batch["name"].startswith("batches/")
        assert batch["dest"]["file_name"].startswith("files/batch-")
        assert set(batch["stats"]) == {"request_count", "successful_request_count", "failed_request_count", "pending_request_count"}
        assert Path(rec["results_file"]).is_file()
    listed = cli_env("list")
    assert "SUCCEEDED" in listed.stdout and "5/5" in listed.stdout
    cleaned = cli_env("cleanup", "--yes")
    assert cleaned.returncode == 0, cleaned.stderr
    assert cleaned.stdout.count("deleted ") == 6  # 2 x (batch, input, output)
    assert emulator.batches_snapshot() == [] and emulator.files_snapshot() == []
    assert cli_env("cleanup", "--yes").stdout.strip() == "nothing to clean up"
    assert all(Path(r["results_file"]).is_file() for r in records), "cleanup must never touch local results"
    everything = (cli_env.home / "jobs.jsonl").read_text() + out.stdout + out.stderr + polled.stdout + polled.stderr
    assert KEY not in everything


def test_cancel_then_delete(cli_env: Cli, emulator: Emulator, examples: Path, tmp_path: Path) -> None:
    slow = Emulator(api_key=KEY, job_seconds=30).start()
    try:
        env = Cli(tmp_path / "home2", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": slow.url})
        sub = env("submit", str(examples / "basic.jsonl"))
        name = sub.stdout.split("submitted ")[1].split()[0]
        refused = env("delete", name)
        assert refused.returncode == 1 and "cancel it first" in refused.stderr
        cancelled = env("cancel", str(examples / "basic.jsonl"))  # by input path
        assert cancelled.returncode == 0 and "CANCELLED" in cancelled.stdout
        no_tty = env("delete", name)
        assert no_tty.returncode == 2 and "--yes" in no_tty.stderr
        assert len(slow.batches_snapshot()) == 1
        deleted = env("delete", "--yes", name)
        assert deleted.returncode == 0, deleted.stderr
        assert slow.batches_snapshot() == [] and slow.files_snapshot() == []
        assert json.loads(env("list", "--json").stdout) == []
        unknown = env("cancel", "batches/doesnotexist")
        assert unknown.returncode == 2 and "no such job" in unknown.stderr  # nothing done: as export answers
    finally:
        slow.stop()


def test_cancel_of_a_job_that_ended_since_the_last_poll_records_how_it_ended(
    examples: Path, tmp_path: Path
) -> None:
    """The server refuses (400 FAILED_PRECONDITION): the store learns the job's final state instead of saying
    PENDING for ever, so delete (which refuses an active job) can go on."""
    import time

    with Emulator(api_key=KEY, job_seconds=0.5) as quick:
        env = Cli(tmp_path / "home3", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": quick.url})
        sub = env("submit", str(examples / "basic.jsonl"))
        name = sub.stdout.split("submitted ")[1].split()[0]
        deadline = time.monotonic() + 30
        while quick.batches_snapshot()[0]["state"] != "BATCH_STATE_SUCCEEDED":
            assert time.monotonic() < deadline, quick.batches_snapshot()
            time.sleep(0.1)
        assert json.loads(env("list", "--json").stdout)[0]["batch"]["state"] == "JOB_STATE_PENDING"
        cancelled = env("cancel", name)
        assert cancelled.returncode == 1
        assert f"{name} is already SUCCEEDED on the server; nothing to cancel" in cancelled.stderr
        assert json.loads(env("list", "--json").stdout)[0]["batch"]["state"] == "JOB_STATE_SUCCEEDED"
        assert "cancel it first" not in env("delete", name).stderr  # no longer refused as active


BAD_INPUTS = {
    "not-json.jsonl": ('{"key": "a", "request": {"contents": []}}\nthis is not json\n', ":2: ", "JSON"),
    "missing-request.jsonl": ('{"key": "a", "other": 1}\n', ":1: ", "request"),
    "dup-keys.jsonl": (
        '{"key": "a", "request": {"contents": [{"parts": [{"text": "x"}]}]}}\n'
        '{"key": "a", "request": {"contents": [{"parts": [{"text": "y"}]}]}}\n', ":2: ", "line 1"),
    "empty.jsonl": ("", "", "no requests"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_corpus(cli_env: Cli, emulator: Emulator, tmp_path: Path, name: str) -> None:
    content, where, words = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_text(content)
    out = cli_env("submit", str(path))
    assert out.returncode == 2
    assert f"{path}{where}" in out.stderr and words in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert emulator.batches_snapshot() == [] and emulator.files_snapshot() == []


def test_bad_paths_and_binary(cli_env: Cli, emulator: Emulator, tmp_path: Path, examples: Path) -> None:
    binary = tmp_path / "blob.jsonl"
    binary.write_bytes(b"\x00\x01\x02\xff\xfe" * 100)
    for target in (tmp_path / "missing.jsonl", tmp_path, binary):
        out = cli_env("submit", str(target))
        assert out.returncode == 2, target
        assert str(target) in out.stderr and "Traceback" not in out.stderr
    mixed = cli_env("submit", str(binary), str(examples / "basic.jsonl"))
    assert mixed.returncode == 1  # the good file was submitted: partly done
    assert "[2/2]" in mixed.stdout and "submitted batches/" in mixed.stdout  # the good file still goes
    assert len(emulator.batches_snapshot()) == 1


def test_fault_injection_every_job_final_no_duplicates(examples: Path, tmp_path: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=0.8, error_rate=0.2, seed=3) as emu:
        env = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        env.home.mkdir(parents=True)
        (env.home / "config.json").write_text(json.dumps({"retry": {"attempts": 6, "initial_delay": 0.05, "max_delay": 0.2}}))
        files = []
        for i in range(4):
            f = examples / f"copy{i}.jsonl"
            f.write_text((examples / "basic.jsonl").read_text().replace("request_", f"r{i}_"))
            files.append(str(f))
        sub = env("submit", *files, timeout=300)
        assert sub.returncode in (0, 1), sub.stderr
        for _ in range(3):  # a user re-running submit after transient failures
            env("submit", *files, timeout=300)
        polled = env("poll", "--interval", "0.2", timeout=300)
        records = json.loads(env("list", "--json").stdout)
        names = [r["batch"]["name"] for r in records if r.get("batch", {}).get("name")]
        assert len(names) == len(set(names))
        remote = [b["name"] for b in emu.batches_snapshot()]
        assert len(remote) == len(set(remote)) == len(names) == 4, (sub.stdout, sub.stderr)
        assert all(r["batch"]["state"] == "JOB_STATE_SUCCEEDED" for r in records if "batch" in r), polled.stdout
