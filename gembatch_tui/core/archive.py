"""Provides archiving: a finished job gets `archived_at` and is hidden from the dashboard and `list` (until shown
with `H` / `list --all`); unarchiving removes the mark.

Why it is only a local mark: a user tidying the history must not lose anything, so nothing remote is touched, the
results stay where they are, the poller never asks about these jobs anyway (they are final) and clean-up still
sees them. Only final jobs can be archived: a job still running would vanish while it changes.
Every change is one locked `store.update_many`, so two archivers (the app and the CLI) cannot lose a write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    LOCAL_SUBMIT_FAILED,
    Record,
    batch_name,
    display_name,
    is_archived,
    is_final,
    now_iso,
    parse_time,
    record_key,
    record_state,
    short_state,
)
from gembatch_tui.core.store import JobStore

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.IGNORECASE)


class AgeError(ValueError):
    """An AGE that is not a number and a unit (`30d`, `12h`, `2w`, `90m`)."""


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `2w`, `90m` as a timedelta; AgeError for anything else (no unit, zero, negative)."""
    match = _AGE.match(text or "")
    if not match:
        raise AgeError(f"not an age: {text!r} (try 30d, 12h, 2w or 90m)")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if value <= 0:
        raise AgeError(f"not an age: {text!r} (it must be more than zero)")
    return timedelta(seconds=value)


def finished_at(record: Record) -> datetime | None:
    """When the job ended, as well as the record knows: end time, else last update, else creation or submission."""
    batch = record.get("batch")
    batch = batch if isinstance(batch, dict) else {}
    for value in (batch.get("end_time"), batch.get("update_time"), batch.get("create_time"),
                  record.get("submitted_at")):
        when = parse_time(value)
        if when is not None:
            return when
    return None


def label(record: Record) -> str:
    """How a line names a job: its batch name, else its display name."""
    return batch_name(record) or display_name(record)


def refusal(record: Record, undo: bool = False) -> str | None:
    """Why this record cannot be archived (or unarchived), in one line; None when it can."""
    if undo:
        return None if is_archived(record) else "not archived"
    if is_archived(record):
        return None  # archiving again is a no-op, not an error
    state = record_state(record)
    if not is_final(state) and not (state == LOCAL_SUBMIT_FAILED and not batch_name(record)):  # that never ran
        word = short_state(state).lower()
        return f"{word}: only finished jobs can be archived"
    return None


@dataclass(frozen=True)
class Outcome:
    """What happened to one record: done, or refused with `reason`."""

    record: Record
    ok: bool
    reason: str = ""
    already: bool = False

    def line(self, undo: bool = False) -> str:
        if not self.ok:
            return f"{label(self.record)}: {self.reason}"
        if self.already:
            return f"{label(self.record)}: {'not archived' if undo else 'already archived'}"
        return f"{label(self.record)}: {'unarchived' if undo else 'archived'}"


def apply(store: JobStore, records: Iterable[Record], *, undo: bool = False) -> list[Outcome]:
    """Archive (or unarchive) `records`, each once, in one locked pass; a record that cannot be is refused with its
    reason. The state is checked again under the lock (the record may have changed since it was read)."""
    outcomes: list[Outcome | str] = []  # in the order given; a key stands for a record still to be written
    keys: list[str] = []
    seen: set[str] = set()
    for record in records:
        key = record_key(record)
        if key in seen:
            continue
        seen.add(key)
        reason = refusal(record, undo)
        if undo and not is_archived(record):  # a no-op, as archiving again is
            outcomes.append(Outcome(record, True, already=True))
        elif reason:
            outcomes.append(Outcome(record, False, reason))
        elif not undo and is_archived(record):
            outcomes.append(Outcome(record, True, already=True))
        else:
            keys.append(key)
            outcomes.append(key)
    stamp = now_iso()
    late: dict[str, str] = {}

    def change(key: str):  # noqa: ANN202 - a store change function
        def fn(rec: Record) -> Record:
            reason = refusal(rec, undo)
            if reason:
                late[key] = reason
            elif undo:
                rec.pop("archived_at", None)
            elif not is_archived(rec):
                rec["archived_at"] = stamp
            return rec

        return fn

    updated = store.update_many({key: change(key) for key in keys}) if keys else {}

    def done(key: str) -> Outcome:
        rec = updated.get(key)
        if rec is None:
            return Outcome({"id": key}, False, "no longer in the store")
        return Outcome(rec, False, late[key]) if key in late else Outcome(rec, True)

    return [done(o) if isinstance(o, str) else o for o in outcomes]


def older_than(records: Iterable[Record], age: timedelta, now: datetime) -> list[Record]:
    """The finished, not yet archived records that ended more than `age` before `now` (a record with no time at
    all is left alone: its age is unknown)."""
    chosen = []
    for record in records:
        if is_archived(record) or not is_final(record_state(record)):
            continue
        when = finished_at(record)
        if when is not None and now - when > age:
            chosen.append(record)
    return chosen


def resolve(store: JobStore, ref: str) -> list[Record]:
    """A JOB argument, as every command reads it (job_refs.resolve_many): one record, or every part of a group.
    Raises ServiceError (one line) when it names nothing or is ambiguous. No client is needed: only the store."""
    from gembatch_tui.core.submit.job_refs import resolve_many
    from gembatch_tui.core.submit.service import BatchService

    return list(resolve_many(BatchService(store, None), ref).records)  # type: ignore[arg-type]


__all__ = ["AgeError", "Outcome", "ServiceError", "apply", "finished_at", "label", "older_than", "parse_age",
           "refusal", "resolve"]
