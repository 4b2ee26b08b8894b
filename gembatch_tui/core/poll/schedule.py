"""Provides the per-job poll schedule: which unfinished jobs a routine poll pass asks the service about.

Why: a pass used to ask about every unfinished job. With 10,000 of them that is 100 `batches.list` pages, one after
another (8.5 s at 30 ms latency), every 30 s, although a job created hours ago rarely changes between two passes.
So a routine pass checks a job only when it is due:

- a job younger than YOUNG_S, never polled, just cancelled, or answered 404 once, is due on every pass;
- a running job whose stats say every request is done is due on every pass (it is about to finish);
- any other job is due INTERVAL_FRACTION of its age after its last check, and at least every MAX_INTERVAL_S:
  so a job that finished is noticed within MAX_INTERVAL_S plus one pass, and within a tenth of its age.

The schedule is derived from what every record already holds (`polled_at`, written by each pass that reads the job,
and the server's `create_time`), so it survives restarts and needs no state of its own. An explicit request
(`r` in the app, `poll JOB...`) polls regardless (`poller.poll_once(force=True)` / `only=`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from gembatch_tui.core.models import RUNNING, Record, parse_time, record_state, record_stats

YOUNG_S = 600.0
INTERVAL_FRACTION = 0.1
MAX_INTERVAL_S = 600.0
SLACK_S = 2.0  # a pass that starts a moment early still counts


def _seconds(value: Any) -> float | None:
    when = parse_time(value)
    return when.timestamp() if when is not None else None


def interval(record: Record, now: float) -> float:
    """Seconds that may pass between two checks of this job (0: every pass)."""
    if record.get("missing_polls"):
        return 0.0  # a 404 is confirmed (or cleared) on the very next pass
    batch = record.get("batch") if isinstance(record.get("batch"), dict) else {}
    created = _seconds(batch.get("create_time")) or _seconds(record.get("created_at_local"))
    if created is None:
        return 0.0
    age = now - created
    if age < YOUNG_S:
        return 0.0
    if record_state(record) == RUNNING:
        stats = record_stats(record)
        total = stats["request_count"]
        if total and stats["successful_request_count"] + stats["failed_request_count"] >= total:
            return 0.0
    return min(MAX_INTERVAL_S, age * INTERVAL_FRACTION)


def is_due(record: Record, now: float | None = None) -> bool:
    """Whether a routine pass at `now` (epoch seconds) should ask the service about this unfinished job."""
    now = datetime.now(timezone.utc).timestamp() if now is None else now
    polled = _seconds(record.get("polled_at"))
    if polled is None or polled > now + SLACK_S:  # a clock set back must not hold a job back for hours
        return True
    cancelled = _seconds(record.get("cancelled_at"))
    if cancelled is not None and cancelled >= polled:
        return True
    return now - polled + SLACK_S >= interval(record, now)


def next_due(record: Record, now: float) -> float:
    """Epoch seconds at which this job is next due (now, when it is due already)."""
    polled = _seconds(record.get("polled_at"))
    if polled is None or is_due(record, now):
        return now
    return polled + interval(record, now) - SLACK_S


__all__ = ["INTERVAL_FRACTION", "MAX_INTERVAL_S", "YOUNG_S", "interval", "is_due", "next_due"]
