"""Benchmark for `prepare` on a ~1 GB CSV: throughput (MB/s of CSV read) and the peak RSS of the prepare process.

Not collected by pytest (the file name does not start with test_). Run:

    PYTHONPATH=. python tests/bench/bench_prepare.py [--size-mb 1024] [--dir /tmp] [--rows-kb 1] [--keep] [--data CSV]

It writes a CSV of ~1 KB rows (an id column, a title, a body with commas, quotes and a newline), then runs
`gembatch-tui prepare DATA --id-column id --template ...` as a child process (the real command, with the id
duplicate check and the cost estimate), and prints the child's wall time and MB/s of CSV, its MB per CPU
second (user + system time: what a busy machine does not change) and its peak RSS (getrusage of the child),
and checks the batch's line count. Goal: >= 50 MB/s, < 150 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BODY = ('The committee said "further study" was needed, and costs rose by 4.5%, 7% and 12% in three years. ' * 12)


def generate(path: Path, target_bytes: int, row_bytes: int) -> int:
    body = (BODY * (row_bytes // len(BODY) + 1))[: max(64, row_bytes - 60)]
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "title", "body"])
        while f.tell() < target_bytes:
            block = []
            for _ in range(2000):
                rows += 1
                block.append((f"doc-{rows:09d}", f"Report {rows}, part {rows % 7}", f"{rows}: {body}\nEnd."))
            writer.writerows(block)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rows-kb", type=float, default=1.0, help="size of one CSV row in KB")
    parser.add_argument("--dir", default=None, help="where to write the files (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--data", default=None, help="prepare this CSV (columns id, title, body) instead of a new one")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-prepare-", dir=args.dir))
    try:
        data = folder / "docs.csv"
        t0 = time.perf_counter()
        if args.data:
            shutil.copyfile(args.data, data)
            with open(data, newline="", encoding="utf-8") as f:
                rows = sum(1 for _ in csv.reader(f)) - 1
        else:
            rows = generate(data, args.size_mb * 1024 * 1024, int(args.rows_kb * 1024))
        size = data.stat().st_size
        print(f"{'copied' if args.data else 'generated'} {rows:,} rows, {size / 1e6:,.0f} MB "
              f"in {time.perf_counter() - t0:.1f} s")
        env = dict(os.environ, GEMBATCH_TUI_HOME=str(folder / "home"),
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cmd = [sys.executable, "-m", "gembatch_tui", "prepare", str(data), "--id-column", "id",
               "--template", "Summarise {title} in two sentences:\n\n{body}", "--max-output-tokens", "256"]
        t0 = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
        elapsed = time.perf_counter() - t0
        if run.returncode != 0:
            sys.exit(f"prepare failed ({run.returncode}): {run.stderr}")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime
        peak = usage.ru_maxrss
        peak_mb = peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024
        batch = data.with_name("docs.batch.jsonl")
        lines = sum(1 for _ in open(batch, "rb"))
        assert lines == rows, (lines, rows)
        print(run.stdout.strip())
        print(f"prepare: {size / 1e6:,.0f} MB CSV in {elapsed:.1f} s = {size / 1e6 / elapsed:.1f} MB/s "
              f"(goal >= 50); {size / 1e6 / cpu:.1f} MB per CPU second ({cpu:.1f} s of CPU: the figure that does "
              f"not depend on how busy the machine is); peak RSS {peak_mb:.0f} MB (goal < 150); "
              f"batch {batch.stat().st_size / 1e6:,.0f} MB, {lines:,} lines; load average {os.getloadavg()[0]:.1f}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
