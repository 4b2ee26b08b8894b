"""Per-job poll schedule (core/poll_schedule.py): young, unpolled, cancelled, 404'd and about-to-finish jobs are due
on every pass; older ones back off with their age, never beyond MAX_INTERVAL_S."""

from __future__ import annotations

from datetime import datetime, timezone

from gembatch_tui.core.poll import schedule as ps

NOW = 1_800_000_000.0


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


def rec(age: float, polled_ago: float | None, state: str = "JOB_STATE_RUNNING", **extra) -> dict:
    r = {"batch": {"name": "batches/x", "state": state, "create_time": iso(NOW - age)}, **extra}
    if polled_ago is not None:
        r["polled_at"] = iso(NOW - polled_ago)
    return r


def test_young_and_never_polled_jobs_are_due_every_pass() -> None:
    assert ps.is_due(rec(60, 1), NOW)
    assert ps.is_due(rec(ps.YOUNG_S - 1, 0.5), NOW)
    assert ps.is_due(rec(86_400, None), NOW)


def test_older_jobs_back_off_with_age_up_to_the_bound() -> None:
    assert ps.interval(rec(3600, 0), NOW) == 360
    assert not ps.is_due(rec(3600, 60), NOW)
    assert ps.is_due(rec(3600, 360), NOW)
    assert ps.interval(rec(86_400, 0), NOW) == ps.MAX_INTERVAL_S
    assert ps.is_due(rec(86_400, ps.MAX_INTERVAL_S), NOW)  # a finished job is noticed within the bound
    assert not ps.is_due(rec(86_400, ps.MAX_INTERVAL_S - 30), NOW)


def test_events_that_make_a_job_due_at_once() -> None:
    assert ps.is_due(rec(86_400, 30, missing_polls=1), NOW)
    assert ps.is_due(rec(86_400, 30, cancelled_at=iso(NOW - 10)), NOW)
    assert not ps.is_due(rec(86_400, 30, cancelled_at=iso(NOW - 100)), NOW)
    done = rec(86_400, 30)
    done["batch"]["stats"] = {"request_count": 5, "successful_request_count": 4, "failed_request_count": 1}
    assert ps.is_due(done, NOW)
    done["batch"]["stats"]["successful_request_count"] = 3
    assert not ps.is_due(done, NOW)


def test_unknown_creation_time_is_polled_every_pass_and_local_time_is_a_fallback() -> None:
    r = rec(86_400, 30)
    del r["batch"]["create_time"]
    assert ps.is_due(r, NOW)
    r["created_at_local"] = iso(NOW - 86_400)
    assert not ps.is_due(r, NOW)


def test_next_due() -> None:
    r = rec(3600, 60)
    assert ps.next_due(r, NOW) == NOW - 60 + 360 - ps.SLACK_S
    assert ps.next_due(rec(60, 1), NOW) == NOW


def test_a_last_check_in_the_future_does_not_hold_a_job_back() -> None:
    assert ps.is_due(rec(86_400, -3600), NOW)  # the local clock was set back an hour since the last pass
