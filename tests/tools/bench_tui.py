"""Benchmarks of the full-screen app in a real pseudo-terminal (pty.fork), as a user's terminal sees it.

1. Start-up: spawn `gembatch-tui --store X` (a key in the environment, GOOGLE_GEMINI_BASE_URL pointing at a
   closed local port) with 10,000 jobs in the store; time to the first frame (footer drawn) and to the
   first frame that shows job rows. Target: first frame under 1 s.
   A minimal Textual app is timed the same way first, to show how fast the machine is at the moment.
2. Idle bandwidth: the dashboard with 50 finished jobs, left alone; bytes the app writes to the terminal
   after the first frame has settled, per minute. Target: under 4 KB/min. The poll timer fires in that
   time and must not redraw anything but the coarse status text.

3. Idle bandwidth with 50 running jobs that do not change (issue 18), against the emulator in its own process, so
   every poll is answered: durations tick and polls run, and only what changed may be sent. Target: under 4 KB/min.

4. With `--detail`, run 3 with a running job's detail screen open (its times tick, polls change its record).

Run: python tests/tools/bench_tui.py [--runs 5] [--jobs 10000] [--idle-seconds 60] [--size 80x24]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))

from sample_data import many_records, write_store  # noqa: E402

ANSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]")
EXE = shutil.which("gembatch-tui") or str(Path(sys.executable).parent / "gembatch-tui")


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PtyApp:
    """The app in a child process on a pty of `cols` x `rows`; every byte it writes is kept with a timestamp."""

    def __init__(self, args: list[str], env: dict[str, str], cols: int, rows: int,
                 argv: list[str] | None = None) -> None:
        self.started = time.perf_counter()
        argv = argv or [EXE, *args]
        pid, fd = pty.fork()
        if pid == 0:  # the child: the app
            os.execve(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.chunks: list[tuple[float, bytes]] = []

    def read_for(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.chunks.append((time.perf_counter(), data))

    def wait_for_text(self, *needles: str, timeout: float = 20.0) -> float:
        """Seconds from spawn until every needle has appeared in the visible text."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            self.read_for(0.01)
            text = ANSI.sub(b"", b"".join(c for _, c in self.chunks)).decode("utf-8", "replace")
            if all(n in text for n in needles):
                return self.chunks[-1][0] - self.started
        raise TimeoutError(f"never saw {needles!r}")

    def bytes_between(self, t0: float, t1: float) -> int:
        return sum(len(c) for t, c in self.chunks if t0 <= t < t1)

    def stop(self) -> None:
        try:
            os.write(self.fd, b"q")
            self.read_for(1.0)
        except OSError:
            pass
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:
                os.kill(self.pid, signal.SIGTERM)
                os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)


def app_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "COLORTERM")}
    env.update(
        TERM="xterm-256color",
        GEMBATCH_TUI_HOME=str(home),
        GOOGLE_API_KEY="bench-key-not-real",
        GOOGLE_GEMINI_BASE_URL=f"http://127.0.0.1:{closed_port()}",
        TZ="UTC",
    )
    return env


def bench_startup(work: Path, jobs: int, runs: int, cols: int, rows: int) -> None:
    store = write_store(work / "big" / "jobs.jsonl", many_records(jobs, final=True, results_dir=work / "results"))
    first, with_rows = [], []
    for _ in range(runs + 1):  # the first run warms the disk cache and .pyc files; it is not counted
        app = PtyApp(["--store", str(store)], app_env(work / "home"), cols, rows)
        try:
            t_frame = app.wait_for_text("Filter", "Quit", timeout=60)
            t_rows = app.wait_for_text("Progress", f"bulk-{jobs - 1:05d}", "showing 1,000 of", timeout=120)
        finally:
            app.stop()
        first.append(t_frame)
        with_rows.append(t_rows)
    first, with_rows = first[1:], with_rows[1:]
    print(f"start-up, {jobs} jobs in the store, {cols}x{rows}, {runs} runs:")
    print(f"  first frame (footer drawn):  median {statistics.median(first) * 1000:.0f} ms  "
          f"(min {min(first) * 1000:.0f}, max {max(first) * 1000:.0f})")
    print(f"  jobs listed (1000 rows):     median {statistics.median(with_rows) * 1000:.0f} ms  "
          f"(min {min(with_rows) * 1000:.0f}, max {max(with_rows) * 1000:.0f})")


BASELINE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer, Label
class Tiny(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Label("tiny")
        yield DataTable()
        yield Footer()
Tiny().run()
"""


def bench_baseline(work: Path, runs: int, cols: int, rows: int) -> None:
    """A minimal Textual app in the same harness: how fast this machine is right now."""
    script = work / "tiny.py"
    script.write_text(BASELINE_APP, encoding="utf-8")
    times = []
    for _ in range(runs + 1):
        app = PtyApp([], app_env(work / "home-tiny"), cols, rows, argv=[sys.executable, str(script)])
        try:
            times.append(app.wait_for_text("tiny", "Quit"))
        finally:
            app.stop()
    times = times[1:]
    print(f"baseline, a minimal Textual app (Label, DataTable, Footer), {runs} runs:")
    print(f"  first frame:                 median {statistics.median(times) * 1000:.0f} ms  "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")


def bench_idle(work: Path, seconds: float, cols: int, rows: int) -> None:
    store = write_store(work / "idle" / "jobs.jsonl", many_records(50, final=True, results_dir=work / "results"))
    app = PtyApp(["--store", str(store)], app_env(work / "home-idle"), cols, rows)
    try:
        app.wait_for_text("Quit", "bulk-00049")
        app.read_for(3.0)  # let the first frame and the first (empty) poll settle
        t0 = time.perf_counter()
        app.read_for(seconds)
        t1 = time.perf_counter()
        initial = app.bytes_between(0, t0)
        idle = app.bytes_between(t0, t1)
        writes = [(round(t - t0, 1), len(c)) for t, c in app.chunks if t0 <= t < t1]
    finally:
        app.stop()
    per_min = idle * 60.0 / (t1 - t0)
    print(f"idle, 50 finished jobs, {cols}x{rows}, poll every 30 s, {t1 - t0:.0f} s measured:")
    print(f"  first frame and settle: {initial} bytes; idle: {idle} bytes = {per_min:.0f} bytes/min")
    print(f"  writes while idle (s, bytes): {writes}")


def bench_idle_running(work: Path, seconds: float, cols: int, rows: int, jobs: int = 50, age_min: float = 0,
                       detail: bool = False) -> None:
    """The dashboard with `jobs` running jobs that do not change, created `age_min` minutes ago, against the
    emulator (every poll answers). `detail`: the first job's detail screen is open instead (its duration and
    "ago" times tick)."""
    import json
    import subprocess

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # The emulator's clock runs `age_min` behind: the jobs were created that long ago and are still running.
    script = ("import sys, time\nfrom gembatch_tui.emulator.runtime import Emulator\n"
              f"emu = Emulator(api_key='bench-key', job_seconds=360000, max_concurrent_jobs=1000,"
              f" clock=lambda: time.time() - {age_min * 60.0}).start()\n"
              "print(f'listening on {emu.url}', flush=True)\nsys.stdin.read()\nemu.stop()\n")
    server = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[-1]
        sys.path.insert(0, str(root))
        from gembatch_tui.core.api.gemini import GeminiClient

        client = GeminiClient("bench-key", base_url=url)
        src = work / "running" / "in.jsonl"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
        file_name = client.upload(src, display_name="in.jsonl")
        snaps = [client.create_batch(model="gemini-2.5-flash", file_name=file_name, display_name=f"run-{i:02d}")
                 for i in range(jobs)]
        store = work / "running" / "jobs.jsonl"
        store.write_text("".join(json.dumps({"id": f"r{i:04d}", "input_file": str(src), "count": 1,
                                             "batch": s.to_batch_dict()}) + "\n" for i, s in enumerate(snaps)))
        env_app = app_env(work / "home-running")
        env_app.update(GOOGLE_API_KEY="bench-key", GOOGLE_GEMINI_BASE_URL=url)
        app = PtyApp(["--store", str(store)], env_app, cols, rows)
        try:
            app.wait_for_text("Quit", "run-")
            app.read_for(5.0)  # the first frame and the first poll settle
            if detail:
                os.write(app.fd, b"\r")  # enter: the highlighted job in full
                app.wait_for_text("Timeline")
                app.read_for(3.0)
            t0 = time.perf_counter()
            app.read_for(seconds)
            t1 = time.perf_counter()
            idle = app.bytes_between(t0, t1)
            writes = [(round(t - t0, 1), len(c)) for t, c in app.chunks if t0 <= t < t1]
        finally:
            app.stop()
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
    per_min = idle * 60.0 / (t1 - t0)
    where = "the detail screen of one of " if detail else ""
    print(f"idle, {where}{jobs} pending/running jobs created {age_min:.0f} min ago that do not change "
          f"(emulator answers "
          f"every poll), {cols}x{rows}, "
          f"{t1 - t0:.0f} s measured:")
    print(f"  idle: {idle} bytes = {per_min:.0f} bytes/min (target < 4096)")
    print(f"  writes while idle (s, bytes): {writes}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-running", action="store_true", help="skip the idle run with 50 running jobs")
    parser.add_argument("--detail", action="store_true", help="the running runs with a job's detail screen open")
    parser.add_argument("--running-age-min", type=float, nargs="+", default=[0, 120],
                        help="how long ago the 50 running jobs were created (one idle run per value)")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="gembatch-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_startup:
            bench_baseline(work, args.runs, cols, rows)
            bench_startup(work, args.jobs, args.runs, cols, rows)
        if not args.skip_idle:
            bench_idle(work, args.idle_seconds, cols, rows)
        if not args.skip_running:
            for age in args.running_age_min:
                bench_idle_running(work / f"age{age}", args.idle_seconds, cols, rows, age_min=age,
                                   detail=args.detail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
