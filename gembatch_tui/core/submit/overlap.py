"""Provides submitting a big input while it is validated: the upload and the check run at the same time.

Why: validating a 1 GB file costs ~5 s of one core (~230 MB/s, bench_submit.py) and its upload ~20 s; one after
the other they cost both (issue 18). Here the record is written first, marked `validation_pending`, with its upload
token; the raw file is uploaded in a thread (tagged with that token, so a lost answer is found by listing as always)
while a second process validates it (validate_process.py: in a thread it would starve the upload of the GIL). Then:

- the first problem, or the first line that needs normalising (the raw bytes are then not what must be uploaded),
  stops the upload at once, and an upload that finished anyway is deleted. Nothing is created from a file with
  errors: the record is marked failed with the first problem and the outcome carries every message as before;
- a valid file that needs more than one plain upload (normalising, media, a split, a budget wait) or that a live
  record already submits (same path or same sha256, decided under the store lock) drops the upload and its record
  and takes the ordinary way, `BatchService.submit` with the report in hand;
- otherwise one store update gives the record the report's figures and the upload's name and clears
  `validation_pending`, and the job is created exactly as before (`create.create_once`).

A record still `validation_pending` after a crash never has its upload used: `_resume` validates and uploads again.
Only files of at least MIN_BYTES take this way (below, validation takes well under a second), and only files that
need no split by size.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any, Protocol

from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.api.gemini import Progress
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.core.models import Record, now_iso, record_key
from gembatch_tui.core.store import new_record_id
from gembatch_tui.core.submit import create, split, waves
from gembatch_tui.core.submit import validate as validation
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.outcome import SubmitOutcome
from gembatch_tui.core.submit.validate_process import ProcessValidation


class BatchService(create.Creator, Protocol):
    """What this module needs of core.submit.service.BatchService (a protocol: that module imports this one)."""

    def duplicate_of(self, path: Path, sha256: str | None, among: list[Record] | None = None) -> Record | None: ...

    def submit(self, path: Path, *, model: str, display_name: str | None = ..., force: bool = ...,
               report: validation.ValidationReport | None = ..., progress: Progress | None = ...,
               cancel: threading.Event | None = ..., extra: dict[str, Any] | None = ...,
               limits: JobLimits | None = ...) -> SubmitOutcome: ...

    def _drop_or_requeue(self, record: Record, *, forget_upload: bool) -> None: ...


MIN_BYTES = 64 << 20
"""Inputs from this size on are uploaded while they are validated."""

PENDING = "validation_pending"
"""Record field: the upload under way (or left by a crash) is of a file not yet known to be valid."""


class _Either(threading.Event):
    """Set when this event or the caller's cancel event is: what the upload's reader checks before each chunk."""

    def __init__(self, other: threading.Event | None) -> None:
        super().__init__()
        self._other = other

    def is_set(self) -> bool:
        return super().is_set() or (self._other is not None and self._other.is_set())


def applies(path: Path, limits: JobLimits, min_bytes: int) -> bool:
    """Whether `path` is big enough to be uploaded while validated, and small enough for one job by size."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if size < min_bytes or size > validation.MAX_FILE_BYTES:
        return False
    return not (limits.max_bytes_per_job and size > limits.max_bytes_per_job)


def submit_while_validating(
    service: BatchService,
    src: Path,
    *,
    model: str,
    display_name: str | None = None,
    force: bool = False,
    kind: str | None = None,
    extra: dict[str, Any] | None = None,
    limits: JobLimits | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[SubmitOutcome, validation.ValidationReport | None]:
    """Validate `src` while uploading it; returns the outcome and the report (None when cancelled before it)."""
    limits = limits or service.limits
    refused = service.refuse_unknown_model(src, model)  # the CLI comes here directly with a big file
    if refused is not None:
        return refused, None
    allow_outside = bool((extra or {}).get("allow_media_outside"))
    if service.duplicate_of(src, None) is not None:  # same path: resume or skip, decided the ordinary way
        report = validation.validate_file(src, cancel=cancel, max_bytes=None, kind=kind,
                                          allow_media_outside=allow_outside)
        return _ordinary(service, src, report, model, display_name, force, extra, limits, progress, cancel)
    full_model = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
    token = upload_tokens.new_token(service.store.path)
    record: Record = {
        "id": new_record_id(),
        "input_file": str(src),
        "input_bytes": src.stat().st_size,
        "model": full_model,
        "display_name": display_name or src.name,
        "submitted_at": now_iso(),
        **(extra or {}),
        # Written before a byte is sent, like every submission: a lost answer is found again by this token.
        "upload_token": token,
        PENDING: True,
        "local_state": "submitting",
        "submit_host": socket.gethostname(),
        "submit_pid": os.getpid(),
    }
    record = service.store.add(record)
    key = record_key(record)
    stop = _Either(cancel)
    upload = _UploadThread(service, src, record["display_name"], token, progress, stop)
    upload.start()  # first: starting the check's process waits for the fork server (tenths of a second)
    try:
        checking = ProcessValidation(src, kind=kind, allow_media_outside=allow_outside,
                                     watch=lambda _what: stop.set())
        report = checking.report(cancel)
    except validation.ValidationCancelled:
        _discard(service, key, upload, stop)
        return SubmitOutcome(src, "cancelled"), None
    except BaseException:
        _discard(service, key, upload, stop)
        raise
    if not report.ok:
        return _refuse(service, key, src, report, upload, stop), report
    if report.needs_normalising or report.media_refs or split.split_reason(report, limits, limits.budget_for(full_model)):
        _discard(service, key, upload, stop)
        return _ordinary(service, src, report, model, display_name, force, extra, limits, progress, cancel)
    if not _claim(service, key, src, report, full_model, limits, force):
        _discard(service, key, upload, stop)
        return _ordinary(service, src, report, model, display_name, force, extra, limits, progress, cancel)
    return _finish(service, record, key, src, report, upload, cancel), report


class _UploadThread(threading.Thread):
    """The raw file's upload through GeminiClient.upload (its token, retries and lost-answer look-up included)."""

    def __init__(self, service: BatchService, src: Path, display_name: str, token: str, progress: Progress | None,
                 stop: threading.Event) -> None:
        super().__init__(name="gembatch-upload", daemon=True)
        self._args = (service, src, display_name, token, progress, stop)
        self.file_name: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        service, src, display_name, token, progress, stop = self._args
        try:
            self.file_name = service.client.upload(src, display_name=display_name, token=token, progress=progress,
                                                   cancel=stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the submitting thread
            self.error = exc

    def stopped(self, stop: threading.Event) -> str | None:
        """Stop the upload (at its next chunk) and wait for it; the name of a file it finished anyway."""
        stop.set()
        self.join()
        return self.file_name


def _delete(service: BatchService, file_name: str | None) -> bool:
    """Delete a speculative upload; True when it is gone (or there was none)."""
    if file_name is None:
        return True
    try:
        service.client.delete_file(file_name)
    except ServiceError:
        return False
    return True


def _discard(service: BatchService, key: str, upload: _UploadThread, stop: threading.Event) -> None:
    """Undo the speculative upload and its record (the submission goes the ordinary way, or was cancelled)."""
    name = upload.stopped(stop)
    if _delete(service, name):
        service.store.remove(key)
    else:  # the file is still there: the record keeps its name, so clean-up finds it
        create.mark_failed(service.store, key, f"could not delete the upload {name} of a submission that went another way")
        service.store.update(key, lambda r: r.update(uploaded_file_name=name))


def _refuse(service: BatchService, key: str, src: Path, report: validation.ValidationReport, upload: _UploadThread,
            stop: threading.Event) -> SubmitOutcome:
    """A file with errors: stop or delete its upload, and say why in the record and the outcome (as before)."""
    problems = report.messages()
    first = problems[0] if problems else f"{src}: not a valid batch file"
    name = upload.stopped(stop)
    deleted = _delete(service, name)
    why = f"not submitted, the file has errors: {first}"
    create.mark_failed(service.store, key, why if deleted else f"{why}; its upload {name} could not be deleted",
                         uploaded_deleted=name is not None and deleted)
    if name is not None and not deleted:
        service.store.update(key, lambda r: r.update(uploaded_file_name=name))
    return SubmitOutcome(src, "error", message=first, problems=problems)


def _claim(service: BatchService, key: str, src: Path, report: validation.ValidationReport, model: str,
           limits: JobLimits, force: bool) -> bool:
    """Under the store lock: no other live record submits this file (path or content, unless `force`) and the
    model's budget does not make it wait; then the record takes the report's figures. False: go the ordinary way."""
    taken: list[bool] = []

    def apply(rec: Record) -> None:
        others = [r for r in service.store.read_all() if record_key(r) != key]  # the lock is re-entrant
        if not force and service.duplicate_of(src, report.sha256, among=others) is not None:
            return
        if waves.budget_wait(others, model, report.est_input_tokens, limits.budget_for(model)) is not None:
            return
        rec.update(count=report.request_count, input_sha256=report.sha256, input_bytes=report.size_bytes,
                   est_input_tokens=report.est_input_tokens, kind=report.kind)
        taken.append(True)

    service.store.update(key, apply)
    return bool(taken)


def _finish(service: BatchService, record: Record, key: str, src: Path, report: validation.ValidationReport,
            upload: _UploadThread, cancel: threading.Event | None) -> SubmitOutcome:
    """The file is valid and ours to submit: wait for its upload, record it, create the job."""
    upload.join()
    count = report.request_count
    error = upload.error
    if isinstance(error, Cancelled):
        service._drop_or_requeue(record, forget_upload=False)
        return SubmitOutcome(src, "cancelled", request_count=count)
    if isinstance(error, (ServiceError, OSError, ValueError)):
        message = str(error) if isinstance(error, (ServiceError, ValueError)) else f"{src}: {error.strerror or error}"
        create.mark_failed(service.store, key, message)
        return SubmitOutcome(src, "error", message=message, request_count=count)
    if error is not None:
        create.mark_failed(service.store, key, f"upload failed: {error}")
        raise error
    file_name = upload.file_name
    assert file_name is not None

    def apply(rec: Record) -> None:
        rec.update(uploaded_file_name=file_name, uploaded_at=now_iso())
        rec.pop(PENDING, None)

    service.store.update(key, apply)
    if cancel is not None and cancel.is_set():  # as after any upload: nothing is created once cancelled
        create.delete_quietly(service.client, file_name)
        service._drop_or_requeue(record, forget_upload=True)
        return SubmitOutcome(src, "cancelled", request_count=count)
    return create.create_once(service, key, src, file_name, record["model"], record["display_name"], report.kind, count)


def _ordinary(service: BatchService, src: Path, report: validation.ValidationReport, model: str,
              display_name: str | None, force: bool, extra: dict[str, Any] | None, limits: JobLimits,
              progress: Progress | None, cancel: threading.Event | None,
              ) -> tuple[SubmitOutcome, validation.ValidationReport]:
    outcome = service.submit(src, model=model, display_name=display_name, force=force, report=report,
                             progress=progress, cancel=cancel, extra=extra, limits=limits)
    return outcome, report


__all__ = ["MIN_BYTES", "PENDING", "applies", "submit_while_validating"]
