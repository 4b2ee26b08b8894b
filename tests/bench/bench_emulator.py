"""Benchmark for the Gemini Batch API emulator: request throughput and memory with large files.

Run:  python tests/bench/bench_emulator.py [--gib 1.0] [--threads 200]

It starts the emulator as a subprocess (`python -m gembatch_tui.emulator`), then
  1. fires 200 concurrent `batches.get` calls (one thread each), then 200 threads x 10 calls, once through the
     real SDK (one shared client, so the client's own CPU use in this process is part of the figure) and once
     over raw keep-alive HTTP (closer to the emulator's own capacity); it also reports emulator CPU per call;
  2. uploads a generated ~1 GiB JSONL file, runs a batch over it (whose results file is about as large),
     and downloads the results with `destination=` (streamed),
sampling the emulator's VmRSS / VmHWM from /proc/PID/status throughout. Temp files are deleted afterwards.
Not collected by pytest (the name does not start with test_).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

warnings.simplefilter("ignore")

from google import genai  # noqa: E402

KEY = "bench-key"
MiB = 1024 * 1024


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                out[name] = int(value.split()[0])
    return out


class Sampler(threading.Thread):
    """Polls VmRSS every 50 ms; VmHWM (the kernel's own peak) is read at the end of each phase."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.peak_rss = max(self.peak_rss, proc_status(self.pid)["VmRSS"])
            except (OSError, KeyError):
                return
            self._halt.wait(0.05)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def start_emulator(job_seconds: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gembatch_tui.emulator", "--port", "0", "--job-seconds", str(job_seconds),
         "--api-key", KEY, "--max-concurrent-jobs", "1000"],
        stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_get(url: str, name: str) -> Callable[[], Callable[[], None]]:
    """A per-thread factory: each thread keeps one HTTP/1.1 connection alive, as a pooled client would."""
    parts = urlsplit(url)

    def make() -> Callable[[], None]:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

        def call() -> None:
            conn.request("GET", f"/v1beta/{name}", headers={"x-goog-api-key": KEY})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(resp.status)

        return call

    return make


def run_concurrent(make_call: Callable[[], Callable[[], None]], threads: int, calls: int) -> tuple[float, int]:
    barrier = threading.Barrier(threads + 1)
    failures: list[Exception] = []

    def worker() -> None:
        call = make_call()
        barrier.wait()
        for _ in range(calls):
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - counted and reported
                failures.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    return time.perf_counter() - t0, len(failures)


def bench_gets(client: genai.Client, url: str, pid: int, threads: int) -> None:
    job = client.batches.create(model="gemini-2.5-flash", src=[{"contents": "hello"}] * 3)
    sdk = lambda: (lambda: client.batches.get(name=job.name))  # noqa: E731 - one shared SDK client
    variants = [("SDK (shared client)", sdk), ("raw HTTP keep-alive", raw_get(url, job.name))]
    for label, make_call in variants:
        run_concurrent(make_call, threads, 1)  # warm-up: connections, pools
        for calls in (1, 10):
            cpu0 = cpu_seconds(pid)
            wall, failed = run_concurrent(make_call, threads, calls)
            total = threads * calls
            cpu_ms = (cpu_seconds(pid) - cpu0) * 1000 / total
            print(f"  {label:<20} {threads} threads x {calls:>2} batches.get = {total:>5} calls: "
                  f"wall {wall:6.3f} s, {total / wall:6.0f} calls/s, emulator CPU {cpu_ms:.2f} ms/call, "
                  f"{failed} failed")


def make_input(path: Path, target_bytes: int) -> int:
    prompt = ("Summarise the following passage about renewable energy and storage. " * 240)[:16000]
    lines = 0
    written = 0
    with open(path, "w") as f:
        while written < target_bytes:
            line = json.dumps({"key": f"req-{lines}", "request": {"contents": [{"parts": [
                {"text": f"{lines}: {prompt}"}]}]}}) + "\n"
            f.write(line)
            written += len(line)
            lines += 1
    return lines


def bench_memory(client: genai.Client, pid: int, gib: float) -> None:
    with tempfile.TemporaryDirectory(prefix="gembatch-bench-") as tmp:
        src = Path(tmp) / "input.jsonl"
        t0 = time.perf_counter()
        n = make_input(src, int(gib * 1024 * MiB))
        size = src.stat().st_size
        print(f"  generated input: {size / MiB:.0f} MiB, {n} requests ({time.perf_counter() - t0:.1f} s)")
        base = proc_status(pid)
        print(f"  emulator before: VmRSS {base['VmRSS'] / 1024:.1f} MiB, VmHWM {base['VmHWM'] / 1024:.1f} MiB")

        sampler = Sampler(pid)
        sampler.start()
        t0 = time.perf_counter()
        f = client.files.upload(file=src, config={"mime_type": "jsonl", "display_name": "bench"})
        up = time.perf_counter() - t0
        hwm = proc_status(pid)["VmHWM"]
        print(f"  upload   {f.size_bytes / MiB:7.0f} MiB in {up:5.1f} s ({f.size_bytes / MiB / up:6.0f} MiB/s): "
              f"emulator VmHWM {hwm / 1024:.1f} MiB")
        src.unlink()

        t0 = time.perf_counter()
        job = client.batches.create(model="gemini-2.5-flash-lite", src=f.name)
        created = time.perf_counter() - t0
        while not job.done:
            time.sleep(0.5)
            job = client.batches.get(name=job.name)
        gen = time.perf_counter() - t0
        hwm = proc_status(pid)["VmHWM"]
        print(f"  batch    create (input scan) {created:5.1f} s, until {job.state.value} {gen:5.1f} s: "
              f"emulator VmHWM {hwm / 1024:.1f} MiB")

        dest = Path(tmp) / "results.jsonl"
        t0 = time.perf_counter()
        client.files.download(file=job.dest.file_name, destination=str(dest))
        down = time.perf_counter() - t0
        rsize = dest.stat().st_size
        sampler.stop()
        hwm = proc_status(pid)["VmHWM"]
        print(f"  download {rsize / MiB:7.0f} MiB in {down:5.1f} s ({rsize / MiB / down:6.0f} MiB/s): "
              f"emulator VmHWM {hwm / 1024:.1f} MiB")
        with open(dest, "rb") as fh:
            first = json.loads(fh.readline())
        assert first["key"] == "req-0" and "response" in first, first
        print(f"  peak emulator RSS over the whole large-file phase: {max(sampler.peak_rss, hwm) / 1024:.1f} MiB "
              f"(VmHWM {hwm / 1024:.1f} MiB)")
        client.files.delete(name=f.name)
        client.files.delete(name=job.dest.file_name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="size of the large upload, GiB")
    parser.add_argument("--threads", type=int, default=200)
    args = parser.parse_args()

    proc, url = start_emulator(job_seconds=1.0)
    try:
        client = genai.Client(api_key=KEY, http_options={"base_url": url, "timeout": 600_000})
        print(f"emulator pid {proc.pid} at {url} (python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
        print("throughput:")
        bench_gets(client, url, proc.pid, args.threads)
        print("large files:")
        bench_memory(client, proc.pid, args.gib)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"emulator exit code {proc.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
