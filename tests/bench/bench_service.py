"""Benchmarks of the batch service (issue 4). Run: python tests/bench/bench_service.py [--skip-big]

1. `poll --once` over 400 running jobs with the emulator answering after 30 ms: in-process poll pass and
   the whole command's wall time (which includes Python start-up and importing google-genai).
2. Downloading a 300 MB results file through `poll --once`: peak RSS of the process.
3. Validating and uploading a 1 GB JSONL file (`submit`): peak RSS of the process.
The emulator runs in its own process so it does not share our GIL.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY = "bench-key"


def start_emulator(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gembatch_tui.core.emulator", "--port", "0", "--api-key", KEY, *args],
        stdout=subprocess.PIPE, text=True, env=env_for(None),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    match = re.match(r"listening on (http://\S+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, match.group(1)


def env_for(url: str | None, home: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["GOOGLE_API_KEY"] = KEY
    if url:
        env["GOOGLE_GEMINI_BASE_URL"] = url
    if home:
        env["GEMBATCH_TUI_HOME"] = str(home)
    return env


def timed_cli(url: str, home: Path, *args: str) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KB (os.wait4's rusage of exactly this child) and stdout of one command."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "gembatch_tui", *args], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, env=env_for(url, home))
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text = out.read()
        if proc.returncode != 0:
            print(text[-2000:], err.read()[-2000:], file=sys.stderr)
    return wall, usage.ru_maxrss, text


def bench_poll(tmp: Path) -> None:
    from gembatch_tui.core.gemini import GeminiClient
    from gembatch_tui.core.poller import poll_once
    from gembatch_tui.core.service import BatchService
    from gembatch_tui.core.store import JobStore

    proc, url = start_emulator("--job-seconds", "36000", "--latency-ms", "30", "--max-concurrent-jobs", "1000")
    try:
        client = GeminiClient(KEY, base_url=url)
        src = tmp / "one.jsonl"
        src.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
        file_name = client.upload(src, display_name="one.jsonl")
        home = tmp / "home-poll"
        store = JobStore(home / "jobs.jsonl")
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(32) as pool:
            snaps = list(pool.map(lambda i: client.create_batch(model="gemini-2.5-flash", file_name=file_name,
                                                                display_name=f"job-{i}"), range(400)))
        store.add_many([{"input_file": str(src), "count": 1, "batch": s.to_batch_dict()} for s in snaps])
        service = BatchService(store, client)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = poll_once(service, download=False)
            times.append(time.perf_counter() - t0)
            assert report.polled == 400 and not report.errors, report.errors[:3]
        print(f"poll pass over 400 running jobs (30 ms latency, in-process): best {min(times):.2f} s, "
              f"median {sorted(times)[1]:.2f} s (sequential would be >= {400 * 0.03:.1f} s)")
        wall, _, _ = timed_cli(url, home, "poll", "--once")
        wall2, _, _ = timed_cli(url, home, "poll", "--once")
        print(f"`gembatch-tui poll --once` over 400 running jobs, whole command wall: {wall:.2f} s, {wall2:.2f} s")
    finally:
        proc.terminate()
        proc.wait()


def write_big_jsonl(path: Path, target_bytes: int, text_len: int = 900) -> int:
    filler = "lorem ipsum dolor sit amet " * (text_len // 27 + 1)
    n = 0
    written = 0
    with open(path, "w") as fh:
        while written < target_bytes:
            line = json.dumps({"key": f"k{n}", "request": {"contents": [{"parts": [{"text": filler[:text_len]}]}]}}) + "\n"
            fh.write(line)
            written += len(line)
            n += 1
    return n


def bench_big(tmp: Path) -> None:
    proc, url = start_emulator("--job-seconds", "2")
    try:
        home = tmp / "home-big"
        big = tmp / "big.jsonl"
        n = write_big_jsonl(big, 1024**3)
        print(f"generated {big.stat().st_size / 1e9:.2f} GB input with {n} requests")
        wall, peak_kb, out = timed_cli(url, home, "submit", str(big))
        print(f"`submit` of a 1 GB file (validate + upload): {wall:.1f} s, peak RSS {peak_kb / 1024:.0f} MB; {out.strip()[-80:]}")
        res = tmp / "results" / "big.jsonl"
        deadline = time.monotonic() + 1200
        while not res.exists() and time.monotonic() < deadline:
            # each pass is a fresh process; the one that downloads is the one measured
            wall, peak_kb, out = timed_cli(url, home, "poll", "--once")
            if not res.exists():
                time.sleep(5)
        size = res.stat().st_size / 1e6 if res.exists() else 0
        print(f"`poll --once` downloading + verifying a {size:.0f} MB results file: {wall:.1f} s, peak RSS {peak_kb / 1024:.0f} MB")
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-big", action="store_true", help="only the poll benchmark")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_poll(tmp)
        if not args.skip_big:
            bench_big(tmp)


if __name__ == "__main__":
    main()
