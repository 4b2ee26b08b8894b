"""Benchmark for `prepare` on a ~1 GB CSV: throughput (MB/s of CSV read) and the peak RSS of the prepare process.

Not collected by pytest (the file name does not start with test_). Run:

    PYTHONPATH=. python tests/bench/bench_prepare.py [--size-mb 1024] [--dir /tmp] [--rows-kb 1] [--keep] [--data CSV]
        [--baseline DIR --runs N]

It writes a CSV of ~1 KB rows (an id column, a title, a body with commas, quotes and a newline), then runs
`gembatch-tui prepare DATA --id-column id --template ...` as a child process (the real command, with the id
duplicate check and the cost estimate), and prints the child's wall time and MB/s of CSV, its MB per CPU
second (user + system time: what a busy machine changes least, though on a shared VM it still moves by 10% or
more, hence `--baseline DIR --runs N`: another tree's code on the same file, alternating, and the ratio) and its
peak RSS (wait4 of the child), and checks the batch's line count. Goal: >= 50 MB/s, < 150 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
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
    parser.add_argument("--baseline", metavar="DIR", default=None,
                        help="also run the gembatch_tui under DIR (e.g. `git archive` of an older commit) on the same "
                             "file, alternating with this tree: a ratio measured in the same minutes")
    parser.add_argument("--runs", type=int, default=1, help="how many times to run each tree")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-prepare-", dir=args.dir)).resolve()
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
        trees = [("this tree", ROOT)] + [("baseline", Path(args.baseline).resolve())] * bool(args.baseline)
        best: dict[str, float] = {}
        for _round in range(args.runs):
            for name, root in trees:
                stdout, elapsed, user, system, peak_mb = _run(root, data, folder / "home")
                batch = data.with_name("docs.batch.jsonl")
                lines = sum(1 for _ in open(batch, "rb"))
                assert lines == rows, (lines, rows)
                if _round == 0 and name == "this tree":
                    print(stdout.strip())
                cpu = user + system
                best[name] = min(best.get(name, cpu), cpu)
                print(f"{name}: {size / 1e6:,.0f} MB CSV in {elapsed:.1f} s = {size / 1e6 / elapsed:.1f} MB/s "
                      f"(goal >= 50); {size / 1e6 / cpu:.1f} MB per CPU second ({cpu:.1f} s of CPU, user {user:.1f} "
                      f"+ system {system:.1f}: the figure that depends least on how busy the machine is); peak RSS "
                      f"{peak_mb:.0f} MB (goal < 150); batch {batch.stat().st_size / 1e6:,.0f} MB, {lines:,} lines; "
                      f"load average {os.getloadavg()[0]:.1f}")
                batch.unlink()
                batch.with_name("docs.batch.map.jsonl").unlink()
        if "baseline" in best:
            print(f"least CPU of {args.runs} run(s): this tree {best['this tree']:.2f} s, baseline "
                  f"{best['baseline']:.2f} s (this tree takes {best['this tree'] / best['baseline']:.2f}x)")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def _run(root: Path, data: Path, home: Path) -> tuple[str, float, float, float, float]:
    """Prepare DATA with the code under `root` in a child: (stdout, wall s, user s, system s, peak RSS MB)."""
    env = dict(os.environ, GEMBATCH_TUI_HOME=str(home),
               PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "gembatch_tui", "prepare", str(data), "--id-column", "id",
           "--template", "Summarise {title} in two sentences:\n\n{body}", "--max-output-tokens", "256"]
    out, err = home.with_name("stdout.txt"), home.with_name("stderr.txt")
    t0 = time.perf_counter()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        # cwd: `python -m` puts the current folder first on sys.path, ahead of PYTHONPATH
        child = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, cwd=root)
        _pid, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time and peak RSS
    elapsed = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"prepare failed ({child.returncode}): {err.read_text()}")
    peak_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return out.read_text(), elapsed, usage.ru_utime, usage.ru_stime, peak_mb


if __name__ == "__main__":
    main()
