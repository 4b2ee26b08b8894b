"""Provides BatchService: the one code path the CLI and the TUI workers use for every job operation.

Submission is crash-safe: a local record is written before anything is created remotely, the
uploaded file name is recorded before `batches.create`, and an interrupted submission is found
again (by its uploaded file) instead of being created twice.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gembatch_tui import paths
from gembatch_tui.core import validate as validation
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.core.gemini import GeminiClient, Progress, snapshot_from_operation
from gembatch_tui.core.models import (
    CANCELLED,
    EXPIRED,
    FAILED,
    LOCAL_SUBMIT_FAILED,
    LOCAL_SUBMITTING,
    Record,
    batch_id,
    batch_name,
    record_state,
)
from gembatch_tui.core.store import JobStore, new_record_id, record_key

# States whose record does not block submitting the same file again.
RESUBMITTABLE = frozenset({FAILED, CANCELLED, EXPIRED, LOCAL_SUBMIT_FAILED})


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class SubmitOutcome:
    path: Path
    status: str  # "submitted", "skipped", "error", "cancelled"
    batch_name: str | None = None
    request_count: int = 0
    message: str = ""
    problems: list[str] | None = None

    def line(self) -> str:
        if self.status == "submitted":
            return f"submitted {self.batch_name} ({self.request_count} requests)"
        if self.status == "skipped":
            return f"skipped (already submitted as {self.batch_name})"
        if self.status == "cancelled":
            return "cancelled (nothing left on the server)"
        return f"error: {self.message}"


class BatchService:
    """Jobs in the store plus the remote service. Every method blocks: run it in a worker thread."""

    def __init__(
        self,
        store: JobStore,
        client: GeminiClient,
        *,
        results_dir: Path | None = None,
        demo: bool = False,
        max_parallel_polls: int = 32,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.client = client
        self.results_dir = results_dir
        self.demo = demo
        self.max_parallel_polls = max_parallel_polls
        self.clock = clock
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()

    # ----------------------------------------------------------------- lookup
    def resolve(self, ref: str) -> Record:
        """A JOB argument: `batches/ID`, the bare ID, a local record id, or an input file path."""
        records = self.store.read_all()
        ref = ref.strip()
        wanted = ref if ref.startswith("batches/") else f"batches/{ref}"
        for rec in records:
            if batch_name(rec) == wanted or record_key(rec) == ref:
                return rec
        as_path = str(Path(ref).expanduser().absolute())
        matches = [rec for rec in records if rec.get("input_file") == as_path]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(batch_name(m) or record_key(m) for m in matches)
            raise ServiceError(f"{ref}: matches {len(matches)} jobs ({names}); name the batch instead")
        raise ServiceError(f"{ref}: no such job in {self.store.path}")

    def results_target(self, record: Record) -> Path:
        input_file = record.get("input_file")
        if input_file:
            return paths.results_path_for(input_file, self.results_dir, self.demo)
        name = batch_name(record) or record_key(record)
        fallback = self.results_dir or paths.fallback_results_dir(self.demo)
        return Path(fallback) / f"{batch_id(name)}.jsonl"

    # ----------------------------------------------------------------- submit
    def duplicate_of(self, path: Path, sha256: str | None) -> Record | None:
        wanted = str(path)
        for rec in self.store.read_all():
            same = rec.get("input_file") == wanted or (sha256 and rec.get("input_sha256") == sha256)
            if same and record_state(rec) not in RESUBMITTABLE:
                return rec
        return None

    def submit(
        self,
        path: str | os.PathLike[str],
        *,
        model: str,
        display_name: str | None = None,
        force: bool = False,
        report: validation.ValidationReport | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        extra: dict[str, Any] | None = None,
    ) -> SubmitOutcome:
        """Validate (unless `report` is given), guard against duplicates, upload, create, record."""
        src = Path(path).expanduser().absolute()
        if report is None:
            report = validation.validate_file(src, cancel=cancel)
        if not report.ok:
            problems = report.messages()
            first = problems[0] if problems else f"{src}: not a valid batch file"
            return SubmitOutcome(src, "error", message=first, problems=problems)
        existing = self.duplicate_of(src, report.sha256)
        if existing is not None and record_state(existing) == LOCAL_SUBMITTING:
            return self._resume(existing, src, progress=progress, cancel=cancel)
        if existing is not None and not force:
            name = batch_name(existing) or "a job being submitted"
            return SubmitOutcome(src, "skipped", batch_name=name, request_count=report.request_count)
        model = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
        record: Record = {
            "id": new_record_id(),
            "input_file": str(src),
            "count": report.request_count,
            "input_sha256": report.sha256,
            "input_bytes": report.size_bytes,
            "est_input_tokens": report.est_input_tokens,
            "kind": report.kind,
            "model": model,
            "display_name": display_name or src.name,
            "local_state": "submitting",
            "submitted_at": now_iso(),
            "submit_host": socket.gethostname(),
            "submit_pid": os.getpid(),
        }
        if extra:
            record.update(extra)
        record = self.store.add(record)
        return self._upload_and_create(record, src, report, progress=progress, cancel=cancel)

    def _upload_and_create(
        self,
        record: Record,
        src: Path,
        report: validation.ValidationReport,
        *,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> SubmitOutcome:
        key = record_key(record)
        upload_path = src
        tmp_dir: tempfile.TemporaryDirectory[str] | None = None
        try:
            if report.needs_normalising:
                tmp_dir = tempfile.TemporaryDirectory(prefix="gembatch-upload-")
                upload_path = Path(tmp_dir.name) / src.name
                validation.write_normalised(src, upload_path, kind=report.kind)
            try:
                file_name = self.client.upload(
                    upload_path, display_name=record["display_name"], progress=progress, cancel=cancel
                )
            except Cancelled:
                self.store.remove(key)
                return SubmitOutcome(src, "cancelled", request_count=report.request_count)
            except ServiceError as exc:
                self._mark_failed(key, str(exc))
                return SubmitOutcome(src, "error", message=str(exc), request_count=report.request_count)
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()
        self.store.update(key, lambda r: r.update(uploaded_file_name=file_name))
        if cancel is not None and cancel.is_set():
            self._delete_quietly(file_name)
            self.store.remove(key)
            return SubmitOutcome(src, "cancelled", request_count=report.request_count)
        return self._create(key, src, file_name, record["model"], record["display_name"], report.kind, report.request_count)

    def _create(
        self, key: str, src: Path, file_name: str, model: str, display: str, kind: str, count: int
    ) -> SubmitOutcome:
        try:
            snap = self.client.create_batch(
                model=model, file_name=file_name, display_name=display, embeddings=(kind == "embed")
            )
        except ServiceError as exc:
            self._delete_quietly(file_name)
            self._mark_failed(key, str(exc), uploaded_deleted=True)
            return SubmitOutcome(src, "error", message=str(exc), request_count=count)

        def apply(rec: Record) -> None:
            rec.pop("local_state", None)
            rec.pop("submit_pid", None)
            rec["batch"] = snap.to_batch_dict(rec.get("batch"))
            rec["batch"].setdefault("display_name", display)
            rec["batch"].setdefault("model", model)
            rec["created_at_local"] = now_iso()

        self.store.update(key, apply)
        return SubmitOutcome(src, "submitted", batch_name=snap.name, request_count=count)

    def _resume(
        self, record: Record, src: Path, *, progress: Progress | None, cancel: threading.Event | None
    ) -> SubmitOutcome:
        """Finish a submission that a crash interrupted, without creating a second job."""
        key = record_key(record)
        count = int(record.get("count") or 0)
        uploaded = record.get("uploaded_file_name")
        if uploaded:
            found = self.find_remote_job_for_file(uploaded)
            if found is not None:
                self._adopt_snapshot(key, found)
                return SubmitOutcome(src, "submitted", batch_name=found.name, request_count=count)
            return self._create(
                key, src, uploaded, record.get("model") or "models/gemini-2.5-flash",
                record.get("display_name") or src.name, record.get("kind") or "generate", count,
            )
        report = validation.validate_file(src, cancel=cancel)
        if not report.ok:
            self._mark_failed(key, "input changed since the interrupted submission: " + "; ".join(report.messages()[:1]))
            return SubmitOutcome(src, "error", message=report.messages()[0] if report.messages() else "invalid")
        return self._upload_and_create(record, src, report, progress=progress, cancel=cancel)

    def find_remote_job_for_file(self, file_name: str) -> Any:
        for op in self.client.iter_batches():
            snap = snapshot_from_operation(op)
            if snap.input_file_name == file_name:
                return snap
        return None

    def _adopt_snapshot(self, key: str, snap: Any) -> None:
        def apply(rec: Record) -> None:
            rec.pop("local_state", None)
            rec.pop("submit_pid", None)
            rec["batch"] = snap.to_batch_dict(rec.get("batch"))

        self.store.update(key, apply)

    def recover_interrupted(self) -> list[str]:
        """Records left `submitting` by a process that is gone: adopt their remote job or mark them failed."""
        notes: list[str] = []
        host = socket.gethostname()
        for rec in self.store.read_all():
            if record_state(rec) != LOCAL_SUBMITTING:
                continue
            pid = rec.get("submit_pid")
            if rec.get("submit_host") == host and isinstance(pid, int) and _pid_alive(pid):
                continue  # still being submitted by a live process
            key = record_key(rec)
            uploaded = rec.get("uploaded_file_name")
            found = self.find_remote_job_for_file(uploaded) if uploaded else None
            if found is not None:
                self._adopt_snapshot(key, found)
                notes.append(f"{rec.get('input_file')}: recovered interrupted submission as {found.name}")
            else:
                reason = "submission was interrupted before the job was created; submit the file again"
                self._mark_failed(key, reason)
                notes.append(f"{rec.get('input_file')}: {reason}")
        return notes

    def _mark_failed(self, key: str, reason: str, uploaded_deleted: bool = False) -> None:
        def apply(rec: Record) -> None:
            rec["local_state"] = "submit_failed"
            rec["error"] = reason
            rec.pop("submit_pid", None)
            if uploaded_deleted:
                rec["uploaded_file_deleted"] = True

        self.store.update(key, apply)

    def _delete_quietly(self, file_name: str) -> None:
        try:
            self.client.delete_file(file_name)
        except ServiceError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["BatchService", "SubmitOutcome", "LOCAL_SUBMIT_FAILED", "LOCAL_SUBMITTING"]
