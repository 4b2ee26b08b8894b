"""Benchmark for core.split on a ~1 GB input file: throughput and peak memory of each way through the file.

Not collected by pytest (the file name does not start with test_). Run:

    PYTHONPATH=. python tests/bench/bench_split.py [--size-mb 1024] [--dir /tmp] [--part-mb 256]

It writes a JSONL file of ~1 KB canonical requests, validates it once (as submit does), then splits it
1. by bytes only (`--part-mb` per part): the fast path, lines copied without parsing;
2. by bytes and an enqueued-token budget: the parsed path, every line parsed and estimated;
and checks that the parts add up to the input (requests, and bytes for the fast path). Each phase runs in a
forked child so its peak RSS is its own. Prints MB/s and peak RSS per phase, then deletes everything.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gembatch_tui.core.submit.split import write_parts
from gembatch_tui.core.submit.validate import validate_file

LOREM = ("Summarise the following passage in two sentences, keeping every number exact. " * 12)[:900]


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def generate(path: Path, target_bytes: int) -> int:
    n = written = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target_bytes:
            chunk = []
            for _ in range(1000):
                n += 1
                request = {"contents": [{"parts": [{"text": f"{n}: {LOREM}"}]}], "generationConfig": {"temperature": 0.2}}
                chunk.append(json.dumps({"key": f"req-{n:08d}", "request": request}))
            data = "\n".join(chunk) + "\n"
            f.write(data)
            written += len(data)
    return n


def _phase(conn: Any, src: str, out: str, report: Any, kwargs: dict[str, Any]) -> None:
    t0 = time.perf_counter()
    parts = write_parts(src, out, report=report, **kwargs)
    seconds = time.perf_counter() - t0
    conn.send((seconds, [(p.path.name, p.count, p.size_bytes, p.est_tokens) for p in parts], peak_rss_mb()))
    for p in parts:
        p.path.unlink()


def run_phase(label: str, src: Path, out: Path, report: Any, **kwargs: Any) -> None:
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_phase, args=(child, str(src), str(out), report, kwargs))
    proc.start()
    seconds, parts, rss = parent.recv()
    proc.join()
    mb = report.size_bytes / 1e6
    assert sum(c for _, c, _, _ in parts) == report.request_count, "parts lost requests"
    if label.startswith("fast"):
        assert sum(b for _, _, b, _ in parts) == report.size_bytes, "parts lost bytes"
    print(f"{label}: {seconds:.1f}s = {mb / seconds:.0f} MB/s, {len(parts)} parts "
          f"({', '.join(f'{c:,} req / {b / 1e6:.0f} MB / ~{t / 1e6:.1f}M tok' for _, c, b, t in parts)}); "
          f"peak RSS {rss:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--part-mb", type=int, default=256)
    parser.add_argument("--dir", default=None, help="where to put the temporary files (default: system temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        src = Path(tmp) / "bench.jsonl"
        out = Path(tmp) / "parts"
        out.mkdir()
        t0 = time.perf_counter()
        lines = generate(src, args.size_mb * 1024 * 1024)
        print(f"generated {src.stat().st_size / 1e6:,.0f} MB, {lines:,} lines in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        report = validate_file(src, max_bytes=None)
        print(f"validate_file: {time.perf_counter() - t0:.1f}s, {report.request_count:,} requests, "
              f"~{report.est_input_tokens:,} tokens; peak RSS {peak_rss_mb():.1f} MB")
        part_bytes = args.part_mb * 1024 * 1024
        run_phase("fast path (bytes only)", src, out, report, max_bytes=part_bytes)
        budget = report.est_input_tokens // 3 + 1
        run_phase(f"parsed path (bytes + {budget:,}-token budget)", src, out, report,
                  max_bytes=part_bytes, max_tokens=budget)


if __name__ == "__main__":
    main()
