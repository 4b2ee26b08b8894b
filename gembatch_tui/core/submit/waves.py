"""Provides wave scheduling: queued records are submitted while the model's enqueued-token budget allows.

The rule: a queued record of model M is submitted when the estimated tokens of M's enqueued jobs (every job
not final yet, plus records being submitted) plus its own estimate stay within M's budget (core.limits). Records
go first in, first out per model: one that does not fit holds back those queued after it, and so does one
waiting out a 429 backoff (`retry_after`), because the service just said the model is full. When nothing of M
is enqueued, the first queued record goes even if its own estimate exceeds the budget (splitting keeps parts
within it, so only a single huge request can); otherwise it could never go. Models without a budget are
limited only by 429s.

The poller calls `dispatch_queued` once per pass after refreshing states, so as earlier jobs finish, the next
ones are submitted; `submit` calls it for a new group's first wave.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from gembatch_tui.core.models import (
    LOCAL_SUBMITTING,
    Record,
    batch_name,
    is_final,
    now_iso,
    parse_time,
    record_key,
    record_state,
    remote_gone,
)
from gembatch_tui.core.submit.outcome import SubmitOutcome, Submitter
from gembatch_tui.core.api.pricing import normalise_model

Progress = Callable[[int, int], None]
UPLOAD_REUSE_S = 47 * 3600  # an uploaded input older than this is uploaded again (files expire after 48 h)


def claim(service: Submitter, key: str) -> Record | None:
    """Take a queued record for submission (queued -> submitting under the store lock); None if not queued."""

    taken: list[Record] = []

    def apply(rec: Record) -> None:
        if rec.get("local_state") != "queued":
            return
        rec.update(local_state="submitting", submit_host=socket.gethostname(), submit_pid=os.getpid())
        rec["claimed_at"] = now_iso()
        _forget_deleted_upload(rec)
        taken.append(rec)

    service.store.update_many({key: apply})
    return dict(taken[0]) if taken else None


def _forget_deleted_upload(rec: Record) -> None:
    """An earlier upload deleted while the record waited (a delete of its input): it is uploaded afresh, and the
    deletion marks, which describe the old upload, go with it."""
    gone = remote_gone(rec)
    if not (rec.get("uploaded_file_deleted") or gone.get("input")):
        return
    for stale in ("uploaded_file_name", "uploaded_at", "uploaded_file_deleted"):
        rec.pop(stale, None)
    rest = {k: v for k, v in gone.items() if k != "input"}
    if rest:
        rec["remote_deleted"] = rest
    else:
        rec.pop("remote_deleted", None)
        rec.pop("remote_deleted_at", None)


def requeue(service: Submitter, key: str, reason: str, *, backoff: bool, forget_upload: bool = False) -> str:
    """Back to the local queue; with `backoff`, not before an exponentially growing delay (`retry_after`,
    `queue_attempts`). Returns the reason."""
    limits = service.limits

    def apply(rec: Record) -> None:
        rec["local_state"] = "queued"
        rec.pop("submit_pid", None)
        if forget_upload:
            rec.pop("uploaded_file_name", None)
            rec.pop("uploaded_at", None)
        if backoff:
            attempts = int(rec.get("queue_attempts") or 0) + 1
            rec["queue_attempts"] = attempts
            retry = service.clock() + limits.backoff(attempts)
            rec["retry_after"] = datetime.fromtimestamp(retry, timezone.utc).isoformat()
        rec["queued_reason"] = reason

    service.store.update(key, apply)
    return reason


def fresh_upload(service: Submitter, record: Record) -> bool:
    """An input uploaded earlier (before a 429) that create can still use (not deleted since)."""
    if record.get("uploaded_file_deleted") or remote_gone(record).get("input"):
        return False
    uploaded_at = parse_time(record.get("uploaded_at"))
    return bool(record.get("uploaded_file_name")) and uploaded_at is not None and (
        service.clock() - uploaded_at.timestamp() < UPLOAD_REUSE_S
    )


def record_model(record: Record) -> str:
    batch = record.get("batch") if isinstance(record.get("batch"), dict) else {}
    return normalise_model(str(record.get("model") or batch.get("model") or ""))


def is_enqueued(record: Record) -> bool:
    """Counts against the budget: a remote job not final yet, or a submission under way."""
    state = record_state(record)
    if state == LOCAL_SUBMITTING:
        return True
    # Only a deleted job stops counting; deleting its uploaded input does not free enqueued tokens.
    return bool(batch_name(record)) and not is_final(state) and not remote_gone(record).get("batch")


def enqueued_tokens(records: Iterable[Record]) -> dict[str, int]:
    """Estimated tokens enqueued per model (bare model id)."""
    used: dict[str, int] = defaultdict(int)
    for rec in records:
        if is_enqueued(rec):
            used[record_model(rec)] += int(rec.get("est_input_tokens") or 0)
    return dict(used)


def is_queued(record: Record) -> bool:
    return record.get("local_state") == "queued"


def retry_at(record: Record) -> float:
    when = parse_time(record.get("retry_after"))
    return when.timestamp() if when is not None else 0.0


def _wait_reason(model: str, used: int, budget: int, est: int) -> str:
    return (f"waiting for the enqueued-token budget of {model}: ~{used:,} of {budget:,} tokens enqueued, "
            f"this job needs ~{est:,}")


def budget_wait(records: list[Record], model: str, est: int, budget: int | None) -> str | None:
    """Why a new submission of `est` tokens must wait (queued records of the model go first), or None."""
    name = normalise_model(model)
    if any(is_queued(r) and record_model(r) == name for r in records):
        return f"waiting behind earlier queued jobs of {name}"
    if budget is None:
        return None
    used = enqueued_tokens(records).get(name, 0)
    if used == 0 or used + est <= budget:
        return None
    return _wait_reason(name, used, budget, est)


def _order(record: Record) -> tuple[str, int]:
    return (str(record.get("group_submitted_at") or record.get("submitted_at") or ""), int(record.get("group_part") or 0))


def dispatch_queued(
    service: Submitter,
    *,
    only: set[str] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[tuple[Record, SubmitOutcome]]:
    """Submit the queued records that fit now (only those in `only`, when given); returns what was tried.

    Records that stay queued get a `queued_reason` saying what they wait for. Upload progress of the parts sent
    in one call adds up, so a bar over several parts keeps moving forward.
    """
    records = service.store.read_all()
    queued = sorted((r for r in records if is_queued(r)), key=_order)
    if not queued:  # the usual pass: the budget's sum over every job (0.1 s for 10,000) is not needed
        return []
    limits = service.limits
    now = service.clock()
    used = defaultdict(int, enqueued_tokens(records))
    blocked: set[str] = set()
    reasons: dict[str, str] = {}
    tried: list[tuple[Record, SubmitOutcome]] = []
    sent = [0]
    for rec in queued:
        model = record_model(rec)
        key = record_key(rec)
        if retry_at(rec) > now:  # waiting out a 429: keeps its reason, and holds back the model
            blocked.add(model)
            continue
        if model in blocked:
            reasons[key] = f"waiting behind earlier queued jobs of {model}"
            continue
        if only is not None and key not in only:
            blocked.add(model)  # first in, first out: the poller sends the earlier one first
            continue
        if cancel is not None and cancel.is_set():
            break
        est = int(rec.get("est_input_tokens") or 0)
        budget = limits.budget_for(model)
        if budget is not None and used[model] > 0 and used[model] + est > budget:
            blocked.add(model)
            reasons[key] = _wait_reason(model, used[model], budget, est)
            continue
        base = sent[0]

        def part_progress(done: int, total: int, base: int = base) -> None:
            sent[0] = base + done
            if progress is not None:
                progress(base + done, base + total)

        outcome = service.dispatch(key, progress=part_progress, cancel=cancel)
        tried.append((rec, outcome))
        if outcome.status == "submitted":
            used[model] += est
        elif outcome.status == "queued":  # 429: the model is full for now
            blocked.add(model)
    current = {record_key(r): r.get("queued_reason") for r in queued}
    changed = {k: why for k, why in reasons.items() if why != current.get(k)}
    if changed:

        def note(why: str) -> Callable[[Record], None]:
            def apply(rec: Record) -> None:
                if is_queued(rec):
                    rec["queued_reason"] = why

            return apply

        service.store.update_many({k: note(why) for k, why in changed.items()})
    return tried
