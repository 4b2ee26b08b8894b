"""The pure parts of the app's real-time fallback: the row's mark, the words of the stop question and the run's
status line, and the detail's rows."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gembatch_tui.core.models import CANCELLED, RUNNING, SUCCEEDED
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dashboard.cells import REALTIME_MARK, build_row
from gembatch_tui.tui.dashboard.realtime_cancel import cancel_question
from gembatch_tui.tui.dashboard.realtime_detail import progress_text, realtime_rows
from gembatch_tui.tui.results.realtime_run import RunStatus

DEAD_PID = 2 ** 22 + 12345  # above the usual pid_max: no such process


def _rt(rid: str, state: str, *, pid: int | None = None, done: int = 0, total: int = 10) -> dict[str, Any]:
    run: dict[str, Any] = {"rpm": 60, "tpm": 1000, "concurrency": 2}
    if pid is not None:
        run.update(pid=pid, host=os.uname().nodename)
    return {"id": rid, "mode": "realtime", "input_file": "/x/in.jsonl", "count": total, "realtime": run,
            "batch": {"name": f"realtime/{rid}", "display_name": "in.jsonl", "state": state,
                      "stats": {"request_count": total, "successful_request_count": done,
                                "failed_request_count": 0, "pending_request_count": total - done}}}


def test_the_row_marks_the_kind_and_the_detail_says_interactive_rates_and_progress() -> None:
    from datetime import datetime, timezone

    row = build_row(_rt("a", RUNNING, pid=os.getpid(), done=4), datetime.now(timezone.utc))
    assert row.cells["name"].plain == f"{REALTIME_MARK}in.jsonl" and row.cells["progress"].plain == "4/10"
    assert not build_row({"id": "b", "batch": {"name": "batches/b", "display_name": "in.jsonl"}},
                         datetime.now(timezone.utc)).cells["name"].plain.startswith(REALTIME_MARK)
    rows = {label: value.plain for label, value in realtime_rows(_rt("a", RUNNING, pid=os.getpid(), done=4),
                                                                 here=True)}
    assert "interactive rates" in rows["Kind"] and "this app runs it" in rows["Run"] and "2 at once" in rows["Run"]
    gone = {label: value.plain for label, value in realtime_rows(_rt("a", RUNNING, pid=DEAD_PID), here=False)}
    assert "process is gone" in gone["Run"]
    assert progress_text(_rt("a", RUNNING, done=4)).plain == "4 of 10 requests answered (0 with an error), 6 to send"
    assert progress_text(_rt("a", CANCELLED, done=4)).plain.endswith("6 not answered")


def test_the_stop_question_speaks_of_answers_kept_never_of_a_server_job() -> None:
    title, body, yes = cancel_question(_rt("a", RUNNING, pid=os.getpid(), done=3), here=True, alive=True)
    assert title == "Stop this real-time run?" and yes == "stop it"
    assert "3 of 10 requests answered, run by this app" in body.plain and "kept" in body.plain
    assert "cannot be resumed" not in body.plain
    _t, gone, _y = cancel_question(_rt("a", RUNNING, pid=DEAD_PID), here=False, alive=False)
    assert "process is gone" in gone.plain and "marked cancelled now" in gone.plain


def test_the_status_line_names_the_run_by_a_prefix_every_command_takes() -> None:
    starting = RunStatus(1, "job")
    assert starting.line() == "real-time run: starting…"
    going = RunStatus(1, "job", key="0123456789abcdef", name="realtime/0123456789abcdef", total=40, done=8,
                      errors=1, paused=12)
    assert going.line() == "realtime/01234567: sending, 8/40 answered (1 errors), paused 12s by the server"
    ended = RunStatus(1, "job", key="0123456789abcdef", name="realtime/0123456789abcdef", total=40, done=30,
                      errors=2, finished=True, state="JOB_STATE_CANCELLED")
    assert ended.line() == "realtime/01234567: cancelled, 28 ok, 2 errors, 10 not answered"
    refused = RunStatus(1, "job", finished=True, ok=False, message="estimated cost is over the cap")
    assert refused.line() == "real-time run: estimated cost is over the cap"
