"""The headless runs of one-file batch scripts, as real processes against the emulator (real SDK, real HTTP):
`list --state`, `list --remote`, `poll JOB...` (adopting a job submitted elsewhere), `poll --timeout`,
`cancel --all-active` and `submit --wait -o`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google import genai

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.models import CANCELLED, SUCCEEDED, batch_name, record_state
from gembatch_tui.core.store import JobStore
from tests.cli.conftest import Cli

KEY = "parity-key-1234"


def _input(path: Path, n: int = 3, word: str = "q") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(
        json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"{word} {i}"}]}]}}) + "\n"
        for i in range(n)
    ))
    return path


@pytest.fixture
def emu() -> Emulator:
    with Emulator(api_key=KEY, job_seconds=0.3) as emulator:  # the tests wait for the jobs: short ones
        yield emulator


@pytest.fixture
def slow_emu() -> Emulator:
    with Emulator(api_key=KEY, job_seconds=3600.0) as emulator:
        yield emulator


def _cli(tmp_path: Path, emu: Emulator) -> Cli:
    """The CLI with a config that polls every second (`submit --wait` uses the configured interval)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.json").write_text(json.dumps({"poll_interval": 1}))
    return Cli(home, env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})


def _store(cli: Cli) -> JobStore:
    return JobStore(cli.home / "jobs.jsonl")


def _sdk(emu: Emulator) -> genai.Client:
    return genai.Client(api_key=KEY, http_options={"base_url": emu.url})


def test_list_state_filters_records_and_refuses_unknown_names(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    a, b = _input(tmp_path / "in" / "a.jsonl"), _input(tmp_path / "in" / "b.jsonl", word="other")
    assert cli("submit", str(a), str(b)).returncode == 0
    assert cli("poll", "--interval", "0.2", "--timeout", "2").returncode == 0
    name_a = batch_name(next(r for r in _store(cli).read_all() if r["input_file"] == str(a)))
    assert cli("cancel", str(b)).returncode == 1  # already final: nothing to cancel
    listed = cli("list", "--state", "Succeeded", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {r["batch"]["state"] for r in json.loads(listed.stdout)} == {SUCCEEDED}
    assert len(json.loads(listed.stdout)) == 2
    none = cli("list", "--state", "failed,cancelled", "--json")
    assert json.loads(none.stdout) == []
    table = cli("list", "--state", "succeeded")
    assert name_a.split("/", 1)[1][:14] in table.stdout
    empty = cli("list", "--state", "failed")  # the store is not empty: the filter is what left nothing
    assert empty.returncode == 0 and empty.stdout.startswith("no jobs match --state failed; 2 jobs in ")
    bad = cli("list", "--state", "finished")
    assert bad.returncode == 2
    assert "unknown state 'finished'" in bad.stderr and "active" in bad.stderr and "expired" in bad.stderr
    # the store's own states have names too: a submission refused before a job was made is listed by its own
    refused = _store(cli).add({"input_file": str(tmp_path / "in" / "c.jsonl"), "count": 1,
                               "local_state": "submit_failed", "error": "the API key was rejected"})
    found = cli("list", "--state", "submit_failed,missing,queued", "--json")
    assert found.returncode == 0 and [r["id"] for r in json.loads(found.stdout)] == [refused["id"]], found
    assert json.loads(cli("list", "--state", "failed", "--json").stdout) == []  # a job state only
    final = cli("list", "--state", "final", "--json")  # the dashboard's `state:final` (QA pass 4)
    assert final.returncode == 0 and {r["input_file"] for r in json.loads(final.stdout)} == {str(a), str(b)}


def test_list_remote_shows_untracked_jobs_marked_so(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    assert cli("submit", str(_input(tmp_path / "in" / "mine.jsonl"))).returncode == 0
    sdk = _sdk(emu)
    uploaded = sdk.files.upload(file=str(_input(tmp_path / "elsewhere.jsonl", word="x")),
                                config={"mime_type": "jsonl"})
    other = sdk.batches.create(model="gemini-2.5-flash", src=uploaded.name, config={"display_name": "\x1b[31mred"})
    run = cli("list", "--remote", "--json")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert {row["name"]: row["tracked"] for row in rows} == {
        batch_name(_store(cli).read_all()[0]): True, other.name: False}
    table = cli("list", "--remote")
    assert "not tracked" in table.stdout and "\x1b" not in table.stdout
    active = cli("list", "--remote", "--state", "active", "--json")
    assert {row["name"] for row in json.loads(active.stdout)} <= {row["name"] for row in rows}


def test_poll_named_job_adopts_one_submitted_elsewhere_and_fetches_its_results(
    tmp_path: Path, emu: Emulator
) -> None:
    cli = _cli(tmp_path, emu)
    sdk = _sdk(emu)
    uploaded = sdk.files.upload(file=str(_input(tmp_path / "elsewhere.jsonl", n=4)), config={"mime_type": "jsonl"})
    job = sdk.batches.create(model="gemini-2.5-flash", src=uploaded.name)
    mine = _input(tmp_path / "in" / "mine.jsonl")
    assert cli("submit", str(mine)).returncode == 0
    run = cli("poll", job.name, "--interval", "0.2", "--timeout", "1")
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert f"{job.name}: adopted into the store" in run.stdout
    assert "results saved to" in run.stdout
    records = {batch_name(r): r for r in _store(cli).read_all()}
    adopted = records[job.name]
    assert record_state(adopted) == SUCCEEDED and adopted["results_verified"]
    assert len(Path(adopted["results_file"]).read_text().splitlines()) == 4
    # Only the named job was polled: the other one was never asked for, nor downloaded.
    other = next(r for name, r in records.items() if name != job.name)
    assert not other.get("results_file")


def test_poll_timeout_names_unfinished_jobs_and_exits_1(tmp_path: Path, slow_emu: Emulator) -> None:
    cli = _cli(tmp_path, slow_emu)
    src = _input(tmp_path / "in" / "slow.jsonl")
    assert cli("submit", str(src)).returncode == 0
    name = batch_name(_store(cli).read_all()[0])
    run = cli("poll", str(src), "--interval", "0.1", "--timeout", "0.01")
    assert run.returncode == 1
    assert f"{name} (slow.jsonl): still" in run.stdout and "keeps running on the server" in run.stdout
    assert any(b["state"] in ("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING") for b in slow_emu.batches_snapshot())


def test_poll_timeout_names_only_what_it_waited_for(tmp_path: Path, slow_emu: Emulator) -> None:
    """A record that never reached the server (its submit failed) is not "still running on the server"."""
    cli = _cli(tmp_path, slow_emu)
    refused = _input(tmp_path / "in" / "refused.jsonl")
    assert cli("--api-key", "WRONG-KEY-1234567890", "submit", str(refused)).returncode != 0
    assert [r.get("local_state") for r in _store(cli).read_all()] == ["submit_failed"]
    assert cli("submit", str(_input(tmp_path / "in" / "slow.jsonl"))).returncode == 0
    run = cli("poll", "--interval", "0.1", "--timeout", "0.01")
    assert run.returncode == 1
    assert "(slow.jsonl): still" in run.stdout and "keeps running on the server" in run.stdout
    assert "refused.jsonl" not in run.stdout


def test_poll_of_an_unknown_job_is_an_error(tmp_path: Path, emu: Emulator) -> None:
    run = _cli(tmp_path, emu)("poll", "batches/doesnotexist", "--once")
    assert run.returncode == 2  # nothing was done: as cancel, delete, archive and export answer an unknown JOB
    assert "batches/doesnotexist: no such job in " in run.stderr and "nor on the server" in run.stderr


def test_cancel_all_active_refuses_without_a_terminal_then_cancels_with_yes(
    tmp_path: Path, slow_emu: Emulator
) -> None:
    cli = _cli(tmp_path, slow_emu)
    a, b = _input(tmp_path / "in" / "a.jsonl"), _input(tmp_path / "in" / "b.jsonl", word="b")
    assert cli("submit", str(a), str(b)).returncode == 0
    sdk = _sdk(slow_emu)
    uploaded = sdk.files.upload(file=str(_input(tmp_path / "x.jsonl", word="x")), config={"mime_type": "jsonl"})
    untracked = sdk.batches.create(model="gemini-2.5-flash", src=uploaded.name)

    refused = cli("cancel", "--all-active")
    assert refused.returncode == 2
    assert "will cancel 2 jobs" in refused.stdout and "--yes" in refused.stderr
    assert all(b["state"] == "BATCH_STATE_PENDING" for b in slow_emu.batches_snapshot())

    run = cli("cancel", "--all-active", "--yes")
    assert run.returncode == 0, run.stderr
    assert all(record_state(r) == CANCELLED for r in _store(cli).read_all())
    states = {b["name"]: b["state"] for b in slow_emu.batches_snapshot()}
    assert states[untracked.name] == "BATCH_STATE_PENDING"  # not in the store and no --remote: left alone

    remote = cli("cancel", "--all-active", "--remote", "--yes")
    assert remote.returncode == 0, remote.stderr
    assert f"{untracked.name} (not tracked by this store)" in remote.stdout
    assert {b["name"]: b["state"] for b in slow_emu.batches_snapshot()}[untracked.name] == "BATCH_STATE_CANCELLED"
    assert cli("cancel", "--all-active").stdout.startswith("no active jobs")


def test_submit_wait_downloads_and_writes_output(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    src = _input(tmp_path / "in" / "run.jsonl", n=5)
    target = tmp_path / "out" / "answers.jsonl"
    run = cli("submit", "--wait", "--timeout", "2", "-o", str(target), str(src))
    assert run.returncode == 0, (run.stdout, run.stderr)
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"[1/1] {src}: submitted batches/")
    assert any("-> SUCCEEDED" in line for line in lines)
    assert any("results saved to" in line for line in lines)
    assert lines[-1].endswith(f"results written to {target}")
    rec = _store(cli).read_all()[0]
    assert target.read_bytes() == Path(rec["results_file"]).read_bytes()
    assert sorted(json.loads(line)["key"] for line in target.read_text().splitlines()) == [f"k{i}" for i in range(5)]


def test_submit_wait_force_waits_for_and_writes_the_new_job_not_the_earlier_one(tmp_path: Path, emu: Emulator) -> None:
    """--force makes a second job of a file submitted before: --wait -o is about that new job alone."""
    cli = _cli(tmp_path, emu)
    src = _input(tmp_path / "in" / "run.jsonl", n=4)
    assert cli("submit", "--wait", "--timeout", "2", str(src)).returncode == 0
    target = tmp_path / "out" / "again.jsonl"
    run = cli("submit", "--wait", "--force", "--timeout", "2", "-o", str(target), str(src))
    assert run.returncode == 0, (run.stdout, run.stderr)
    old, new = sorted(_store(cli).read_all(), key=lambda r: r["submitted_at"])
    assert batch_name(new) != batch_name(old) and len(emu.batches_snapshot()) == 2
    assert run.stdout.splitlines()[-1] == f"{batch_name(new)}: results written to {target}"
    assert target.read_bytes() == Path(new["results_file"]).read_bytes()


def test_submit_output_is_never_a_results_file_changed_since_it_was_verified(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    src = _input(tmp_path / "in" / "run.jsonl", n=5)
    first, second = tmp_path / "out" / "first.jsonl", tmp_path / "out" / "second.jsonl"
    assert cli("submit", "--wait", "--timeout", "2", "-o", str(first), str(src)).returncode == 0
    results = Path(_store(cli).read_all()[0]["results_file"])
    verified = results.read_bytes()
    results.write_bytes(b"\n".join(verified.splitlines()[:3]) + b"\n")  # a copy that stopped half-way

    run = cli("submit", "--wait", "--timeout", "2", "-o", str(second), str(src))
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert "changed since it was verified" in run.stderr and "not written" in run.stderr
    assert not second.exists() and not list(second.parent.glob(".second.jsonl.*"))  # no half file either

    results.unlink()  # moved away, as the message says: the next poll downloads the results again
    assert cli("poll", "--once").returncode == 0
    assert cli("submit", "--wait", "--timeout", "2", "-o", str(second), str(src)).returncode == 0
    assert second.read_bytes() == verified


def test_submit_output_that_cannot_be_a_file_is_refused_before_anything_is_sent(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    src = _input(tmp_path / "in" / "a.jsonl")
    (tmp_path / "afile").write_text("x")
    for target, why in ((tmp_path / "in", "is a directory"), (tmp_path / "afile" / "o.jsonl", "is a file")):
        run = cli("submit", "--wait", "-o", str(target), str(src))
        assert run.returncode == 2 and why in run.stderr, run
    assert not emu.batches_snapshot() and not emu.files_snapshot()


def test_submit_output_needs_a_single_input(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    a, b = _input(tmp_path / "in" / "a.jsonl"), _input(tmp_path / "in" / "b.jsonl", word="b")
    run = cli("submit", "--wait", "-o", str(tmp_path / "o.jsonl"), str(a), str(b))
    assert run.returncode == 2 and "-o" in run.stderr
    assert not emu.batches_snapshot()


def test_submit_wait_exits_1_when_a_request_was_not_answered_and_still_writes_output(tmp_path: Path,
                                                                                   emu: Emulator) -> None:
    """The rule `run --realtime` follows: 0 only when every request was answered without error."""
    cli = _cli(tmp_path, emu)
    src = _input(tmp_path / "in" / "mixed.jsonl", n=3)
    lines = src.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["request"]["generationConfig"] = {"bogusField": 1}  # a warning here; the service answers it with an error
    src.write_text("\n".join([lines[0], json.dumps(bad), lines[2]]) + "\n")
    target = tmp_path / "out" / "answers.jsonl"
    run = cli("submit", "--wait", "--timeout", "2", "-o", str(target), str(src))
    assert run.returncode == 1, (run.stdout, run.stderr)
    name = batch_name(_store(cli).read_all()[0])
    assert f"{name} (mixed.jsonl): 1 of 3 requests not answered (1 error, 0 missing)" in run.stderr
    assert run.stdout.splitlines()[-1].endswith(f"results written to {target}")
    assert len(target.read_text().splitlines()) == 3


def test_submit_wait_exits_1_for_a_job_that_ended_cancelled(tmp_path: Path, slow_emu: Emulator) -> None:
    import subprocess
    import sys
    import time

    cli = _cli(tmp_path, slow_emu)
    src = _input(tmp_path / "in" / "c.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "gembatch_tui", "submit", "--wait", "--timeout", "2", str(src)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli.env,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not ((cli.home / "jobs.jsonl").exists() and any(batch_name(r) for r in _store(cli).read_all())):
            assert time.monotonic() < deadline and proc.poll() is None, "the job was never recorded"
            time.sleep(0.05)
        name = batch_name(_store(cli).read_all()[0])
        sdk = _sdk(slow_emu)  # held: a collected client closes its transport
        sdk.batches.cancel(name=name)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, (stdout, stderr)
    assert f"{name} (c.jsonl): ended CANCELLED, not every request was answered" in stderr


def test_submit_wait_sends_what_it_had_to_queue_and_waits_for_it(tmp_path: Path) -> None:
    """The second file does not fit the model's enqueued-token budget while the first runs: it is queued here
    (429). --wait used to poll only its jobs' states and never send the queue, so it waited for ever in silence."""
    with Emulator(api_key=KEY, job_seconds=0.5, enqueued_token_budget=4) as budget_emu:
        cli = _cli(tmp_path, budget_emu)
        (cli.home / "config.json").write_text(json.dumps({"poll_interval": 1, "limits": {"queue_backoff_initial": 1}}))
        first, second = _input(tmp_path / "in" / "g1.jsonl", word="a"), _input(tmp_path / "in" / "g2.jsonl", word="b")
        run = cli("submit", "--wait", "--timeout", "2", str(first), str(second))
        assert run.returncode == 0, (run.stdout, run.stderr)
        assert f"{second}: queued" in run.stdout, run.stdout
        assert any("QUEUED -> PENDING" in line for line in run.stdout.splitlines()), run.stdout
        records = _store(cli).read_all()
        assert len(records) == 2 and all(r.get("results_verified") for r in records), records
        assert len(budget_emu.batches_snapshot()) == 2  # each file sent once


def test_an_earlier_attempt_of_a_retried_part_is_tracked_and_never_adopted(tmp_path: Path, slow_emu: Emulator) -> None:
    """A part cancelled and retried keeps its first job in `previous_attempts`. `list --remote` called that job
    "not tracked", and `poll --once` of its name adopted it as a second record of the same part."""
    cli = _cli(tmp_path, slow_emu)
    src = _input(tmp_path / "in" / "split.jsonl", n=5)
    assert cli("submit", "--max-requests-per-job", "2", str(src)).returncode == 0
    parts = sorted(_store(cli).read_all(), key=lambda r: r["group_part"])
    old = batch_name(parts[1]) or ""
    assert cli("cancel", old).returncode == 0
    assert cli("retry", old).returncode == 0
    assert cli("poll", "--once").returncode == 0  # the retried part is sent again: a new job
    assert batch_name(_store(cli).get(parts[1]["id"]) or {}) not in (None, old)

    listed = cli("list", "--remote")
    row = next(line for line in listed.stdout.splitlines() if old.split("/")[1][:14] in line)
    assert "tracked (earlier attempt)" in row and "not tracked" not in row, listed.stdout
    as_json = json.loads(cli("list", "--remote", "--json").stdout)
    entry = next(r for r in as_json if r["name"] == old)
    assert entry["tracked"] and entry["earlier_attempt"] and entry["id"] == parts[1]["id"]

    run = cli("poll", "--once", old)
    assert "an earlier attempt of" in run.stderr and "not adopted" in run.stderr, run
    assert len(_store(cli).read_all()) == 3  # no second record of the part


def test_ctrl_c_while_submit_waits_says_the_job_keeps_running(tmp_path: Path, slow_emu: Emulator) -> None:
    import signal
    import subprocess
    import sys
    import time

    cli = _cli(tmp_path, slow_emu)
    src = _input(tmp_path / "in" / "long.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "gembatch_tui", "submit", "--wait", str(src)], env=cli.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        from gembatch_tui.core.poll import presence

        deadline = time.monotonic() + 60  # inside the wait: its presence file says it made a pass
        while not [p for p in presence.others(_store(cli).path) if p.pid == proc.pid and p.last_pass]:
            assert time.monotonic() < deadline and proc.poll() is None, "the wait never made a pass"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, errors = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (out, errors)
    assert "stopped waiting: the jobs keep running on the server" in errors and "Traceback" not in errors, errors
    assert record_state(_store(cli).read_all()[0]) == "JOB_STATE_PENDING"  # nothing was cancelled


def test_an_unknown_model_is_bad_input_exit_2(tmp_path: Path, emu: Emulator) -> None:
    """CONTRACTS.md: 2 for bad input, nothing done. A misspelt --model sent nothing but exited 1."""
    cli = _cli(tmp_path, emu)
    run = cli("submit", "-m", "gemini-nonexistent-9", str(_input(tmp_path / "in" / "m.jsonl")))
    assert run.returncode == 2, run
    assert "model gemini-nonexistent-9: the service does not know it" in run.stdout
    assert _store(cli).read_all() == [] and emu.batches_snapshot() == []


def test_cleanup_answered_no_changes_nothing_not_even_leftovers(tmp_path: Path, emu: Emulator) -> None:
    """'n' (here: no terminal and no --yes) printed "nothing deleted" and then removed unused lock files."""
    from gembatch_tui.core.poll import download_lock

    cli = _cli(tmp_path, emu)
    assert cli("submit", "--wait", "--timeout", "2", str(_input(tmp_path / "in" / "c.jsonl"))).returncode == 0
    forgotten = download_lock.lock_dir(_store(cli).path) / "batch0gone.lock"
    forgotten.parent.mkdir(parents=True, exist_ok=True)
    forgotten.touch()
    import os
    import subprocess
    import sys

    master, terminal = os.openpty()  # a terminal to answer on: the answer is typed before the question comes
    try:
        os.write(master, b"n\n")
        run = subprocess.run([sys.executable, "-m", "gembatch_tui", "cleanup"], env=cli.env, stdin=terminal,
                             capture_output=True, text=True, timeout=120)
    finally:
        os.close(terminal)
        os.close(master)
    assert run.returncode == 0 and "nothing deleted" in run.stdout and forgotten.exists(), run
    run = cli("cleanup", "--yes")
    assert run.returncode == 0 and "unused download lock" in run.stdout and not forgotten.exists(), run
