"""Benchmarks of the batch service (issues 4 and 18). Run: python tests/bench/bench_service.py [--skip-big | --many N]

1. `poll --once` over 400 running jobs with the emulator answering after 30 ms: in-process poll pass and
   the whole command's wall time (which includes Python start-up and importing google-genai).
2. Downloading a 300 MB results file through `poll --once`: peak RSS of the process.
3. Validating and uploading a 1 GB JSONL file (`submit`): peak RSS of the process.
4. (`--many 10000`) `poll --once` over N unfinished jobs created over the last 24 hours (the emulator's clock is
   moved an hour between rounds of creations): a full pass over every job (what every pass did before issue 18)
   beside a routine pass in the steady state of the per-job schedule (core/poll_schedule.py), then the whole
   `poll --once` command again from a service serving pages of up to 100 and of up to 1000.
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
        [sys.executable, "-m", "gembatch_tui.emulator", "--port", "0", "--api-key", KEY, *args],
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
    from gembatch_tui.core.api.gemini import GeminiClient
    from gembatch_tui.core.poll.poller import poll_once
    from gembatch_tui.core.submit.service import BatchService
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


CLOCKED_SERVER = r"""
import sys, threading, time
from gembatch_tui.emulator.runtime import Emulator
offset = [float(sys.argv[2])]
emu = Emulator(api_key=sys.argv[1], latency_ms=float(sys.argv[3]), job_seconds=10 * 86400,
               max_concurrent_jobs=10**6, clock=lambda: time.time() + offset[0]).start()
print(f"listening on {emu.url}", flush=True)
for line in sys.stdin:  # "advance SECONDS": the emulator's clock moves (jobs created later look younger)
    word, value = line.split()  # "pagemax N": batches.list serves pages of up to N from now on
    if word == "pagemax":
        emu._require().jobs.page_max = int(value)
    else:
        offset[0] += float(value)
    print("ok", flush=True)
emu.stop()
"""


def bench_poll_many(tmp: Path, jobs: int, latency_ms: float) -> None:
    """`poll --once` over `jobs` unfinished jobs created over the last 24 hours, at `latency_ms`."""
    import random
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime, timezone

    from gembatch_tui.core.poll import schedule as poll_schedule
    from gembatch_tui.core.api.gemini import GeminiClient
    from gembatch_tui.core.poll.poller import poll_once
    from gembatch_tui.core.submit.service import BatchService
    from gembatch_tui.core.store import JobStore
    from gembatch_tui.core.models import record_key

    hours = 24
    proc = subprocess.Popen([sys.executable, "-c", CLOCKED_SERVER, KEY, str(-hours * 3600), str(latency_ms)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env_for(None))
    assert proc.stdout is not None and proc.stdin is not None
    url = proc.stdout.readline().split()[-1]
    try:
        client = GeminiClient(KEY, base_url=url)
        src = tmp / "one.jsonl"
        src.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
        file_name = client.upload(src, display_name="one.jsonl")
        home = tmp / "home-many"
        store = JobStore(home / "jobs.jsonl")
        t0 = time.perf_counter()
        snaps = []
        with ThreadPoolExecutor(32) as pool:
            for hour in range(hours):
                snaps += pool.map(lambda i: client.create_batch(model="gemini-2.5-flash", file_name=file_name,
                                                                display_name=f"job-{i}"), range(jobs // hours))
                proc.stdin.write("advance 3600\n")
                proc.stdin.flush()
                proc.stdout.readline()
        store.add_many([{"input_file": str(src), "count": 1, "batch": s.to_batch_dict()} for s in snaps])
        print(f"created {len(snaps):,} jobs over {hours} h of emulator time in {time.perf_counter() - t0:.0f} s; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        service = BatchService(store, client)
        t = time.perf_counter()
        report = poll_once(service, download=False, force=True)
        full = time.perf_counter() - t
        assert report.polled == len(snaps) and not report.errors, report.errors[:3]
        print(f"floor-like full pass (every job, force=True, in-process): {full:.2f} s, {report.listed:,} listed "
              f"({len(snaps) / 100:.0f} pages of 100 at {latency_ms:.0f} ms)")

        # Steady state: every job was last checked a random part of its interval ago (as passes leave them), and
        # the last pass was one default poll interval (30 s) ago.
        now = time.time()
        rng = random.Random(1)

        def stagger(rec: dict) -> None:
            gap = poll_schedule.interval(rec, now) * rng.random() + 30
            rec["polled_at"] = datetime.fromtimestamp(now - gap, timezone.utc).isoformat()

        store.update_many({record_key(r): stagger for r in store.read_all()})
        due = sum(poll_schedule.is_due(r, now) for r in store.read_all())
        walls = []
        for _ in range(2):
            wall, _, out = timed_cli(url, home, "poll", "--once")
            walls.append(wall)
            store.update_many({record_key(r): stagger for r in store.read_all()})
        t = time.perf_counter()
        report = poll_once(service, download=False)
        routine = time.perf_counter() - t
        print(f"routine pass, steady state ({due:,} of {len(snaps):,} due): in-process {routine:.2f} s "
              f"({report.polled:,} asked, {report.listed:,} listed, {report.deferred:,} not due)")
        print(f"`gembatch-tui poll --once` over {len(snaps):,} unfinished jobs, whole command wall: "
              + ", ".join(f"{w:.2f} s" for w in walls))
        # The same full `poll --once`, from a service that serves pages of up to 1000 (the client asks for them
        # where many jobs are wanted: core/poll/poller.py); the floor is the sequential pages' latency alone.
        for page_max in (100, 1000):
            proc.stdin.write(f"pagemax {page_max}\n")
            proc.stdin.flush()
            proc.stdout.readline()
            walls = []
            for _ in range(2):
                wall, _, _ = timed_cli(url, home, "poll", "--once")
                walls.append(wall)
            pages = -(-len(snaps) // page_max)
            print(f"`poll --once` over {len(snaps):,} jobs, a service serving pages of up to {page_max}: "
                  + ", ".join(f"{w:.2f} s" for w in walls)
                  + f"; floor: {pages} sequential pages x {latency_ms:.0f} ms = {pages * latency_ms / 1000:.2f} s")
        wall, _, _ = timed_cli(url, home, "list")
        print(f"`gembatch-tui list` with {len(snaps):,} jobs: {wall:.2f} s")
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


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
    ap.add_argument("--many", type=int, default=0, metavar="N",
                    help="only `poll --once` over N unfinished jobs created over 24 h (issue 18: 10000)")
    ap.add_argument("--latency-ms", type=float, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.many:
            bench_poll_many(tmp, args.many, args.latency_ms)
            return
        bench_poll(tmp)
        if not args.skip_big:
            bench_big(tmp)


if __name__ == "__main__":
    main()
