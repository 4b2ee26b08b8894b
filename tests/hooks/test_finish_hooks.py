"""on_finish end to end: real `poll` processes (real SDK, emulator over HTTP), one store, a hook that appends a line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.poll import finish_hooks
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock

from .conftest import JOB_SECONDS, KEY, hook_command, make_inputs, runs, write_config


def _submit(cli: Cli, paths: list[Path]) -> list[str]:
    out = cli("submit", *map(str, paths))
    assert out.returncode == 0, out.stderr
    return [line.split("submitted ")[1].split()[0] for line in out.stdout.splitlines()]


def _poll(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gembatch_tui", "poll", *args], env=cli.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def _records(cli: Cli) -> dict[str, dict]:
    return {r["batch"]["name"]: r for r in json.loads(cli("list", "--json").stdout)}


def test_hook_runs_once_per_job_across_two_concurrent_pollers(cli: Cli, clock: ManualClock, hook_dir: Path,
                                                               tmp_path: Path) -> None:
    names = _submit(cli, make_inputs(tmp_path, 4))
    first = cli("poll", "--once")  # both pollers below start from a store that says RUNNING
    assert first.returncode == 0, first.stderr
    assert runs(hook_dir) == []
    clock.advance(JOB_SECONDS + 1)  # every job is now final on the server; neither poller has seen it
    pollers = [_poll(cli, "--watch", "--interval", "0.2"), _poll(cli, "--once")]
    outputs = [p.communicate(timeout=120) for p in pollers]
    for p, (out, err) in zip(pollers, outputs):
        assert p.returncode == 0, err
    again = [_poll(cli, "--once"), _poll(cli, "--once")]  # and two more passes: nothing runs a second time
    for p in again:
        p.communicate(timeout=120)
    lines = runs(hook_dir)
    assert sorted(line.split()[0] for line in lines) == sorted(names), lines
    assert all(line.split()[1] == "SUCCEEDED" for line in lines)
    said = "".join(out for out, _err in outputs)
    assert sum(said.count(f"{name}: on_finish done") for name in names) == len(names)
    for name, rec in _records(cli).items():
        mark = rec["finish_hook"]
        assert mark["exit_code"] == 0 and mark["claimed_at"] and mark["ran_at"], (name, mark)


def test_hook_environment_has_the_job_and_never_the_key(cli: Cli, clock: ManualClock, hook_dir: Path,
                                                        tmp_path: Path) -> None:
    [path] = make_inputs(tmp_path, 1)
    [name] = _submit(cli, [path])
    clock.advance(JOB_SECONDS + 1)
    done = cli("poll", "--once")
    assert done.returncode == 0, done.stderr
    rec = _records(cli)[name]
    seen = json.loads((hook_dir / f"{rec['id']}.json").read_text())
    env = seen["env"]
    assert env["GEMBATCH_JOB_NAME"] == name and env["GEMBATCH_JOB_ID"] == rec["id"]
    assert env["GEMBATCH_JOB_STATE"] == "SUCCEEDED" and env["GEMBATCH_JOB_DISPLAY_NAME"] == path.name
    assert env["GEMBATCH_REQUEST_COUNT"] == "2" and env["GEMBATCH_SUCCEEDED_COUNT"] == "2"
    assert env["GEMBATCH_FAILED_COUNT"] == "0" and env["GEMBATCH_INPUT_FILE"] == str(path)
    assert env["GEMBATCH_RESULTS_FILE"] == rec["results_file"] and seen["results_exists"]
    assert env["GEMBATCH_JOB_MODEL"] == "gemini-2.5-flash" and env["GEMBATCH_RESULTS_ERROR"] == ""
    assert set(finish_hooks.JOB_VARS) <= set(env)
    assert "GOOGLE_API_KEY" not in env and "GEMINI_API_KEY" not in env and "GEMBATCH_KEY_COPY" not in env
    assert KEY not in json.dumps(env)


def test_a_failing_hook_is_reported_and_never_retried(cli: Cli, clock: ManualClock, hook_dir: Path,
                                                       tmp_path: Path) -> None:
    cli.env["HOOK_EXIT"] = "3"
    [name] = _submit(cli, make_inputs(tmp_path, 1))
    clock.advance(JOB_SECONDS + 1)
    done = cli("poll", "--once")
    assert done.returncode == 0, done.stderr  # a hook's failure is not a failed poll
    assert f"{name}: on_finish failed (exit 3): boom \\x1b[2J from the hook" in done.stderr
    assert "\x1b" not in done.stderr
    for _ in range(2):
        assert cli("poll", "--once").returncode == 0
    assert len(runs(hook_dir)) == 1
    mark = _records(cli)[name]["finish_hook"]
    assert mark["exit_code"] == 3 and "boom" in mark["error"]


def test_jobs_that_finished_before_a_hook_was_configured_do_not_fire_it(cli: Cli, clock: ManualClock,
                                                                       hook_dir: Path, tmp_path: Path) -> None:
    (cli.home / "config.json").unlink()
    _submit(cli, make_inputs(tmp_path, 2))
    clock.advance(JOB_SECONDS + 1)
    assert cli("poll", "--once").returncode == 0
    write_config(cli.home, hook_command(hook_dir))
    assert cli("poll", "--once").returncode == 0
    assert runs(hook_dir) == []
    assert all("finish_hook" not in rec for rec in _records(cli).values())


def test_a_bad_on_finish_setting_is_a_config_error(cli: Cli) -> None:
    write_config(cli.home, {"command": 42})
    out = cli("poll", "--once")
    assert out.returncode == 2 and "on_finish must be a command" in out.stderr


def test_two_in_process_pollers_claim_each_job_once(emulator: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    """Two services over one store in threads, started together after the jobs finished: one run per job."""
    store_path = tmp_path / "store" / "jobs.jsonl"
    services = [BatchService(JobStore(store_path), GeminiClient(KEY, base_url=emulator.url)) for _ in range(2)]
    ran: list[str] = []
    lock = threading.Lock()

    def runner(hook: finish_hooks.FinishHook, env: dict[str, str]) -> tuple[bool, str, int | None]:
        with lock:
            ran.append(env["GEMBATCH_JOB_NAME"])
        return True, "on_finish done", 0

    hook = finish_hooks.FinishHook(["true"])
    for service in services:
        finish_hooks.install(service, hook)
    for path in make_inputs(tmp_path, 3):
        assert services[0].submit(path, model="gemini-2.5-flash").status == "submitted"
    clock.advance(JOB_SECONDS + 1)
    barrier = threading.Barrier(2)
    reports = []

    def one(service: BatchService) -> None:
        barrier.wait()
        report = poll_once(service, force=True)
        reports.append(report)
        report.hooks.extend(finish_hooks.run_due(service, runner=runner))

    # poll_once runs the real command ("true") for what it claims; run_due with our runner picks up nothing more.
    threads = [threading.Thread(target=one, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    claimed = [run.name for report in reports for run in report.hooks]
    assert sorted(claimed) == sorted({r["batch"]["name"] for r in JobStore(store_path).read_all()})
    assert ran == []


def test_a_hook_that_hangs_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    hook = finish_hooks.FinishHook(f"sleep 30 & sleep 30; touch {marker}", timeout_s=0.5)
    started = time.monotonic()
    ok, message, code = finish_hooks.run_command(hook, dict(os.environ))
    assert not ok and code is None and "timed out after 0.5 s" in message
    assert time.monotonic() - started < 20  # the whole group was killed: no child kept the pipe open
    assert not marker.exists()
