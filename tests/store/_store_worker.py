"""Child process for the store concurrency tests (run as a script, not collected)."""

from __future__ import annotations

import random
import sys

from gembatch_tui.core.store import JobStore


def add_and_update(store_path: str, worker: int, count: int) -> None:
    store = JobStore(store_path)
    rng = random.Random(worker)
    for i in range(count):
        store.add({"id": f"w{worker}-{i}", "input_file": f"/in/{worker}/{i}.jsonl",
                   "batch": {"name": f"batches/w{worker}x{i}", "state": "JOB_STATE_PENDING"}, "touched_by": []})
        others = [r for r in store.read_all() if not r["id"].startswith(f"w{worker}-")]
        if others:
            target = rng.choice(others)["id"]
            store.update(target, lambda r, w=worker, n=i: r["touched_by"].append(f"{w}:{n}"))
            print(f"U {target} {worker}:{i}", flush=True)


def hammer(store_path: str, worker: int) -> None:
    """Write as fast as possible forever, printing each committed record id after the write returns."""
    store = JobStore(store_path)
    i = 0
    while True:
        rid = f"k{worker}-{i}"
        store.add({"id": rid, "input_file": f"/in/{rid}.jsonl", "payload": "x" * 2000})
        print(rid, flush=True)
        i += 1


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "add":
        add_and_update(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "hammer":
        hammer(sys.argv[2], int(sys.argv[3]))
