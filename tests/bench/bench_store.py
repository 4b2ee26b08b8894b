"""Benchmark of the job store (issue 2): update one record / load all, in a store of 10,000 records.

Run: python tests/bench/bench_store.py [--records 10000] [--rounds 30] [--floor]
Targets: update median < 30 ms; load (a fresh process's first read) < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--floor", action="store_true", help="also time the bare rewrite the design prescribes")
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
