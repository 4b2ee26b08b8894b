"""Benchmark: stream a ~300 MB verified results file out of `gembatch-tui serve`, with the server's peak RSS.

Run (not collected by pytest; `tests/server/test_stream_memory.py` runs it under `-m slow`):

    python tests/bench/bench_serve.py [--size-mb 300] [--runs 2]

It writes an input and a complete results file (bench_download.generate), serves the results from an emulator in
its own process, downloads and verifies them into a store the way `poll` does, then starts `serve` on that store
and fetches `GET /jobs/batches/bench/results` with http.client in 1 MiB reads, hashing what arrives. It prints
MB/s, whether the bytes match the verified file's sha256, and the server's RSS before and at its peak (VmHWM:
the whole life of the process, start-up included). Then (`--upload-mb`, default 300) it uploads an input that
big as a chunked raw body, which the service streams to disk, validates and submits to the emulator, and prints
the time and the server's peak RSS again. `--list-records N` instead times `GET /jobs` over a store of N records.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_download import KEY, SERVER, generate  # noqa: E402


def proc_status_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


def verified_store(home: Path, url: str, file_name: str, inp: Path, n: int) -> dict:
    """A store holding one SUCCEEDED job whose results were downloaded and verified by the real download path."""
    from gembatch_tui.core.api.gemini import GeminiClient
    from gembatch_tui.core.poll.download import download_results
    from gembatch_tui.core.store import JobStore
    from gembatch_tui.core.submit.service import BatchService

    store = JobStore(home / "jobs.jsonl")
    store.add({"input_file": str(inp), "count": n,
               "batch": {"name": "batches/bench", "state": "JOB_STATE_SUCCEEDED", "model": "models/gemini-2.5-flash",
                         "dest": {"file_name": file_name},
                         "stats": {"request_count": n, "successful_request_count": n}}})
    service = BatchService(store, GeminiClient(KEY, base_url=url), results_dir=home / "results")
    outcome = download_results(service, store.read_all()[0])
    assert outcome.ok, outcome.message
    return store.read_all()[0]


def start_serve(home: Path, emulator_url: str, max_upload: str) -> tuple[subprocess.Popen[str], str, str]:
    env = dict(os.environ, GEMBATCH_TUI_HOME=str(home), GOOGLE_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=emulator_url,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "gembatch_tui", "serve", "--port", "0", "--poll-interval", "0",
                             "--max-upload", max_upload],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    assert first.startswith("listening on http://"), first
    return proc, first.removeprefix("listening on "), (home / "server-token").read_text().strip()


def stream_once(url: str, token: str) -> tuple[float, int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    digest = hashlib.sha256()
    size = 0
    t = time.perf_counter()
    conn.request("GET", "/jobs/batches%2Fbench/results", headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    assert resp.status == 200, (resp.status, resp.read()[:300])
    while chunk := resp.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    elapsed = time.perf_counter() - t
    conn.close()
    return elapsed, size, digest.hexdigest()


def upload_input(folder: Path, target_bytes: int) -> Path:
    """A valid input of about `target_bytes`: requests of ~2.5 KB of text each."""
    path = folder / "upload.jsonl"
    filler = "lorem ipsum dolor sit amet " * 90
    written = n = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target_bytes:
            n += 1
            line = json.dumps({"key": f"u{n:08d}", "request": {"contents": [{"parts": [{"text": f"{n} {filler}"}]}]}})
            f.write(line + "\n")
            written += len(line) + 1
    return path


def upload_once(url: str, token: str, path: Path) -> tuple[float, int, dict]:
    """POST the file as a raw body, read from disk in 1 MiB pieces (chunked); (seconds, status, answer)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=1200)

    def pieces():  # noqa: ANN202
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk

    t = time.perf_counter()
    conn.request("POST", "/jobs?filename=upload.jsonl", body=pieces(), headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    return time.perf_counter() - t, resp.status, body


def run(size_mb: int = 300, runs: int = 2, line_bytes: int = 2500, folder: str | None = None,
        upload_mb: int = 0) -> dict:
    """Build the file, serve it, stream it `runs` times; the figures as a dict (also printed)."""
    with tempfile.TemporaryDirectory(dir=folder, prefix="gembatch-bench-serve-") as d:
        tmp = Path(d)
        inp, res, n = generate(tmp, size_mb * 1_000_000, line_bytes)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        emulator = subprocess.Popen([sys.executable, "-c", SERVER, str(res), "0", KEY],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        serve = None
        try:
            assert emulator.stdout is not None
            _, _, emu_url, file_name = emulator.stdout.readline().split()
            home = tmp / "home"
            record = verified_store(home, emu_url, file_name, inp, n)
            res.unlink()  # the emulator's hard link keeps serving; only the verified copy is left of ours
            serve, url, token = start_serve(home, emu_url, f"{max(upload_mb, 1) * 2}M")
            before = proc_status_mb(serve.pid, "VmRSS")
            times = []
            for _ in range(runs):
                elapsed, size, sha = stream_once(url, token)
                assert (size, sha) == (record["results_bytes"], record["results_sha256"]), "bytes differ"
                times.append(elapsed)
            peak = proc_status_mb(serve.pid, "VmHWM")
            mb = record["results_bytes"] / 1e6
            figures = {"size_mb": mb, "best_s": min(times), "mb_per_s": mb / min(times), "rss_before_mb": before,
                       "rss_peak_mb": peak, "runs": times}
            print(f"results {mb:.0f} MB ({n:,} lines) streamed {runs}x from serve, byte-identical (sha256); "
                  f"best {min(times):.2f} s = {mb / min(times):.0f} MB/s (runs {', '.join(f'{x:.2f}' for x in times)}); "
                  f"server RSS {before:.0f} MB before, peak {peak:.0f} MB; load {os.getloadavg()[0]:.2f}", flush=True)
            if upload_mb:
                source = upload_input(tmp, upload_mb * 1_000_000)
                up_mb = source.stat().st_size / 1e6
                elapsed, status, body = upload_once(url, token, source)
                assert status == 201, body
                up_peak = proc_status_mb(serve.pid, "VmHWM")
                figures.update(upload_mb=up_mb, upload_s=elapsed, upload_peak_mb=up_peak)
                print(f"upload {up_mb:.0f} MB (chunked) -> validated and submitted to the emulator: {elapsed:.2f} s "
                      f"({up_mb / elapsed:.0f} MB/s end to end), {body['message']}; server RSS peak {up_peak:.0f} MB",
                      flush=True)
            return figures
        finally:
            if serve is not None:
                serve.terminate()
                serve.wait(timeout=30)
            if emulator.stdin:
                emulator.stdin.close()
            emulator.wait(timeout=30)


def list_store(records: int, runs: int = 3) -> list[float]:
    """`GET /jobs?all=true` over a store of `records` records (bench_store's), best of `runs`; seconds each."""
    from tests.bench.bench_store import make_record

    with tempfile.TemporaryDirectory(prefix="gembatch-bench-serve-list-") as d:
        home = Path(d) / "home"
        home.mkdir()
        with open(home / "jobs.jsonl", "w", encoding="utf-8") as f:
            for i in range(records):
                f.write(json.dumps(make_record(i)) + "\n")
        serve, url, token = start_serve(home, "http://127.0.0.1:9", "1M")  # nothing here calls the API
        try:
            parts = urlsplit(url)
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
                conn.request("GET", "/jobs?all=true", headers={"Authorization": f"Bearer {token}"})
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                times.append(time.perf_counter() - t)
                assert resp.status == 200 and len(json.loads(body)["jobs"]) == records
            print(f"GET /jobs over {records:,} records ({len(body) / 1e6:.1f} MB of JSON): best {min(times):.3f} s "
                  f"(runs {', '.join(f'{x:.3f}' for x in times)}); server peak RSS "
                  f"{proc_status_mb(serve.pid, 'VmHWM'):.0f} MB; load {os.getloadavg()[0]:.2f}", flush=True)
            return times
        finally:
            serve.terminate()
            serve.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=300)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--line-bytes", type=int, default=2500)
    ap.add_argument("--upload-mb", type=int, default=300, help="then upload an input this big (0: skip)")
    ap.add_argument("--list-records", type=int, default=0, help="only time GET /jobs over a store this big")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    if args.list_records:
        list_store(args.list_records, args.runs)
        return
    run(args.size_mb, args.runs, args.line_bytes, args.dir, args.upload_mb)


if __name__ == "__main__":
    main()
