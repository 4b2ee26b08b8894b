"""Benchmark of the dashboard's real-time watch tick (tui/dashboard/realtime_watch.py) on a store of N jobs, one of
them a running real-time job. Run: python tests/bench/bench_realtime_watch.py [--records 10000] [--rounds 30]

Three ticks, each timed the old way (read_changes: a store read every tick) and the new way (StoreProbe: one stat
while the file is unchanged), with its floor measured in the same run:
- unchanged: nothing wrote since the last tick; floor: a bare os.stat of the store file.
- watched write: another process (another JobStore on the same file) moved the real-time job's counters;
  floor: a fresh JobStore's read_all of the file (the App's reload reads it anyway).
- other write: another process changed a job that is not watched; same floor.
Times are medians in ms (wall and this thread's CPU); the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gembatch_tui.core.store import JobStore  # noqa: E402
from gembatch_tui.tui.dashboard.realtime_watch import StoreProbe, read_changes  # noqa: E402
from tests.bench.bench_store import make_record  # noqa: E402

RT = {"id": "rt", "version": 1, "mode": "realtime", "input_file": "/x/in.jsonl", "count": 1000,
      "realtime": {"rpm": 60, "tpm": 1000, "concurrency": 2},
      "batch": {"name": "realtime/rt", "display_name": "in.jsonl", "state": "JOB_STATE_RUNNING",
                "stats": {"request_count": 1000, "successful_request_count": 0, "failed_request_count": 0,
                          "pending_request_count": 1000}}}


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def median(samples: list[tuple[float, float]]) -> str:
    return (f"{statistics.median(s[0] for s in samples):8.3f} ms wall {statistics.median(s[1] for s in samples):8.3f}"
            " ms CPU")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jobs.jsonl"
        path.write_text("".join(json.dumps(make_record(i)) + "\n" for i in range(args.records - 1))
                        + json.dumps(RT) + "\n")
        app_store, other = JobStore(path), JobStore(path)  # the app's store; another process's
        probe = StoreProbe(app_store)
        done = [0]

        def watched() -> dict:
            return {"rt": app_store.get("rt") or {}}

        def write_watched() -> None:
            done[0] += 1
            other.update("rt", lambda r: r["batch"]["stats"].update(successful_request_count=done[0]))

        def write_other() -> None:
            done[0] += 1
            other.update("r000007", lambda r: r.update(note=str(done[0])))

        rows: dict[str, list[tuple[float, float]]] = {k: [] for k in (
            "unchanged/floor", "unchanged/old", "unchanged/new", "watched/floor", "watched/old", "watched/new",
            "other/floor", "other/old", "other/new")}
        w = watched()
        probe.changed(w)
        for _ in range(args.rounds):
            rows["unchanged/floor"].append(timed(lambda: os.stat(path)))
            rows["unchanged/old"].append(timed(lambda: read_changes(app_store, w)))
            rows["unchanged/new"].append(timed(lambda: probe.changed(w)))
            for kind, write in (("watched", write_watched), ("other", write_other)):
                write()
                rows[f"{kind}/floor"].append(timed(lambda: JobStore(path).read_all()))
                rows[f"{kind}/old"].append(timed(lambda: read_changes(app_store, w)))  # parses: the file changed
                write()
                rows[f"{kind}/new"].append(timed(lambda: probe.changed(w)))
                w = watched()  # the App's reload that follows a change
                probe.changed(w)  # ... and the tick after it, which finds nothing new
        print(f"store: {args.records:,} jobs, {path.stat().st_size / 1e6:.1f} MB; {args.rounds} rounds; medians")
        for key, samples in rows.items():
            print(f"  {key:16} {median(samples)}")
        for kind in ("unchanged", "watched", "other"):
            floor = statistics.median(s[0] for s in rows[f"{kind}/floor"])
            old = statistics.median(s[0] for s in rows[f"{kind}/old"])
            new = statistics.median(s[0] for s in rows[f"{kind}/new"])
            print(f"  {kind:9} old/floor {old / floor:7.1f}x   new/floor {new / floor:7.1f}x")
        print(f"  probe: {probe.reads} reads, {probe.skips} skips; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
