"""Benchmark: download + verify + count usage + fingerprint of a ~300 MB results file, beside its floor.

Run (not collected by pytest):

    python tests/bench/bench_download.py [--size-mb 300] [--line-bytes 2500] [--latency-ms 30] [--runs 3]
                                         [--rate-mbs 0]

It writes an input file and a complete results file of ~size-mb (every key once, shuffled in blocks, 1% error
lines), starts the emulator in its own process (so it does not share our GIL) with that results file served as a
generated file, and then, in this process, times:

- floors: `curl -o` of the same URL (the issue's anchor: what the wire and disk give a C client, no hash), and a
  bare streaming download with http.client into a file, with sha256 (what `curl` does, plus the hash every download
  records);
- parsers: one pass over the local file with `json.loads`, with `orjson.loads` and with the check's shape decoder
  (msgspec: core/results/usual_line.py) per line;
- the SDK's download alone (`files.download` to a file, hashed as written), and our transfer alone
  (GeminiClient.download: the SDK's request and client, a lean body loop; core/api/download.py);
- `download.download_results` on a SUCCEEDED record whose output is that file: the whole download as `poll` does
  it (download, verification against the input, usage, fingerprint, rename, store update), with the check in a
  second process that follows the file (results/verify_process.py), then again with the check forced in-process;
  CPU seconds of this process and of the verifier, how long the check ran on after the last byte, how much of the
  machine's CPU stayed idle meanwhile (/proc/stat), and peak RSS; in the same turns, the same download with the
  file synced once at the end instead of flushed in steps as it arrives (core/sync_behind.py).
With --rate-mbs the server sends no faster than that, as a server elsewhere would: the client then has the two
cores to itself, where without it the emulator's sending takes its share.
The user and system CPU of the floor and of our transfer alone are printed too: what the HTTP client costs.
Figures are printed as MB/s of the results file. Best of --runs, taken in turns. Run it from the checkout it
measures: the verifier's fork server puts the current directory first on its path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
KEY = "bench-key"
WORDS = ("batch", "answer", "gemini", "token", "result", "request", "offset", "digest", "stream", "screen")

SERVER = r"""
import hashlib, os, socket, sys, threading, time
from pathlib import Path
from gembatch_tui.emulator.runtime import Emulator
results, latency = Path(sys.argv[1]), float(sys.argv[2])
rate = float(sys.argv[4]) * 1e6 if len(sys.argv) > 4 else 0.0
if rate > 0:  # a link of this many bytes per second, as from a server elsewhere: sent in paced 1 MiB pieces
    def paced(self, file, offset=0, count=None):
        start, sent = time.perf_counter(), 0
        while data := file.read(1 << 20):
            self.sendall(data)
            sent += len(data)
            ahead = sent / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
        return sent
    socket.socket.sendfile = paced
emu = Emulator(api_key=sys.argv[3], latency_ms=latency, job_seconds=3600).start()
state = emu._require().state
copy = results.with_name("served.jsonl")
os.link(results, copy)
digest = hashlib.sha256()
with open(results, "rb") as f:
    while chunk := f.read(1 << 20):
        digest.update(chunk)
rec = state.add_generated_file("benchresults", copy, results.stat().st_size, digest.hexdigest(), time.time())
print(f"listening on {emu.url} files/{rec.file_id}", flush=True)
sys.stdin.read()
emu.stop()
"""


def generate(folder: Path, target_bytes: int, line_bytes: int) -> tuple[Path, Path, int]:
    rng = random.Random(7)
    inp, res = folder / "input.jsonl", folder / "results.jsonl"
    text_len = max(50, line_bytes - 420)
    written = n = 0
    with open(inp, "w", encoding="utf-8") as fi, open(res, "w", encoding="utf-8") as fr:
        while written < target_bytes:
            block = []
            for _ in range(1000):
                n += 1
                key = f"req-{n:08d}"
                fi.write(json.dumps({"key": key, "request": {"contents": [{"parts": [{"text": f"question {n}"}]}]}})
                         + "\n")
                if n % 100 == 0:
                    obj: dict = {"error": {"code": 500, "message": f"internal error {n}", "status": "INTERNAL"},
                                 "key": key}
                else:
                    words = " ".join(rng.choice(WORDS) for _ in range(text_len // 7))[:text_len]
                    usage = {"promptTokenCount": 12, "candidatesTokenCount": text_len // 4,
                             "totalTokenCount": 12 + text_len // 4}
                    response = {"candidates": [{"content": {"parts": [{"text": f"answer {n}: {words}"}],
                                                            "role": "model"}, "finishReason": "STOP", "index": 0}],
                                "modelVersion": "gemini-2.5-flash", "responseId": "...", "usageMetadata": usage}
                    obj = {"response": response, "key": key} if n % 2 else {"key": key, "response": response}
                block.append(json.dumps(obj))
            rng.shuffle(block)
            data = "\n".join(block) + "\n"
            fr.write(data)
            written += len(data)
    return inp, res, n


def cpu_s() -> tuple[float, float]:
    """User and system CPU seconds of this process so far."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime, use.ru_stime


def timed_cpu(fn, *args):  # noqa: ANN001, ANN201
    """(what `fn(*args)` returned, (user, system) CPU seconds it took in this process)."""
    u0, s0 = cpu_s()
    out = fn(*args)
    u1, s1 = cpu_s()
    return out, (u1 - u0, s1 - s0)


def machine_ticks() -> list[int]:
    """The machine's CPU time counters (/proc/stat's first line), or [] where there is none."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return []


def idle_share(before: list[int], after: list[int]) -> float:
    """Percent of the machine's CPU time (all cores) that was idle or waiting for I/O between the two readings."""
    if len(before) < 5 or len(after) < 5:
        return float("nan")
    delta = [b - a for a, b in zip(before, after)]
    return 100.0 * (delta[3] + delta[4]) / max(1, sum(delta))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_bare(url: str, file_name: str, dest: Path) -> float:
    """A bare streaming download with the standard library (no SDK), 1 MiB reads, hashed as written."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    t = time.perf_counter()
    digest = hashlib.sha256()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    conn.request("GET", f"{parts.path}/v1beta/{file_name}:download?alt=media", headers={"x-goog-api-key": KEY})
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    with open(dest, "wb") as out:
        while chunk := resp.read(1 << 20):
            out.write(chunk)
            digest.update(chunk)
        out.flush()
        os.fsync(out.fileno())
    conn.close()
    return time.perf_counter() - t


def floor_curl(url: str, file_name: str, dest: Path) -> float | None:
    """`curl -o` of the same URL, with the key in a header: the issue's anchor. None where there is no curl."""
    import shutil

    curl = shutil.which("curl")
    if curl is None:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([curl, "-sS", "--fail", "-H", f"x-goog-api-key: {KEY}", "-o", str(dest),
                    f"{url}/v1beta/{file_name}:download?alt=media"], check=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CURL_CPU.append((after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime))
    dest.unlink()
    return elapsed


CURL_CPU: list[tuple[float, float]] = []  # (user, system) CPU s of each curl run


def parse_pass(path: Path, loads) -> float:  # noqa: ANN001
    t = time.perf_counter()
    with open(path, "rb") as f:
        for raw in f:
            loads(raw)
    return time.perf_counter() - t


def sdk_only(url: str, file_name: str, dest: Path) -> float:
    """The SDK's own `files.download(destination=...)`, hashed as written, nothing else: the floor of the SDK."""
    from google import genai

    digest = hashlib.sha256()

    class Hashing:
        def __init__(self, out) -> None:  # noqa: ANN001
            self.out = out

        def write(self, data: bytes) -> int:
            digest.update(data)
            return self.out.write(data)

    client = genai.Client(api_key=KEY, http_options={"base_url": url})  # held: collected, it closes its transport
    t = time.perf_counter()
    with open(dest, "wb") as out:
        client.files.download(file=file_name, destination=Hashing(out))
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - t
    dest.unlink()
    return elapsed


def transfer_only(url: str, file_name: str, dest: Path) -> float:
    """Our transfer alone (GeminiClient.download: core/api/download.py), hashed as written, nothing else."""
    from gembatch_tui.core.api.gemini import GeminiClient

    digest = hashlib.sha256()
    client = GeminiClient(KEY, base_url=url)  # made before the clock, as in bench_ours: its TLS context costs ~0.05 s
    t = time.perf_counter()
    client.download(file_name, dest, sink=digest.update)
    elapsed = time.perf_counter() - t
    dest.unlink()
    return elapsed


def bench_ours(url: str, file_name: str, inp: Path, n: int, tmp: Path, *, in_process: bool = False,
               sync_behind: bool = True) -> tuple[float, dict]:
    from gembatch_tui.core import sync_behind as flushing
    from gembatch_tui.core.api.gemini import GeminiClient
    from gembatch_tui.core.poll.download import download_results
    from gembatch_tui.core.results import verify_process
    from gembatch_tui.core.submit.service import BatchService
    from gembatch_tui.core.store import JobStore

    home = tmp / f"home-{time.monotonic_ns()}"
    store = JobStore(home / "jobs.jsonl")
    record = {"input_file": str(inp), "count": n,
              "batch": {"name": "batches/bench", "state": "JOB_STATE_SUCCEEDED", "model": "models/gemini-2.5-flash",
                        "dest": {"file_name": file_name},
                        "stats": {"request_count": n, "successful_request_count": n}}}
    store.add(record)
    service = BatchService(store, GeminiClient(KEY, base_url=url), results_dir=tmp / "out")
    rec = store.read_all()[0]
    made: list = []
    real, threshold = verify_process.verifier_for, verify_process.MIN_BYTES
    verify_process.verifier_for = lambda *a, **k: made.append(real(*a, **k)) or made[-1]  # to read its stats
    verify_process.MIN_BYTES = 1 << 60 if in_process else threshold
    step = flushing.STEP
    flushing.STEP = step if sync_behind else 1 << 60
    try:
        ticks = machine_ticks()
        cpu = time.process_time()
        t = time.perf_counter()
        outcome = download_results(service, rec)
        elapsed = time.perf_counter() - t
        cpu = time.process_time() - cpu
        idle = idle_share(ticks, machine_ticks())
    finally:
        verify_process.verifier_for, verify_process.MIN_BYTES = real, threshold
        flushing.STEP = step
    assert outcome.ok, outcome.message
    assert type(made[0]).__name__ == ("StreamVerifier" if in_process else "ProcessVerifier"), made
    saved = store.read_all()[0]
    Path(saved["results_file"]).unlink()
    return elapsed, {"message": outcome.message, "usage": saved.get("usage"), "sha": saved.get("results_sha256"),
                     "cpu_s": cpu, "idle_pct": idle, **{f"verifier_{k}": v for k, v in getattr(made[0], "stats", {}).items()}}


def bench_before(url: str, file_name: str, inp: Path, n: int, tmp: Path) -> float:
    """The path before issue 18, in the same run: an SDK download, then three reads of the file (verification with
    the standard library's parser, usage, sha256)."""
    from gembatch_tui.core import jsonfast
    from gembatch_tui.core.results import ledger, check as results, fingerprint as results_fingerprint
    from gembatch_tui.core.api.gemini import GeminiClient

    dest = tmp / "before.jsonl"
    fast, jsonfast.loads = jsonfast.loads, json.loads
    try:
        t = time.perf_counter()
        GeminiClient(KEY, base_url=url).download(file_name, dest)
        check = results.verify_results(dest, inp, expected_count=n)
        ledger.usage_from_file(dest)
        results_fingerprint.compute(dest)
        elapsed = time.perf_counter() - t
    finally:
        jsonfast.loads = fast
        dest.unlink()
    assert not check.parse_errors, check.parse_errors[:3]
    return elapsed


def _median_cpu(runs: list[tuple[float, float]]) -> str:
    users, systems = sorted(u for u, _ in runs), sorted(s for _, s in runs)
    return f"{users[len(users) // 2]:.2f} + {systems[len(systems) // 2]:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=300)
    ap.add_argument("--line-bytes", type=int, default=2500)
    ap.add_argument("--latency-ms", type=float, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate-mbs", type=float, default=0,
                    help="pace the server's sending to this many MB/s, as a server elsewhere would be "
                         "(0: as fast as it can, on the same two cores as the client)")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="gembatch-bench-download-") as d:
        tmp = Path(d)
        inp, res, n = generate(tmp, args.size_mb * 1_000_000, args.line_bytes)
        size_mb = res.stat().st_size / 1e6
        print(f"results {size_mb:.0f} MB ({n:,} lines), input {inp.stat().st_size / 1e6:.0f} MB; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        if args.rate_mbs:
            print(f"the server sends at most {args.rate_mbs:g} MB/s", flush=True)
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(res), str(args.latency_ms), KEY,
                                   str(args.rate_mbs)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert server.stdout is not None
            _, _, url, file_name = server.stdout.readline().split()
            import orjson

            parse_json = parse_pass(res, json.loads)
            parse_orjson = parse_pass(res, orjson.loads)
            from gembatch_tui.core.results import usual_line

            parse_shape = parse_pass(res, usual_line.read)
            before = rss_mb()
            from google import genai  # noqa: F401 - imported once before the turns (~0.3 s), as a running app has it

            floors: list[float] = []
            curls: list[float] = []
            sdks: list[float] = []
            transfers: list[float] = []
            floor_cpu: list[tuple[float, float]] = []  # (user, system) CPU s of each, to see what the HTTP client costs
            transfer_cpu: list[tuple[float, float]] = []
            runs = []
            once_at_end: list[float] = []
            for _ in range(args.runs):  # in turns, so that a change in the machine's load falls on all alike
                took_curl = floor_curl(url, file_name, tmp / "curl.jsonl")
                if took_curl is not None:
                    curls.append(took_curl)
                took, cpu = timed_cpu(floor_bare, url, file_name, tmp / "floor.jsonl")
                floors.append(took)
                floor_cpu.append(cpu)
                (tmp / "floor.jsonl").unlink()
                runs.append(bench_ours(url, file_name, inp, n, tmp))
                once_at_end.append(bench_ours(url, file_name, inp, n, tmp, sync_behind=False)[0])
                sdks.append(sdk_only(url, file_name, tmp / "sdk.jsonl"))
                took, cpu = timed_cpu(transfer_only, url, file_name, tmp / "transfer.jsonl")
                transfers.append(took)
                transfer_cpu.append(cpu)
            sdk, transfer = min(sdks), min(transfers)
            ours = [elapsed for elapsed, _ in runs]
            detail = min(runs, key=lambda run: run[0])[1]
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            verifier_peak = max(run[1].get("verifier_rss_mb", 0) for run in runs)
            inproc = min(bench_ours(url, file_name, inp, n, tmp, in_process=True)[0] for _ in range(args.runs))
            before_s = min(bench_before(url, file_name, inp, n, tmp) for _ in range(args.runs))
            best_floor, best = min(floors), min(ours)
            if curls:
                print(f"floor: curl -o (no hash): {min(curls):.2f} s ({size_mb / min(curls):.0f} MB/s; runs "
                      f"{', '.join(f'{x:.2f}' for x in curls)})")
            print(f"floor: bare download (http.client) + sha256: {best_floor:.2f} s ({size_mb / best_floor:.0f} MB/s)")
            print(f"SDK download alone (files.download to a file) + sha256: {sdk:.2f} s ({size_mb / sdk:.0f} MB/s)")
            print(f"our transfer alone (GeminiClient.download: the SDK's request, a lean body loop) + sha256: "
                  f"{transfer:.2f} s ({size_mb / transfer:.0f} MB/s)")
            print(f"  CPU of those (user + system, median of the runs): floor {_median_cpu(floor_cpu)}, "
                  f"our transfer {_median_cpu(transfer_cpu)}"
                  + (f", curl {_median_cpu(CURL_CPU)}" if CURL_CPU else ""))
            print(f"parse only, local file: json {size_mb / parse_json:.0f} MB/s, orjson {size_mb / parse_orjson:.0f} MB/s, "
                  f"the usual line's shape (msgspec, core/results/usual_line.py) {size_mb / parse_shape:.0f} MB/s")
            print(f"gembatch download_results (download + verify + usage + sha256 + store): {best:.2f} s "
                  f"({size_mb / best:.0f} MB/s; runs {', '.join(f'{x:.2f}' for x in ours)}), "
                  f"{best / best_floor:.1f}x the floor, {best / sdk:.1f}x the SDK download alone")
            print(f"  per run, ours / the floor of the same turn: "
                  f"{', '.join(f'{o / f:.1f}x' for o, f in zip(ours, floors))}")
            if curls:
                # The goal, 400 MB/s beside curl's 960 MB/s, is a time of at most 2.4x curl's on its machine.
                print(f"  per run, ours / curl of the same turn (the issue's goal: 960 / 400 = 2.4x): "
                      f"{', '.join(f'{o / c:.1f}x' for o, c in zip(ours, curls))}; best / best {best / min(curls):.1f}x")
            print(f"  best run: CPU {detail['cpu_s']:.2f} s in this process, {detail.get('verifier_cpu_s', 0):.2f} s "
                  f"in the verifier; the check ran on {detail.get('verifier_wait_s', 0):.2f} s after the last byte; "
                  f"the machine's CPU was {detail['idle_pct']:.0f}% idle meanwhile")
            print(f"same, synced once at the end instead of flushed in steps as it arrives: {min(once_at_end):.2f} s "
                  f"(runs {', '.join(f'{x:.2f}' for x in once_at_end)})")
            print(f"same, the check in-process (results/stream.py, as for files under 32 MB): {inproc:.2f} s "
                  f"({size_mb / inproc:.0f} MB/s)")
            print(f"before issue 18 (SDK download, then verify with json + usage + sha256, 3 reads): {before_s:.2f} s "
                  f"({size_mb / before_s:.0f} MB/s)")
            print(f"RSS before {before:.0f} MB, peak of this process {peak:.0f} MB (parse passes, our download and the "
                  f"transfers alone; the other paths run after), peak of the verifier process {verifier_peak:.0f} MB")
            print(f"outcome: {detail['message']}; load {os.getloadavg()[0]:.2f} at the end")
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
