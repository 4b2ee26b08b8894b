"""A real-time run killed half-way (SIGKILL, from outside) loses nothing and sends no answered key again: the rerun
of the same command sends only the keys the partial file has no answer for. Measured from the emulator's log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gembatch_tui.core.models import SUCCEEDED, record_state
from gembatch_tui.core.realtime.partial import done_keys
from gembatch_tui.core.store import JobStore
from gembatch_tui.emulator import Emulator
from tests.realtime.conftest import KEY, key_of, result_lines, write_input

ROOT = Path(__file__).resolve().parents[2]
N = 200


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gembatch_tui", *args]


def _env(home: Path, url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GEMBATCH_TUI_HOME=str(home), GOOGLE_GEMINI_BASE_URL=url, GOOGLE_API_KEY=KEY,
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def _wait_for(condition, timeout: float, what: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _partial_lines(results_dir: Path) -> int:
    found = list(results_dir.glob(".*.realtime.partial")) if results_dir.is_dir() else []
    if not found:
        return 0
    return found[0].read_bytes().count(b"\n")


def test_a_kill_half_way_then_a_rerun_sends_no_answered_key_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = write_input(tmp_path / "data" / "in.jsonl", N)
    results_dir = src.parent / "results"
    args = ("run", str(src), "--realtime", "--rpm", "100000", "--concurrency", "2")
    with Emulator(api_key=KEY, latency_ms=25) as emu:
        env = _env(home, emu.url)
        proc = subprocess.Popen(_cli(*args), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            _wait_for(lambda: _partial_lines(results_dir) >= N // 4 or proc.poll() is not None, 120,
                      "a quarter of the answers")
            assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        partial = next(results_dir.glob(".*.realtime.partial"))
        answered, _errors, _size = done_keys(partial)
        assert N // 4 <= len(answered) < N, "the kill did not land half-way"
        store = JobStore(home / "jobs.jsonl")
        (killed,) = store.read_all()
        assert record_state(killed).endswith("RUNNING")  # a SIGKILL leaves no chance to write anything else
        rerun_at = time.time()  # the emulator's clock; a request of the killed run was logged on arrival, before

        rerun = subprocess.run(_cli(*args), env=env, capture_output=True, text=True, timeout=180,
                               stdin=subprocess.DEVNULL)
        assert rerun.returncode == 0, rerun.stderr
        second = [c for c in emu.realtime_calls if c.at >= rerun_at]

    again = sorted(k for k in (key_of(c.prompt) for c in second) if k in answered)
    assert again == [], f"answered keys sent again after the kill: {again}"
    assert len(second) == N - len(answered)  # every other key exactly once
    (record,) = JobStore(home / "jobs.jsonl").read_all()
    assert record_state(record) == SUCCEEDED and record["id"] == killed["id"]
    lines = result_lines(Path(record["results_file"]))
    assert sorted(line["key"] for line in lines) == sorted(f"k{i}" for i in range(N))
    assert all("response" in line for line in lines)
    assert f"{len(answered):,} answered earlier" in rerun.stdout
    assert not list(results_dir.glob(".*.partial")), "the partial file was left behind"
    assert json.loads(json.dumps(record))["batch"]["stats"]["successful_request_count"] == N


def test_killed_between_placing_the_results_and_removing_the_partial(tmp_path: Path) -> None:
    """The partial file is removed only after the record names the results file (a hard link of it until then):
    a run killed in between is continued without sending anything, and without writing into its results file."""
    from gembatch_tui.core.realtime.limits import RealtimeLimits
    from gembatch_tui.core.realtime.record import partial_path
    from gembatch_tui.core.realtime.runner import RealtimeRun
    from gembatch_tui.core.realtime.start import RESUME, prepare_file
    from gembatch_tui.core.results.fingerprint import compute
    from tests.realtime.conftest import make_service

    limits = RealtimeLimits(rpm=None, tpm=None, concurrency=2)
    src = write_input(tmp_path / "in.jsonl", 8)
    with Emulator(api_key=KEY) as emu:
        service = make_service(emu, tmp_path / "jobs.jsonl")
        first = RealtimeRun(service, prepare_file(service, src, "gemini-2.5-flash", limits).record, limits).run()
        record = service.store.get(first.record_key)
        results = Path(first.results_file)
        kept = [line for line in results.read_text().splitlines() if '"k7"' not in line]  # a cancelled run's 7
        results.write_text("\n".join(kept) + "\n")
        partial = partial_path(service, record)
        os.link(results, partial)  # where a kill after the record update leaves it
        reader = tmp_path / "held-by-a-reader.jsonl"
        os.link(results, reader)  # the verified file as the results browser has it open
        service.store.update(first.record_key, lambda r: r["batch"].update(state="JOB_STATE_CANCELLED"))
        before = compute(reader)
        sent = len(emu.realtime_calls)

        again = prepare_file(service, src, "gemini-2.5-flash", limits)
        assert again.status == RESUME
        second = RealtimeRun(service, again.record, limits).run()
        assert [key_of(c.prompt) for c in emu.realtime_calls[sent:]] == ["k7"]
    assert second.state == SUCCEEDED and second.answered_before == 7 and second.results_file == results
    assert compute(reader).sha256 == before.sha256, "the run wrote into the verified results file"
    assert sorted(line["key"] for line in result_lines(results)) == sorted(f"k{i}" for i in range(8))
    assert not partial.exists()
