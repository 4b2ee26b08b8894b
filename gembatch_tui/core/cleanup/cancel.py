"""Provides `cancel_job`: cancel one job, wherever it stands (on the server, in the local queue, a real-time run).

Why apart from the delete plan: a cancel deletes nothing that holds results and needs no plan or confirmation of
what goes; it must only never let a queued job be submitted after the user cancelled it, which is decided under
the store lock.
"""

from __future__ import annotations

from gembatch_tui.core.cleanup.plan import record_label
from gembatch_tui.core.cleanup.remote_delete import FILE_GONE, delete_remote
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    CANCELLED,
    Record,
    batch_name,
    is_final,
    is_realtime,
    now_iso,
    record_key,
    record_state,
    short_state,
)
from gembatch_tui.core.store import RecordNotFound
from gembatch_tui.core.submit.service import BatchService


class AlreadyFinished(ServiceError):
    """The job had ended before the cancel: nothing was cancelled, and nothing is wrong (the store says how it
    ended). A user who pressed c as it finished is told so, not shown an error."""


def cancel_job(service: BatchService, record: Record) -> str:
    """Cancel a pending or running job and record its new state; returns that state.

    A record still waiting in the local queue (no remote job yet) is cancelled locally: it becomes
    `local_state: "cancelled"`, which reads as CANCELLED (final), so the poller never submits it; an input it
    had already uploaded (kept after a 429) is deleted. One the poller took for submission meanwhile is
    cancelled remotely once it has its job."""
    name = batch_name(record)
    if not name:
        return _cancel_queued(service, record)
    if is_realtime(record):  # no batch job: its run is asked to stop through its record
        from gembatch_tui.core.realtime.control import request_cancel

        return request_cancel(service.store, record)
    state = record_state(record)
    if is_final(state):
        raise AlreadyFinished(f"{name} is already {short_state(state)}; nothing to cancel")
    try:
        service.client.cancel_batch(name)
    except ServiceError as exc:
        if exc.code != 400:
            raise
        # FAILED_PRECONDITION: the job ended since the store last heard of it. Record how, so that the store
        # stops saying it runs (and delete, which refuses an active job, can go on).
        snap = service.client.get_batch(name)
        if not is_final(snap.state):
            raise
        service.store.update(record_key(record), lambda rec: rec.update(batch=snap.to_batch_dict(rec.get("batch"))))
        raise AlreadyFinished(f"{name} is already {short_state(snap.state)} on the server; nothing to cancel (the "
                              "store now says so; `poll` downloads any results)", code=exc.code) from None
    snap = service.client.get_batch(name)

    def apply(rec: Record) -> None:
        rec["batch"] = snap.to_batch_dict(rec.get("batch"))
        rec["cancelled_at"] = now_iso()

    service.store.update(record_key(record), apply)
    return snap.state


def _cancel_queued(service: BatchService, record: Record) -> str:
    key = record_key(record)
    seen: list[Record] = []

    def apply(rec: Record) -> None:
        seen.append(dict(rec))
        if rec.get("local_state") != "queued" or batch_name(rec):
            return
        rec["local_state"] = "cancelled"
        rec["cancelled_at"] = now_iso()
        for stale in ("queued_reason", "retry_after", "submit_pid", "claimed_at"):
            rec.pop(stale, None)

    try:
        service.store.update(key, apply)
    except RecordNotFound:
        raise ServiceError(f"{record_label(record)}: no longer in the store") from None
    current = seen[0]
    if batch_name(current):  # submitted since the caller read it: cancel the remote job
        return cancel_job(service, current)
    local = current.get("local_state")
    if local == "submitting":
        raise ServiceError(f"{record_label(record)}: is being submitted right now; cancel it once it has a job name")
    if local != "queued":
        state = record_state(current)
        raise ServiceError(f"{record_label(record)}: has no remote job to cancel ({short_state(state)})")
    uploaded = current.get("uploaded_file_name")
    if uploaded and not current.get("uploaded_file_deleted"):
        try:
            delete_remote(service.client.delete_file, uploaded, FILE_GONE)
        except ServiceError:
            pass  # it expires on its own; the record still names it, so a delete can retry
        else:
            service.store.update_many({key: lambda rec: rec.update(uploaded_file_deleted=True)})
    return CANCELLED
