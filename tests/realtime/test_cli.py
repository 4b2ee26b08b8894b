"""`gembatch-tui run FILE --realtime` as a user's script meets it: the summary line and exit codes of CONTRACTS,
bad input named FILE:LINE with nothing sent, a finished input not run twice, and the run listed as a job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gembatch_tui.emulator import Emulator
from tests.realtime.conftest import KEY, write_input

ROOT = Path(__file__).resolve().parents[2]


def _run(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(GEMBATCH_TUI_HOME=str(home), GOOGLE_GEMINI_BASE_URL=url, GOOGLE_API_KEY=KEY,
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "gembatch_tui", *args], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_run_realtime_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = write_input(tmp_path / "in.jsonl", 12)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "x"}]}]}}\n{"key": "b", "request": 5}\n')
    with Emulator(api_key=KEY) as emu:
        no_flag = _run(home, emu.url, "run", str(src))
        assert no_flag.returncode == 2 and "--realtime" in no_flag.stderr

        refused = _run(home, emu.url, "run", str(bad), "--realtime")
        assert refused.returncode == 2 and f"{bad}:2:" in refused.stderr and "Traceback" not in refused.stderr

        unknown = _run(home, emu.url, "run", "no-such-job", "--realtime")
        assert unknown.returncode == 2 and "no-such-job" in unknown.stderr
        assert emu.realtime_calls == [], "nothing may be sent for bad input"

        first = _run(home, emu.url, "run", str(src), "--realtime", "--concurrency", "3", "--rpm", "1000")
        assert first.returncode == 0, first.stderr
        (line,) = first.stdout.splitlines()
        assert line.startswith(f"{src}: succeeded realtime/") and "(12 ok, 0 errors, 0 not answered)" in line

        again = _run(home, emu.url, "run", str(src), "--realtime")
        assert again.returncode == 0 and "already answered as realtime/" in again.stdout
        assert len(emu.realtime_calls) == 12

        listed = _run(home, emu.url, "list", "--json")
        (record,) = json.loads(listed.stdout)
        assert record["mode"] == "realtime" and record["batch"]["state"] == "JOB_STATE_SUCCEEDED"
        usage = _run(home, emu.url, "usage")
        assert "real-time: interactive prices" in usage.stdout
        exported = _run(home, emu.url, "export", record["id"], "--format", "csv", "-o", str(tmp_path / "o.csv"))
        assert exported.returncode == 0, exported.stderr
        assert "exported 12 rows" in exported.stdout


def test_submit_refused_for_quota_points_to_the_realtime_run(tmp_path: Path) -> None:
    src = write_input(tmp_path / "in.jsonl", 3)
    with Emulator(api_key=KEY) as emu:
        emu.fail_next("POST", r":batchGenerateContent$", 429, times=10)
        refused = _run(tmp_path / "home", emu.url, "submit", str(src))
    assert f"hint: `gembatch-tui run {src} --realtime`" in refused.stderr
    assert f"cancel the queued batch first (`gembatch-tui cancel {src}`)" in refused.stderr


def test_two_runs_of_one_input_at_once_never_send_a_key_twice(tmp_path: Path) -> None:
    src = write_input(tmp_path / "in.jsonl", 30)
    home = tmp_path / "home"
    env = dict(os.environ)
    with Emulator(api_key=KEY, latency_ms=40) as emu:
        env.update(GEMBATCH_TUI_HOME=str(home), GOOGLE_GEMINI_BASE_URL=emu.url, GOOGLE_API_KEY=KEY,
                   PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
        command = [sys.executable, "-m", "gembatch_tui", "run", str(src), "--realtime", "--concurrency", "1"]
        first, second = (subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          stdin=subprocess.DEVNULL, text=True) for _ in range(2))
        outs = [p.communicate(timeout=120) for p in (first, second)]
        codes = sorted(p.returncode for p in (first, second))
        prompts = [c.prompt for c in emu.realtime_calls]
    assert codes == [0, 1], outs
    assert "another process" in "".join(o for o, _e in outs)
    assert len(prompts) == len(set(prompts)) == 30


def test_a_run_over_the_cost_cap_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    src = write_input(tmp_path / "in.jsonl", 20)
    home = tmp_path / "home"
    with Emulator(api_key=KEY) as emu:
        over = _run(home, emu.url, "run", str(src), "--realtime", "--max-cost", "0.00001")
        assert over.returncode == 2, over.stderr
        assert "interactive prices is over the cap of" in over.stderr and "nothing was sent" in over.stderr
        under = _run(home, emu.url, "run", str(src), "--realtime", "--max-cost", "5")
        assert under.returncode == 0, under.stderr
        assert len(emu.realtime_calls) == 20
        listed = json.loads(_run(home, emu.url, "list", "--json").stdout)
    assert len(listed) == 1, "the refused run left a record"


def test_a_file_with_a_live_batch_job_is_not_sent_again_in_real_time(tmp_path: Path) -> None:
    """Its answers come from the batch job (already paid for, at batch prices): a real-time run of the same file
    would pay for every request again. --force still sends them."""
    home = tmp_path / "home"
    src = write_input(tmp_path / "in.jsonl", 4)
    with Emulator(api_key=KEY, job_seconds=3600) as emu:
        submitted = _run(home, emu.url, "submit", str(src))
        assert submitted.returncode == 0, submitted.stderr
        (batch,) = [b["name"] for b in emu.batches_snapshot()]

        again = _run(home, emu.url, "run", str(src), "--realtime")
        assert again.returncode == 0, again.stderr
        assert f"already submitted as batch job {batch} (pending)" in again.stdout and "--force" in again.stdout
        assert emu.realtime_calls == []

        copy = tmp_path / "copy.jsonl"  # the same requests under another name: the same answers
        copy.write_bytes(src.read_bytes())
        assert "already submitted as batch job" in _run(home, emu.url, "run", str(copy), "--realtime").stdout
        assert emu.realtime_calls == []

        forced = _run(home, emu.url, "run", str(src), "--realtime", "--force", "--rpm", "1000")
        assert forced.returncode == 0, forced.stderr
        assert len(emu.realtime_calls) == 4
