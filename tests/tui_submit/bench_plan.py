"""How long the submit screen's confirm dialog waits for its plan: N marked files against a store of M records.

Run: `python -m tests.tui_submit.bench_plan 1000 10000` (files checked beforehand, as the screen's totals do).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.tui.submit.model import ReportCache
from gembatch_tui.tui.submit.plan import build_plan
from gembatch_tui.tui.submit.run import SubmitRequest

LINE = '{"key": "k", "request": {"contents": [{"parts": [{"text": "n%d"}]}]}}\n'


def main(files: int, records: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = []
        for i in range(files):
            path = root / f"f{i:04d}.jsonl"
            path.write_text(LINE % i)
            paths.append(path)
        store = JobStore(root / "store" / "jobs.jsonl")
        store.add_many([{"id": f"r{i}", "input_file": f"/elsewhere/x{i}.jsonl", "input_sha256": f"{i:064x}",
                         "batch": {"name": f"batches/b{i}", "state": "JOB_STATE_SUCCEEDED"}} for i in range(records)])
        store.add({"id": "dup", "input_file": str(paths[0]), "batch": {"name": "batches/dup"}})
        cache = ReportCache()
        for path in paths:
            cache.validate(path)
        start = time.perf_counter()
        plan = build_plan(BatchService(store, client=None), SubmitRequest(paths, "gemini-2.5-flash"), cache, None,
                          None, threading.Event())
        took = time.perf_counter() - start
        assert plan is not None
        print(f"{files:,} files, store of {records + 1:,} records: plan in {took:.2f} s ({plan.counts_line()})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 10000)
