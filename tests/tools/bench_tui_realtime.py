"""Benchmark: what the dashboard writes to a real terminal while a real-time job runs in another process
(`gembatch-tui run FILE --realtime`, about one answer a second), and once it has ended.

The app looks at the store file every 2 s and reloads it when anyone wrote it (tui/store_follow.py), and the
dashboard repaints only the cells whose text changed (its Progress cell, at each reload here); once the run has
ended nothing writes the store, and the dashboard sends no more than the idle one does (bench_tui.py: < 4 KB/min). Measured in the
same run for comparison: the same dashboard with the run's record already finished (the floor).

Run: python tests/tools/bench_tui_realtime.py [--seconds 60] [--size 80x24]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))

from bench_tui import EXE, PtyApp, app_env  # noqa: E402
from sample_data import many_records, write_store  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def start_emulator(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    script = ("import sys\nfrom gembatch_tui.emulator.runtime import Emulator\n"
              f"emu = Emulator(api_key='bench-key', job_seconds=3600, latency_ms={latency_ms}).start()\n"
              "print(f'listening on {emu.url}', flush=True)\nsys.stdin.read()\nemu.stop()\n")
    server = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env)
    assert server.stdout is not None
    return server, server.stdout.readline().split()[-1]


def measure(app: PtyApp, seconds: float) -> tuple[int, float, list[tuple[float, int]]]:
    t0 = time.perf_counter()
    app.read_for(seconds)
    t1 = time.perf_counter()
    writes = [(round(t - t0, 1), len(c)) for t, c in app.chunks if t0 <= t < t1]
    return app.bytes_between(t0, t1), t1 - t0, writes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="80x24")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    requests = int(args.seconds * 1.5) + 30  # still running when the measurement ends
    server, url = start_emulator(latency_ms=1000.0)  # one request at a time: one answer a second
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            store = write_store(work / "rt" / "jobs.jsonl", many_records(50, final=True, results_dir=work / "res"))
            src = work / "rt" / "live.jsonl"
            line = '{{"key": "k{0}", "request": {{"contents": [{{"parts": [{{"text": "q {0}"}}]}}]}}}}\n'
            src.write_text("".join(line.format(i) for i in range(requests)))
            env = app_env(work / "home")
            env.update(GOOGLE_API_KEY="bench-key", GOOGLE_GEMINI_BASE_URL=url)
            run = subprocess.Popen([EXE, "--store", str(store), "run", str(src), "--realtime", "--concurrency", "1",
                                    "--rpm", "1000"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            app = PtyApp(["--store", str(store)], env, cols, rows)
            try:
                app.wait_for_text("Quit", "RT live.jsonl", timeout=60)
                app.read_for(3.0)
                live, live_s, live_writes = measure(app, args.seconds)
                run.terminate()  # SIGTERM: the run stops cleanly, its record becomes cancelled
                run.wait(timeout=30)
                app.wait_for_text("cancelled", timeout=30)
                app.read_for(3.0)
                idle, idle_s, idle_writes = measure(app, args.seconds)
            finally:
                app.stop()
                if run.poll() is None:
                    run.kill()
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
    print(f"dashboard, 50 finished jobs + 1 real-time job answered about once a second by another process, "
          f"{cols}x{rows}:")
    print(f"  while it runs: {live} bytes in {live_s:.0f} s = {live * 60 / live_s:.0f} bytes/min "
          f"({len(live_writes)} writes)")
    print(f"  after it ended (the floor, same run): {idle} bytes in {idle_s:.0f} s = {idle * 60 / idle_s:.0f} "
          f"bytes/min; ratio {live / max(1, idle):.1f}x")
    print(f"  writes after it ended (s, bytes): {idle_writes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
