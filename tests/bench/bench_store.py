"""Benchmark of the job store (issue 2): update one record / load all, in a store of 10,000 records; with
`--list` (issue 18), the CLI's `list` and `list --json` over the same store, each in its own process.

Run: python tests/bench/bench_store.py [--records 10000] [--rounds 30] [--floor] [--list [--list-runs 3]]
     python tests/bench/bench_store.py --records 100000 --rounds 15 --floor --list
Targets: update median < 30 ms; load (a fresh process's first read) < 300 ms (both for 10,000 records).
`--list` prints wall time, CPU time and peak RSS of each command next to its floor measured in the same run: a bare
`json.loads` of every line of the same store in a fresh process (the least any reader must do), and a bare
`python -c pass` (the interpreter's start). The machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gembatch_tui.core.store import JobStore


def make_record(i: int) -> dict:
    return {
        "id": f"r{i:06d}",
        "version": 1,
        "input_file": f"/home/user/batches/part-{i:06d}.jsonl",
        "count": 500,
        "uploaded_file_name": f"files/up{i:010d}",
        "input_sha256": f"{i:064x}",
        "batch": {
            "name": f"batches/{i:040d}",
            "display_name": f"part-{i:06d}.jsonl",
            "model": "models/gemini-2.5-flash",
            "state": "JOB_STATE_SUCCEEDED",
            "create_time": "2026-11-23T10:00:00+00:00",
            "update_time": "2026-11-23T10:20:00+00:00",
            "end_time": "2026-11-23T10:20:00+00:00",
            "dest": {"file_name": f"files/batch-{i:040d}"},
            "stats": {"request_count": 500, "successful_request_count": 498, "failed_request_count": 2, "pending_request_count": 0},
        },
        "results_file": f"/home/user/batches/results/part-{i:06d}.jsonl",
        "results_verified": True,  # so `list` pays its one stat a job, as it does for a real store
        "results_bytes": 1_048_576,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--floor", action="store_true", help="also time the bare rewrite the design prescribes")
    ap.add_argument("--list", action="store_true", help="also time `gembatch-tui list` and `list --json`")
    ap.add_argument("--list-runs", type=int, default=3, help="runs of each command with --list (median shown)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jobs.jsonl"
        path.write_text("".join(json.dumps(make_record(i)) + "\n" for i in range(args.records)))
        size_mb = path.stat().st_size / 1e6
        loads = []
        for _ in range(5):
            t0 = time.perf_counter()
            records = JobStore(path).read_all()  # a fresh object: no cache, parses everything
            loads.append((time.perf_counter() - t0) * 1000)
        assert len(records) == args.records
        store = JobStore(path)
        store.read_all()
        updates = []
        for n in range(args.rounds):
            key = f"r{(n * 7919) % args.records:06d}"
            t0 = time.perf_counter()
            store.update(key, lambda r, n=n: r.update(note=f"round {n}"))
            updates.append((time.perf_counter() - t0) * 1000)
        cold_updates = []
        for n in range(5):
            other = JobStore(path)  # another process's view: must re-read before writing
            t0 = time.perf_counter()
            other.update(f"r{n:06d}", lambda r: r.update(cold=True))
            cold_updates.append((time.perf_counter() - t0) * 1000)
        print(f"store: {args.records} records, {size_mb:.1f} MB")
        print(f"load all (fresh reader): median {statistics.median(loads):.1f} ms (min {min(loads):.1f}, max {max(loads):.1f})")
        print(f"update one (same process, cached): median {statistics.median(updates):.1f} ms (max {max(updates):.1f})")
        print(f"update one (fresh reader, re-parses): median {statistics.median(cold_updates):.1f} ms")
        if args.floor:
            floors = [_bare_rewrite(path) for _ in range(args.rounds)]
            print(f"floor: the bare crash-atomic rewrite of the same file (temp + writev + fsync + replace + dir "
                  f"fsync, no store logic): median {statistics.median(floors):.1f} ms")
        if args.list:
            _bench_list(path, Path(tmp), args.records, args.list_runs)


_FLOOR_LOAD = "import json, sys\nwith open(sys.argv[1], 'rb') as fh:\n    records = [json.loads(line) for line in fh]\n"


def _bench_list(path: Path, tmp: Path, records: int, runs: int) -> None:
    """`list` and `list --json` as a user runs them (a fresh process each), against the floors, in turns so the
    machine's changing load falls on all of them alike."""
    env = dict(os.environ, GEMBATCH_TUI_HOME=str(tmp / "home"))
    for var in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        env.pop(var, None)  # list needs no key; none is read
    cli = [sys.executable, "-m", "gembatch_tui", "--store", str(path)]
    commands = {
        "list": cli + ["list"],
        "list --json": cli + ["list", "--json"],
        "floor: json.loads of every line": [sys.executable, "-c", _FLOOR_LOAD, str(path)],
        "floor: python -c pass": [sys.executable, "-c", "pass"],
    }
    seen: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    out_path = tmp / "list.out"
    for _ in range(runs):
        for name, argv in commands.items():
            seen[name].append(_run_measured(argv, env, out_path))
            if name == "list":
                lines = out_path.read_bytes().count(b"\n")
                assert lines == records + 1, f"list printed {lines} lines for {records} records"
            elif name == "list --json":
                assert len(json.loads(out_path.read_bytes())) == records
    print(f"list over {records:,} records, {runs} runs each (load average {_load()}):")
    for name, rows in seen.items():
        walls, cpus = [w for w, _, _ in rows], [c for _, c, _ in rows]
        print(f"  {name}: wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}), CPU median "
              f"{statistics.median(cpus):.2f} s, peak RSS {max(r for _, _, r in rows):.0f} MB")


# Runs one command with stdout to a file and prints its wall and CPU seconds and peak RSS (KiB). A child's peak RSS
# counts the memory of the process that forked it, so the bench (hundreds of MB by now) forks this small launcher,
# not the command itself; its ~10 MB shows in the `python -c pass` floor.
_LAUNCHER = """
import os, sys, time
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
t0 = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, out, 1)])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def _run_measured(argv: list[str], env: dict[str, str], out_path: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system: steadier than wall on a loaded machine) and peak RSS (MB) of one
    process, from its own rusage (os.wait4), stdout to `out_path`."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(out_path), *argv], env=env, capture_output=True,
                          text=True, check=False)
    try:
        wall, cpu, rss_kib, code = done.stdout.split()
    except ValueError:
        raise SystemExit(f"launcher failed: {done.stderr[-500:]}") from None
    if int(code) != 0:
        raise SystemExit(f"{' '.join(argv[:6])}: exit {code}: {done.stderr[-500:]}")
    return float(wall), float(cpu), int(rss_kib) / 1024  # Linux reports KiB


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _bare_rewrite(path: Path) -> float:
    """One crash-atomic rewrite of `path` as the issue prescribes, with none of the store's own work: the least
    an update can cost on this disk."""
    lines = path.read_bytes().splitlines(keepends=True)
    t0 = time.perf_counter()
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    for start in range(0, len(lines), 1024):
        os.writev(fd, lines[start : start + 1024])
    os.fsync(fd)
    os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    return (time.perf_counter() - t0) * 1000


if __name__ == "__main__":
    main()
