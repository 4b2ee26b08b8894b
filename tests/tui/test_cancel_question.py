"""The cancel dialog says what cancelling costs: a whole job is resubmitted, a part of a split input is retried."""

from __future__ import annotations

from gembatch_tui.tui.job_actions import cancel_question


def _running(**extra: object) -> dict:
    return {"id": "x", "input_file": "/d/a.jsonl", "count": 10,
            "batch": {"name": "batches/a", "state": "JOB_STATE_RUNNING"}, **extra}


def test_a_job_is_rerun_by_submitting_again_and_a_part_by_retrying_it() -> None:
    title, body, yes = cancel_question(_running())
    assert title == "Cancel this job?" and "submit the file again" in body.plain and "retried" not in body.plain
    _, body, _ = cancel_question(_running(group_id="g1", group_part=2, group_parts=3))
    assert "retried (R" in body.plain and "submit the file again" not in body.plain
    queued = {"id": "q", "input_file": "/d/p.jsonl", "group_id": "g1", "local_state": "queued"}
    _, body, _ = cancel_question(queued)
    assert "never sent" in body.plain and "retried (R)" in body.plain
