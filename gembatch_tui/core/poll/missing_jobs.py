"""Provides what a poll does with a job the server answers 404 for: after MISSING_AFTER passes in a row, the
record is marked missing (`remote_missing_at`; record_state reads LOCAL_MISSING, a final state).

Why: a job deleted outside gembatch-tui (another tool, the console) would otherwise be polled, and reported
as an error, forever, and `poll` would never see every job final. A 404 only counts when the service answered
for the account in the same pass (another job's poll, or one cheap list call), so a wrong base URL or API
version, which makes every call 404, never marks anything missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import Record

MISSING_AFTER = 2


def service_answers(client: Any) -> bool:
    """One list call of one item: True when the endpoint and the key work."""
    try:
        next(iter(client.iter_batches(1)), None)
    except ServiceError:
        return False
    return True


def becomes_missing(record: Record) -> bool:
    """Whether one more 404 marks `record` missing."""
    return int(record.get("missing_polls") or 0) + 1 >= MISSING_AFTER


def count_404(at: str) -> Callable[[Record], None]:
    """The store change for one more 404 on this job (marks it missing on the MISSING_AFTER-th)."""

    def apply(record: Record) -> None:
        count = int(record.get("missing_polls") or 0) + 1
        record["missing_polls"] = count
        if count >= MISSING_AFTER:
            record["remote_missing_at"] = at
            record["error"] = (
                f"the job is no longer on the server (not found on {count} polls in a row): deleted outside "
                "gembatch-tui; its results, if any, can no longer be downloaded"
            )

    return apply


__all__ = ["MISSING_AFTER", "becomes_missing", "count_404", "service_answers"]
