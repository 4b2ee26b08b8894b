"""Benchmark (issue 18): `submit` of a big JSONL file beside its floor, a bare upload through the SDK, in one run.

Run (not collected by pytest):

    python tests/bench/bench_submit.py [--size-mb 1024] [--latency-ms 30] [--runs 1] [--dir /tmp]

It writes a JSONL file of ~1 KB canonical requests, starts the emulator in its own process (so it does not share
our GIL) with every answer delayed by --latency-ms, and times, in turns:

- floor: what the `gembatch` tool does (no validation), in a fresh process: `client.files.upload` of the file and one
  `batches.create` through the google-genai SDK;
- with --same-chunks, also that floor sending our chunk size (upload_reader.CHUNK_BYTES, the SDK's is 8 MiB): ours
  against it is what validation costs, the chunk size aside;
- ours: `python -m gembatch_tui submit FILE` in a fresh process (validation in its second process, the store
  record, the upload with its token, the create), with its peak RSS (os.wait4 of exactly that child: the
  validation process, a child of the fork server, is not counted there, so it is measured alone below);
- before: the same with overlap.MIN_BYTES above the file's size and json's parser (submit before issue 18);
- validation alone in a fresh process (what the second process does): wall, peak RSS, CPU;
- validation in this process with orjson and with the standard library's parser (MB/s of CPU time).
Each run gets a fresh store and a fresh emulator state. Best of --runs.
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
sys.path.insert(0, str(ROOT))
KEY = "bench-key"
TEXT = "Summarise the following passage in two sentences, keeping every number exact. " * 12

FLOOR = r"""
import sys, time
from google import genai
if len(sys.argv) > 4:  # the chunk size of each upload request (the SDK reads CHUNK_SIZE at a time)
    import google.genai._api_client as api_client
    api_client.CHUNK_SIZE = int(sys.argv[4])
client = genai.Client(api_key=sys.argv[2], http_options={"base_url": sys.argv[3], "timeout": 3_600_000})
t0 = time.perf_counter()
f = client.files.upload(file=sys.argv[1], config={"mime_type": "jsonl", "display_name": "floor"})
job = client.batches.create(model="models/gemini-2.5-flash", src=f.name, config={"display_name": "floor"})
print(f"{time.perf_counter() - t0:.3f} {job.name}")
"""

OURS = r"""
import runpy, sys
from gembatch_tui.core.submit import input_line, overlap
if sys.argv[1] == "first":  # as before issue 18: every file validated before its upload, with json
    overlap.MIN_BYTES = 1 << 62
    input_line.fast_loads = None
sys.argv = ["gembatch-tui", "submit", *sys.argv[2:]]
runpy.run_module("gembatch_tui", run_name="__main__")
"""


VALIDATE = r"""
import sys
from gembatch_tui.core.submit.validate import validate_file
assert validate_file(sys.argv[1], max_bytes=None).ok
"""


def write_jsonl(path: Path, target_bytes: int) -> int:
    n = written = 0
    with open(path, "w") as fh:
        while written < target_bytes:
            chunk = []
            for _ in range(1000):
                n += 1
                chunk.append(json.dumps({"key": f"k{n}", "request": {"contents": [{"parts": [{"text": f"{n} {TEXT}"}]}]}}))
            data = "\n".join(chunk) + "\n"
            fh.write(data)
            written += len(data)
    return n


def env_for(url: str, home: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["GOOGLE_API_KEY"] = KEY
    env["GOOGLE_GEMINI_BASE_URL"] = url
    if home is not None:
        env["GEMBATCH_TUI_HOME"] = str(home)
    return env


def start_emulator(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gembatch_tui.emulator", "--port", "0", "--api-key", KEY, "--latency-ms",
         str(latency_ms), "--job-seconds", "3600"],
        stdout=subprocess.PIPE, text=True, env=env_for(""),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    match = re.match(r"listening on (http://\S+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, match.group(1)


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS in MB, CPU seconds (os.wait4's rusage of exactly this child) and stdout of a process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text = out.read()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{args[:4]} failed: {text[-1000:]} {err.read()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, text.strip()


def validation_rates(src: Path) -> tuple[float, float]:
    from gembatch_tui.core.submit import input_line, validate

    size = src.stat().st_size / 1e6
    rates = []
    fast = input_line.fast_loads
    for loads in (fast, None):
        input_line.fast_loads = loads
        t0 = time.process_time()
        report = validate.validate_file(src, max_bytes=None)
        rates.append(size / (time.process_time() - t0))
        assert report.ok, report.messages()[:3]
    input_line.fast_loads = fast
    return rates[0], rates[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--latency-ms", type=float, default=30)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--dir", default=None, help="where the input file and the emulator's files go")
    ap.add_argument("--skip-parsers", action="store_true", help="leave out the in-process validation rates")
    ap.add_argument("--same-chunks", action="store_true", help="also time the floor with our upload chunk size")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        tmp = Path(d)
        src = tmp / "big.jsonl"
        n = write_jsonl(src, args.size_mb * 1024 * 1024)
        mb = src.stat().st_size / 1e6
        print(f"input: {mb:,.0f} MB, {n:,} requests; emulator in its own process at --latency-ms {args.latency_ms:g}")
        from gembatch_tui.core.api.upload_reader import CHUNK_BYTES

        best: dict[str, tuple[float, float, float]] = {}
        turns = [
            ("floor", [sys.executable, "-c", FLOOR, str(src), KEY]),
            ("ours", [sys.executable, "-m", "gembatch_tui", "submit", str(src)]),
            ("first", [sys.executable, "-c", OURS, "first", str(src)]),
        ]
        if args.same_chunks:
            turns.insert(1, ("floor-chunks", [sys.executable, "-c", FLOOR, str(src), KEY]))
        for run in range(args.runs):
            for name, argv in turns:
                proc, url = start_emulator(args.latency_ms)  # its files go to a temp dir it removes on stop
                try:
                    if name.startswith("floor"):
                        argv = [*argv, url] + ([str(CHUNK_BYTES)] if name == "floor-chunks" else [])
                    wall, rss, cpu, out = timed(argv, env_for(url, tmp / f"home-{name}-{run}"))
                finally:
                    proc.terminate()
                    proc.wait()
                if not name.startswith("floor") and "submitted" not in out:
                    raise SystemExit(f"{name}: {out}")
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, rss, cpu)
                print(f"  run {run + 1} {name}: {wall:.1f} s, peak RSS {rss:.0f} MB, CPU {cpu:.1f} s; load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
        floor, ours, first = best["floor"], best["ours"], best["first"]
        print(f"floor (SDK files.upload + batches.create, no validation): {floor[0]:.1f} s "
              f"({mb / floor[0]:.0f} MB/s), peak RSS {floor[1]:.0f} MB, CPU {floor[2]:.1f} s")
        if "floor-chunks" in best:
            same = best["floor-chunks"]
            print(f"floor sending {CHUNK_BYTES >> 20} MiB chunks like ours (SDK's: 8 MiB): {same[0]:.1f} s "
                  f"({mb / same[0]:.0f} MB/s), peak RSS {same[1]:.0f} MB; ours {ours[0] / same[0]:.2f} x this")
        print(f"gembatch-tui submit (validated while uploaded):           {ours[0]:.1f} s "
              f"({mb / ours[0]:.0f} MB/s), peak RSS {ours[1]:.0f} MB, CPU {ours[2]:.1f} s; {ours[0] / floor[0]:.2f} x the floor")
        print(f"gembatch-tui submit before (validated first, json):        {first[0]:.1f} s "
              f"({mb / first[0]:.0f} MB/s), peak RSS {first[1]:.0f} MB, CPU {first[2]:.1f} s; {first[0] / floor[0]:.2f} x the floor")
        alone = [sys.executable, "-c", VALIDATE, str(src)]
        wall, rss, cpu, _ = timed(alone, env_for(""))
        print(f"validation alone in a process (the second process of ours): {wall:.1f} s, peak RSS {rss:.0f} MB, "
              f"CPU {cpu:.1f} s")
        if not args.skip_parsers:
            fast, slow = validation_rates(src)
            print(f"validation alone, MB/s of CPU time: {fast:.0f} with orjson, {slow:.0f} with json")
        print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
