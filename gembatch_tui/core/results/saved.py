"""Provides `saved_word`: whether a job's verified results are still where and as they were verified.

Why it is its own module: the dashboard's Results column, the detail screen and `list` must say the same word
for the same file; a record that says "verified" is only half the answer once the file can be moved, cut or
edited. One `stat` a job, the size against the size verified (the hash is clean-up's to read).
"""

from __future__ import annotations

from gembatch_tui.core.fsutil import regular_file
from gembatch_tui.core.models import SUCCEEDED, Record, record_state

SAVED, MISSING, CHANGED, UNVERIFIED, ERROR, PENDING = "saved", "missing", "changed", "unverified", "error", "pending"


def on_disk_word(record: Record) -> str | None:
    """SAVED, MISSING or CHANGED for a record with verified results (one stat); None when it has none."""
    path = record.get("results_file")
    if not path or not record.get("results_verified"):
        return None
    problem, _why, size = regular_file(str(path))
    if problem is not None:
        return MISSING
    verified = record.get("results_bytes")
    if type(verified) is int and size != verified:
        return CHANGED
    return SAVED


def saved_word(record: Record) -> str | None:
    """What the job's results are: SAVED / MISSING / CHANGED (verified, and the file as it is now), UNVERIFIED
    (a file not checked yet), ERROR (the download or check failed), PENDING (succeeded, not downloaded yet), or
    None (nothing to have yet)."""
    word = on_disk_word(record)
    if word is not None:
        return word
    if record.get("results_error"):
        return ERROR
    if record.get("results_file"):  # a file, not verified (on_disk_word took the verified ones)
        return UNVERIFIED
    if record_state(record) == SUCCEEDED:
        return PENDING
    return None


__all__ = ["CHANGED", "ERROR", "MISSING", "PENDING", "SAVED", "UNVERIFIED", "on_disk_word", "saved_word"]
