"""The demo's CLI jobs take 5 s of real time (cli/commands.py); a test that only needs the next run to find its
job further on moves the job's creation time back in the persisted state (the documented format of
emulator/persist.py) instead of waiting those seconds out. That is what time passing between two runs does."""

from __future__ import annotations

import json

from filelock import FileLock

from gembatch_tui import runtime
from gembatch_tui.emulator import persist


def age_demo_jobs(seconds: float) -> None:
    """Every batch job in the demo state is now `seconds` older, as if that time had passed since the last run."""
    state_dir = runtime.demo_emulator_dir()
    path = state_dir / persist.STATE_FILE
    with FileLock(str(state_dir / persist.LOCK_FILE), thread_local=False):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["batches"], "no demo job to age"
        for batch in data["batches"]:
            batch["created"] -= seconds
        path.write_text(json.dumps(data), encoding="utf-8")
