"""Provides "retry part": a part of a split input that ended FAILED, EXPIRED or CANCELLED (or whose submission
failed locally) is queued again, as the same part of the same group, from its part file.

Why the record is reset rather than replaced by a new one: every reader counts a group's parts by record
(`groups.by_group`, `merge.needs_merge` wants exactly `group_parts` records, the dashboard's group row, the
duplicate guard, `list --json`). A second record for part 2 would make the group look like 4 parts, or every
reader would have to learn to skip a "superseded" one. Resetting keeps one record per part under the same key
(the dashboard row and an open detail screen follow it), and the waves and the merge need no change.

History is kept: the attempt's fields (its `batch`, uploaded file, error, deletion marks ...) move into
`previous_attempts` on the record, oldest first, each with its `state` and `retried_at`. cleanup.py plans the
deletion of those old remote jobs and files like the current ones. The reset record is `queued`, so the poller
submits it under the enqueued-token budget like any other part (waves.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gembatch_tui.core.submit.cost_cap import CostCap, CostPolicy
from gembatch_tui.core.submit.cost_cap import check as check_cost
from gembatch_tui.core.submit.groups import by_group
from gembatch_tui.core.models import (
    CANCELLED,
    EXPIRED,
    FAILED,
    LOCAL_MISSING,
    LOCAL_SUBMIT_FAILED,
    SUCCEEDED,
    Record,
    batch_name,
    now_iso,
    record_key,
    record_state,
    short_prefix_problem,
    short_state,
)
from gembatch_tui.core.store import JobStore, RecordNotFound

RETRYABLE = frozenset({FAILED, EXPIRED, CANCELLED, LOCAL_SUBMIT_FAILED, LOCAL_MISSING})

# What belongs to one attempt (moved into `previous_attempts`), and bookkeeping of it that is simply dropped.
ATTEMPT_FIELDS = (
    "batch", "uploaded_file_name", "uploaded_at", "uploaded_file_deleted", "remote_deleted", "remote_deleted_at",
    "error", "cancelled_at", "created_at_local", "polled_at", "results_file", "results_verified", "results_check",
    "results_bytes", "results_sha256", "results_source",
    "results_error", "results_attempts", "downloaded_at", "usage", "media_uploaded", "media_reused",
    "remote_missing_at", "missing_polls",
)
DROPPED_FIELDS = (
    "local_state", "queued_reason", "retry_after", "queue_attempts", "submit_pid", "submit_host", "claimed_at",
    "group_results_error",
)
QUEUED_REASON = "retried: waiting for its turn"
MIN_GROUP_PREFIX = 8


class RetryError(Exception):
    """The part cannot be retried; the message is one line for the user."""


class NotAPart(RetryError):
    """The job named is not a part of a split input: retry never applies to it (bad input, not a failure)."""


@dataclass(frozen=True)
class RetryOutcome:
    """One part tried: `message` is why not, when `ok` is False."""

    key: str
    group_id: str
    part: int
    parts: int
    ok: bool
    message: str = ""

    def line(self) -> str:
        if self.ok:
            return f"retried part {self.part}/{self.parts} of group {self.group_id} (queued)"
        return f"error: {self.message}"


def part_label(record: Record) -> str:
    """`part 2/3 of group 1a2b3c4d5e6f`."""
    part, parts = record.get("group_part") or "?", record.get("group_parts") or "?"
    return f"part {part}/{parts} of group {record.get('group_id')}"


def why_not(record: Record | None) -> str | None:
    """Why `record` cannot be retried by its state (None: it can); the part file is checked by `retry_part`."""
    if record is None:
        return "the job is no longer in the store"
    if not record.get("group_id"):
        name = batch_name(record) or record.get("display_name") or record_key(record)
        return f"{name} is not a part of a split input; submit its file again with --force"
    state = record_state(record)
    if state == SUCCEEDED:
        return f"{part_label(record)} already succeeded; nothing to retry"
    if state not in RETRYABLE:
        return f"{part_label(record)} is {short_state(state)}; only a failed, expired or cancelled part can be retried"
    return None


def can_retry(record: Record | None) -> bool:
    """For key bindings: a part in a final state other than SUCCEEDED, or whose submission failed."""
    return why_not(record) is None


def check_part_file(record: Record) -> None:
    """Raise RetryError unless the part file is there, with the size it had when the input was split."""
    path = Path(str(record.get("input_file") or ""))
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise RetryError(f"{part_label(record)}: part file {path} is missing; submit the whole input again with "
                         "--force") from None
    except OSError as exc:
        raise RetryError(f"{part_label(record)}: cannot read part file {path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise RetryError(f"{part_label(record)}: {path} is not a file")
    expected = record.get("input_bytes")
    if isinstance(expected, int) and expected != size:
        raise RetryError(f"{part_label(record)}: part file {path} changed since the split ({size} bytes, "
                         f"expected {expected})")


def retry_part(store: JobStore, key: str) -> RetryOutcome:
    """Queue the part with record key `key` again; raises RetryError (one line) when it cannot be.

    The state is checked again under the store lock, so a poller that changed the record meanwhile wins."""
    record = store.get(key)
    problem = why_not(record)
    if problem is not None:
        raise RetryError(problem)
    assert record is not None
    check_part_file(record)
    refused: list[str] = []
    when = now_iso()

    def apply(rec: Record) -> None:
        problem = why_not(rec)
        if problem is not None:
            refused.append(problem)
            return
        attempt: Record = {"state": record_state(rec), "retried_at": when}
        for name in ATTEMPT_FIELDS:
            if name in rec:
                attempt[name] = rec.pop(name)
        for name in DROPPED_FIELDS:
            rec.pop(name, None)
        history = rec.get("previous_attempts")
        rec["previous_attempts"] = [*(history if isinstance(history, list) else []), attempt]
        rec.update(local_state="queued", queued_reason=QUEUED_REASON, retried_at=when)

    try:
        store.update(key, apply)
    except RecordNotFound:
        raise RetryError("the job is no longer in the store") from None
    if refused:
        raise RetryError(refused[0])
    return RetryOutcome(key, str(record["group_id"]), int(record.get("group_part") or 0),
                        int(record.get("group_parts") or 0), True)


def try_part(store: JobStore, record: Record) -> RetryOutcome:
    """`retry_part`, with a refusal as an outcome rather than an exception."""
    key = record_key(record)
    try:
        return retry_part(store, key)
    except RetryError as exc:
        return RetryOutcome(key, str(record.get("group_id") or ""), int(record.get("group_part") or 0),
                            int(record.get("group_parts") or 0), False, str(exc))


def retry_group(store: JobStore, group_id: str) -> list[RetryOutcome]:
    """Queue again every failed, expired or cancelled part of the group (parts that succeeded or are still
    under way are left alone); raises RetryError when the group has none or is not in the store."""
    parts = by_group(store.read_all()).get(group_id)
    if not parts:
        raise RetryError(f"group {group_id}: not in the store")
    todo = [p for p in parts if record_state(p) in RETRYABLE]
    if not todo:
        states = ", ".join(sorted({short_state(record_state(p)).lower() for p in parts}))
        raise RetryError(f"group {group_id} has no failed, expired or cancelled part to retry (parts: {states})")
    return [try_part(store, p) for p in todo]


def find_group(records: Iterable[Record], ref: str) -> str | None:
    """The group id `ref` names: the id itself, a unique prefix of 8 or more characters, or the original input
    file's path (when one group of that file has parts to retry, or only one group exists). None otherwise."""
    ref = ref.strip()
    groups = by_group(list(records))
    if ref in groups:
        return ref
    if len(ref) >= MIN_GROUP_PREFIX:
        found = [gid for gid in groups if gid.startswith(ref)]
        if len(found) == 1:
            return found[0]
    as_path = str(Path(ref).expanduser().absolute())
    by_file = [gid for gid, parts in groups.items() if parts[0].get("group_input_file") == as_path]
    if len(by_file) > 1:
        by_file = [gid for gid in by_file if any(record_state(p) in RETRYABLE for p in groups[gid])] or by_file
    if len(by_file) > 1:
        raise RetryError(f"{ref}: was split {len(by_file)} times (groups {', '.join(by_file)}); name the group")
    return by_file[0] if by_file else None


def find_part(records: Iterable[Record], ref: str) -> Record | None:
    """The record `ref` names: `batches/ID`, the bare id, a record id, a part file's path, or a batch name of
    an earlier attempt of a part (so the name an error message showed still works)."""
    ref = ref.strip()
    wanted = ref if ref.startswith("batches/") else f"batches/{ref}"
    as_path = str(Path(ref).expanduser().absolute())
    records = list(records)
    for rec in records:
        if batch_name(rec) == wanted or record_key(rec) == ref or rec.get("input_file") == as_path:
            return rec
    for rec in records:
        history = rec.get("previous_attempts")
        for attempt in history if isinstance(history, list) else []:
            batch = attempt.get("batch") if isinstance(attempt, dict) else None
            if isinstance(batch, dict) and batch.get("name") == wanted:
                return rec
    return None


def retry_ref(store: JobStore, ref: str) -> list[RetryOutcome]:
    """A JOB argument of `gembatch-tui retry`: a part (retried alone) or a group (its failed parts).

    Raises LookupError when `ref` names nothing in the store, NotAPart for a job that was not split, RetryError
    when a group has nothing to retry."""
    records = store.read_all()
    record = find_part(records, ref)
    if record is not None and not record.get("group_id"):
        raise NotAPart(why_not(record) or "not a part of a split input")
    if record is not None:
        return [try_part(store, record)]
    gid = find_group(records, ref)
    if gid is not None:
        return retry_group(store, gid)
    raise LookupError(short_prefix_problem(records, ref) or f"{ref}: no such job or group in {store.path}")


__all__ = [
    "RETRYABLE",
    "NotAPart",
    "RetryError",
    "RetryOutcome",
    "can_retry",
    "check_part_file",
    "find_group",
    "find_part",
    "part_label",
    "retry_group",
    "retry_part",
    "retry_ref",
    "retry_under_cap",
    "try_part",
    "why_not",
]


def retry_under_cap(store: JobStore, parts: list[Record], cap: CostCap, policy: CostPolicy) -> list[RetryOutcome]:
    """Each of `parts` queued again, in order, only when its file's estimate fits `cap` together with the parts
    queued before it in this run (a part queued again is spent again). One over the cap stays as it was, its
    outcome carrying the figures; a missing part file is refused in its own words, not as an estimate that failed;
    a part that cannot be retried at all is refused by try_part, uncosted. The one rule of `retry --max-cost` and
    of R in the app."""
    outcomes = []
    for part in parts:
        estimate = None
        if cap.active and why_not(part) is None:
            try:
                check_part_file(part)
            except RetryError as exc:
                outcomes.append(_refused(part, str(exc)))
                continue
            refusal, estimate = check_cost(str(part.get("input_file") or ""), str(part.get("model") or ""), cap,
                                           policy)
            if refusal is not None:
                outcomes.append(_refused(part, f"{part_label(part)}: {refusal}"))
                continue
        outcome = try_part(store, part)
        if outcome.ok and estimate is not None:
            cap.accept(estimate)  # the next part of this run counts it
        outcomes.append(outcome)
    return outcomes


def _refused(part: Record, message: str) -> RetryOutcome:
    return RetryOutcome(record_key(part), str(part.get("group_id") or ""), int(part.get("group_part") or 0),
                        int(part.get("group_parts") or 0), False, message)
