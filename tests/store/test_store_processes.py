"""Real processes, because cross-process locking is the point."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from gembatch_tui.core.store import JobStore

WORKER = str(Path(__file__).with_name("_store_worker.py"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_eight_processes_add_and_update(tmp_path: Path) -> None:
    store_path = tmp_path / "jobs.jsonl"
    procs = [
        subprocess.Popen([sys.executable, WORKER, "add", str(store_path), str(w), "50"], stdout=subprocess.PIPE, text=True, env=_env())
        for w in range(8)
    ]
    updates: list[tuple[str, str]] = []
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0
        updates += [tuple(line.split()[1:3]) for line in out.splitlines() if line.startswith("U ")]
    records = {r["id"]: r for r in JobStore(store_path).read_all()}
    assert len(records) == 400
    assert len(updates) > 300
    for target, tag in updates:
        assert tag in records[target]["touched_by"], f"update {tag} of {target} was lost"


def test_sigkill_never_corrupts_or_blocks(tmp_path: Path) -> None:
    store_path = tmp_path / "jobs.jsonl"
    rng = random.Random(7)
    committed: set[str] = set()
    for trial in range(50):
        p = subprocess.Popen([sys.executable, WORKER, "hammer", str(store_path), str(trial)], stdout=subprocess.PIPE, text=True, env=_env())
        assert p.stdout is not None
        first = p.stdout.readline()  # wait until it is writing
        assert first.strip()
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        committed.update([first.strip()] + out.split())
        start = time.monotonic()
        store = JobStore(store_path)
        records, problems = store.read_with_problems()
        store.add({"id": f"probe-{trial}", "input_file": "/probe"})
        took = time.monotonic() - start
        assert took < 1.0, f"next process waited {took:.2f}s for the lock"
        assert problems == []
        ids = {r["id"] for r in records}
        assert committed <= ids, f"lost committed records: {sorted(committed - ids)[:5]}"
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert leftovers == []
