"""A poll pass reads jobs, then writes what it read; meanwhile a cancel (another worker, another process) may record
a final state. The pass's older read must not take the job back to pending or running: found as a flaky dashboard
test (a group cancel showed 2 of 3 parts pending again until the next poll, 60 s later)."""

from __future__ import annotations

from gembatch_tui.core import models
from gembatch_tui.core.poll.poller import _merge


def _record(state: str) -> dict:
    return {"id": "r1", "batch": {"name": "batches/x", "state": state}}


def test_an_older_read_never_takes_a_final_job_back() -> None:
    rec = _record(models.CANCELLED)
    _merge(models.BatchSnapshot(name="batches/x", state=models.PENDING))(rec)
    assert models.record_state(rec) == models.CANCELLED


def test_states_still_move_forward() -> None:
    rec = _record(models.PENDING)
    _merge(models.BatchSnapshot(name="batches/x", state=models.RUNNING))(rec)
    assert models.record_state(rec) == models.RUNNING and rec["polled_at"]
    _merge(models.BatchSnapshot(name="batches/x", state=models.SUCCEEDED, dest_file_name="files/o"))(rec)
    assert models.record_state(rec) == models.SUCCEEDED
