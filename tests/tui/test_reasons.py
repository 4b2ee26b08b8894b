"""The one-line reasons a hidden dashboard key gives: in read-only mode a split group's row (no record of its own)
says read-only, as a job's row does, not "no job selected"."""

from __future__ import annotations

import pytest

from gembatch_tui.tui.dashboard.reasons import reason_not

JOB = {"id": "j", "batch": {"name": "batches/j", "state": "JOB_STATE_SUCCEEDED"}}


@pytest.mark.parametrize("action", ["cancel_job", "delete_job", "retry_parts"])
@pytest.mark.parametrize("record", [JOB, None])
def test_read_only_says_so_on_every_row(action: str, record: dict | None) -> None:
    assert reason_not(action, record, service=False, read_only=True) == "read-only (no API key): nothing can be sent"


def test_with_a_service_a_row_without_a_job_says_so() -> None:
    assert reason_not("delete_job", None, service=True) == "no job selected"
    assert reason_not("cancel_job", JOB, service=True) == "succeeded: already finished, nothing to cancel"
