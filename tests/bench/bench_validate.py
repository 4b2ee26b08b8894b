"""Benchmark for core.validate on a ~1 GB input file: throughput and peak memory.

Not collected by pytest (the file name does not start with test_). Run:

    PYTHONPATH=. python tests/bench/bench_validate.py [--size-mb 1024] [--dir /tmp]

It writes a JSONL file of ~1 KB requests (mostly canonical, some `{"request"}` and bare lines so that the
normalised copy is needed, one duplicate key near the end), validates it, writes the normalised copy, prints
MB/s for both passes and the process's peak RSS, and deletes both files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from gembatch_tui.core.submit.input_read import write_normalised
from gembatch_tui.core.submit.validate import validate_file

LOREM = ("Summarise the following passage in two sentences, keeping every number exact. " * 12)[:900]


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def generate(path: Path, target_bytes: int) -> int:
    """Write ~target_bytes of requests in 1 MB chunks; returns the line count."""
    n = 0
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target_bytes:
            chunk = []
            for _ in range(1000):
                n += 1
                parts = [{"text": f"{n}: {LOREM}"}]
                request = {"contents": [{"parts": parts}], "generationConfig": {"temperature": 0.2}}
                if n % 50 == 0:
                    obj: dict = {"request": request}
                elif n % 77 == 0:
                    obj = request
                else:
                    obj = {"key": f"req-{n:08d}", "request": request}
                chunk.append(json.dumps(obj))
            data = "\n".join(chunk) + "\n"
            f.write(data)
            written += len(data)
        f.write(json.dumps({"key": "req-00000001", "request": {"contents": "duplicate of line 1"}}) + "\n")
    return n + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--dir", default=None, help="where to put the temporary files (default: system temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        src = Path(tmp) / "bench.jsonl"
        dst = Path(tmp) / "bench.normalised.jsonl"
        t0 = time.perf_counter()
        lines = generate(src, args.size_mb * 1024 * 1024)
        size = src.stat().st_size
        mb = size / 1e6
        print(f"generated {mb:,.0f} MB, {lines:,} lines in {time.perf_counter() - t0:.1f}s; "
              f"peak RSS so far {peak_rss_mb():.1f} MB")

        ticks = []
        t0 = time.perf_counter()
        report = validate_file(src, progress=lambda done, total: ticks.append(done))
        dt = time.perf_counter() - t0
        print(f"validate_file: {dt:.1f}s = {mb / dt:.0f} MB/s; {report.request_count:,} requests, "
              f"~{report.est_input_tokens:,} tokens, {report.problem_count} problem(s), "
              f"needs_normalising={report.needs_normalising}, {len(ticks)} progress calls; "
              f"peak RSS {peak_rss_mb():.1f} MB")
        for message in report.messages()[:3]:
            print("   ", message)
        assert report.problem_count == 1 and "duplicate key 'req-00000001'" in report.problems[0].message

        t0 = time.perf_counter()
        count = write_normalised(src, dst)
        dt = time.perf_counter() - t0
        print(f"write_normalised: {dt:.1f}s = {mb / dt:.0f} MB/s; {count:,} lines, "
              f"{dst.stat().st_size / 1e6:,.0f} MB written; peak RSS {peak_rss_mb():.1f} MB")
        os.unlink(dst)
        os.unlink(src)
    print(f"peak RSS of the whole run: {peak_rss_mb():.1f} MB")


if __name__ == "__main__":
    main()
