"""Provides the one `batches.create` of a submission and how a lost answer is resolved: by looking, never twice.

Why its own module: the service, the overlapped submit (overlap.py) and recovery after a crash all end here, and
this is where "a batch is submitted once" is kept. `batches.create` is not idempotent, so an answer that may have
been lost after the service acted (a 5xx, a reset, a malformed 200) is resolved by listing the batches for one
whose input is our upload; only a listing that proves there is none allows another create. A record whose upload
is known only by its token (the process died between the upload and the line that records it) gets its name back
from the file listing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from gembatch_tui.core.api.gemini import GeminiClient, snapshot_from_operation
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import BatchSnapshot, Record, now_iso, record_key
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit import waves
from gembatch_tui.core.submit.outcome import SubmitOutcome, Submitter


class Creator(Submitter, Protocol):
    """What creating needs of the service: a Submitter (waves.requeue after a 429) with the API client."""

    client: GeminiClient


def create_once(service: Creator, key: str, src: Path, file_name: str, model: str, display: str, kind: str,
                count: int) -> SubmitOutcome:
    """Create the job of record `key` from the uploaded `file_name` once, and record it (see the module doc)."""
    client, store = service.client, service.store
    policy = client.policy
    attempts = max(1, policy.attempts)
    for attempt in range(1, attempts + 1):
        try:
            snap = client.create_batch(model=model, file_name=file_name, display_name=display,
                                       embeddings=(kind == "embed"))
            break
        except ServiceError as exc:
            if exc.code == 429:  # quota or enqueued-token limit: wait and try again, keeping the upload
                reason = waves.requeue(service, key, str(exc), backoff=True)
                return SubmitOutcome(src, "queued", message=reason, request_count=count, queued=1)
            if not exc.unknown_outcome:  # the service said no: nothing was created
                delete_quietly(client, file_name)
                mark_failed(store, key, str(exc), uploaded_deleted=True)
                return SubmitOutcome(src, "error", message=str(exc), request_count=count)
            try:
                found = find_job_for_file(client, file_name)
            except ServiceError as look:
                message = (f"{exc}; whether the job was created is unknown ({look}); "
                           "`poll` looks for it again and adopts it, nothing is created twice")
                mark_unresolved(store, key, message)
                return SubmitOutcome(src, "error", message=message, request_count=count)
            if found is not None:
                adopt(store, key, found)
                return SubmitOutcome(src, "submitted", batch_name=found.name, request_count=count, state=found.state)
            if attempt == attempts:
                mark_failed(store, key, f"{exc} (no job was created)")
                return SubmitOutcome(src, "error", message=str(exc), request_count=count)
            policy.pause(attempt)

    def apply(rec: Record) -> None:
        for stale in ("local_state", "submit_pid", "queued_reason", "retry_after"):
            rec.pop(stale, None)
        rec["batch"] = snap.to_batch_dict(rec.get("batch"))
        rec["batch"].setdefault("display_name", display)
        rec["batch"].setdefault("model", model)
        rec["created_at_local"] = now_iso()

    store.update(key, apply)
    return SubmitOutcome(src, "submitted", batch_name=snap.name, request_count=count, state=snap.state)


def find_job_for_file(client: GeminiClient, file_name: str) -> BatchSnapshot | None:
    """The remote job whose input is `file_name`, if there is one (a full listing)."""
    for op in client.iter_batches():
        snap = snapshot_from_operation(op)
        if snap.input_file_name == file_name:
            return snap
    return None


def known_upload(client: GeminiClient, store: JobStore, record: Record) -> str | None:
    """The record's uploaded input: as recorded, or found by its upload token when the process died (or the
    answer was lost) between the upload and the line that records it; then recorded."""
    uploaded = record.get("uploaded_file_name")
    if isinstance(uploaded, str) and uploaded:
        return uploaded
    token = record.get("upload_token")
    if not isinstance(token, str) or not token:
        return None
    found = client.find_upload(token)
    if found is not None:
        store.update(record_key(record), lambda r: r.update(uploaded_file_name=found, uploaded_at=now_iso()))
    return found


def adopt(store: JobStore, key: str, snap: Any) -> None:
    """The record is the job found remotely: no longer submitting."""

    def apply(rec: Record) -> None:
        rec.pop("local_state", None)
        rec.pop("submit_pid", None)
        rec["batch"] = snap.to_batch_dict(rec.get("batch"))

    store.update(key, apply)


def mark_unresolved(store: JobStore, key: str, reason: str) -> None:
    """The create may have happened and the service could not be asked: the record stays `submitting`
    with no live owner, so the next poll (recover_interrupted) looks for the job and adopts it."""

    def apply(rec: Record) -> None:
        rec["error"] = reason
        rec.pop("submit_pid", None)

    store.update(key, apply)


def mark_failed(store: JobStore, key: str, reason: str, uploaded_deleted: bool = False) -> None:
    """The submission failed for `reason` (kept in the record); it no longer blocks submitting the file again."""

    def apply(rec: Record) -> None:
        rec["local_state"] = "submit_failed"
        rec["error"] = reason
        rec.pop("submit_pid", None)
        rec.pop("retry_after", None)
        if uploaded_deleted:
            rec["uploaded_file_deleted"] = True

    store.update(key, apply)


def delete_quietly(client: GeminiClient, file_name: str) -> None:
    """Delete an uploaded file we no longer need; a failure leaves it to clean-up (its token names our store)."""
    try:
        client.delete_file(file_name)
    except ServiceError:
        pass


__all__ = ["Creator", "adopt", "create_once", "delete_quietly", "find_job_for_file", "known_upload", "mark_failed",
           "mark_unresolved"]
