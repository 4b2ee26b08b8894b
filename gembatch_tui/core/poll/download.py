"""Provides the download of a succeeded job's results: stream to a hidden partial file, verify every line in the
same read, then claim the final name; on any failure nothing that looks complete is left.

Carved out of the poller so that the merge of split inputs (which reports like a download) and the lock sweep can
use it without importing the poll pass that uses them: the arrows point poller -> merge -> download.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from gembatch_tui.core.poll import download_lock, inline_results
from gembatch_tui.core.poll.embeddings import describe as describe_embeddings
from gembatch_tui.core.poll.embeddings import summarise_embeddings
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.core import paths
from gembatch_tui.core.fsutil import place_beside
from gembatch_tui.core.models import (
    Record,
    batch_name,
    dest_file_name,
    needs_download,
    record_key,
    record_stats,
)
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.results.fingerprint import mark_verified

DownloadProgress = Callable[[str, int, int], None]


@dataclass
class DownloadOutcome:
    key: str
    name: str
    ok: bool
    path: Path | None = None
    message: str = ""
    busy: bool = False  # another process was downloading it: not a failure, the next pass sees its result


def download_results(
    service: BatchService,
    record: Record,
    *,
    progress: DownloadProgress | None = None,
    cancel: threading.Event | None = None,
) -> DownloadOutcome:
    """Stream, verify, then rename into place; on any failure leave nothing that looks complete.

    One process downloads a job at a time (the app and a `poll` in a terminal would otherwise both fetch it
    and leave two copies): a lock per job beside the store, not waited for; the loser says so and moves on."""
    key = record_key(record)
    name = batch_name(record) or key
    folder = download_lock.lock_dir(service.store.path)  # the same name the sweep knows (download_lock.py)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        lock = FileLock(str(folder / download_lock.job_lock_name(name)), timeout=0, mode=0o600)
        lock.acquire()
    except Timeout:
        return DownloadOutcome(key, name, False, message=f"{name}: results being downloaded by another process",
                               busy=True)
    except OSError:
        lock = None  # no lock possible here (read-only store dir): download as before
    try:
        fresh = service.store.get(key) or record  # it may have been downloaded while we waited for nothing
        if inline_results.needs_results(fresh):  # no output file: the answers are in the job (inline requests)
            saved = inline_results.save_results(service, fresh, cancel=cancel)
            return DownloadOutcome(key, name, saved.ok, path=saved.path, message=saved.message, busy=saved.busy)
        if not needs_download(fresh):
            return DownloadOutcome(key, name, True, path=Path(fresh["results_file"]) if fresh.get("results_file")
                                   else None, message=f"{name}: results already downloaded by another process", busy=True)
        return _download(service, fresh, progress=progress, cancel=cancel)
    finally:
        if lock is not None:
            lock.release()


def _download(
    service: BatchService,
    record: Record,
    *,
    progress: DownloadProgress | None,
    cancel: threading.Event | None,
) -> DownloadOutcome:
    from gembatch_tui.core.results.verify_process import verifier_for

    download_lock.sweep_for_download(service, record)  # what a killed download of this job left behind
    key = record_key(record)
    name = batch_name(record) or key
    dest_name = dest_file_name(record)
    target, alternative, ours = service.results_targets(record)
    try:
        paths.ensure_results_dir(target.parent)
    except OSError as exc:
        return _download_failed(service, key, name, f"{target.parent}: cannot create results directory: {exc.strerror}")
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    stats = record_stats(record)
    expected = stats["request_count"] or None
    input_file = record.get("input_file")
    input_path = Path(input_file) if input_file and Path(input_file).is_file() else None
    embed = record.get("kind") == "embed"
    try:
        # Fingerprinted as the bytes arrive; verified and counted in one pass, by a second process that follows
        # the file as it is written (results/verify_process.py), or here for small files (results/stream.py).
        # Which of the two is picked by the size the download's response gives before its first byte.
        with _CheckOnSize(lambda size: verifier_for(partial, input_path, expected_count=expected, usage=not embed,
                                                    size=size)) as on_size:
            service.client.download(
                dest_name,
                partial,
                progress=on_size.progress((lambda done, total: progress(name, done, total)) if progress else None),
                cancel=cancel,
                sink=on_size.feed,
                sync=False,
            )
            verifier = on_size.verifier()
            verifier.written()  # a second process makes its last checks while the file is synced to disk
            fsync_file(partial)
            streamed = verifier.finish(partial)
        check, usage, fingerprint = streamed.check, streamed.usage, streamed.fingerprint
        if check.parse_errors:
            first = check.parse_errors[0]
            raise ServiceError(f"results failed verification: line {first.line}: {first.message}")
        embedded = summarise_embeddings(partial) if embed else {}
        # Claimed atomically: another poller (the app and a `poll` in a terminal) may be placing a file of
        # the same name right now.
        target = place_beside(partial, target, alternative, ours=ours)
    except (ServiceError, OSError, Cancelled) as exc:
        try:
            partial.unlink()
        except OSError:
            pass
        if isinstance(exc, Cancelled):
            return DownloadOutcome(key, name, False, message="download cancelled")
        if isinstance(exc, ServiceError) and exc.code in (403, 404) and _file_gone(service, dest_name or ""):
            return _output_gone(service, key, name, dest_name or "")
        msg = str(exc) if isinstance(exc, ServiceError) else f"{target}: {exc}"
        return _download_failed(service, key, name, msg)

    def apply(rec: Record) -> None:
        # fingerprint: of the bytes written and checked, hashed as they arrived
        mark_verified(rec, target, {**check.record_fields(), **embedded}, fingerprint.size,
                      fingerprint.sha256, usage)

    service.store.update(key, apply)
    summary = check.summary()
    vectors = describe_embeddings(embedded)
    return DownloadOutcome(key, name, True, path=target, message=f"{summary}; {vectors}" if vectors else summary)


class _CheckOnSize:
    """The results check, made when the download knows the file's size: GeminiClient.download says it (progress
    of 0 bytes, from the response's Content-Length) before the first byte, so no request for the file's metadata
    comes first (one round trip saved). A download that never said it gets the check for an unknown size."""

    def __init__(self, make: Callable[[int], Any]) -> None:
        self._make = make
        self._verifier: Any = None

    def __enter__(self) -> _CheckOnSize:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._verifier is not None:
            self._verifier.__exit__(*exc)

    def verifier(self, size: int = 0) -> Any:
        if self._verifier is None:
            self._verifier = self._make(size)
        return self._verifier

    def progress(self, forward: Callable[[int, int], None] | None) -> Callable[[int, int], None]:
        def on_progress(done: int, total: int) -> None:
            if self._verifier is None:
                self.verifier(total)
            if forward is not None:
                forward(done, total)

        return on_progress

    def feed(self, chunk: bytes) -> None:
        self.verifier().feed(chunk)


def fsync_file(path: Path) -> None:
    """Sync a written file to disk (before it is renamed into place). Raises OSError."""
    fd = os.open(path, os.O_WRONLY)  # not truncated: no O_TRUNC; writable, as some systems want for a sync
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_gone(service: BatchService, file_name: str) -> bool:
    """Asked a second time, by another call: the file is answered 403/404 again (the Files API's "gone")."""
    try:
        service.client.get_file(file_name)
    except ServiceError as exc:
        return exc.code in (403, 404)
    return False


def _output_gone(service: BatchService, key: str, name: str, dest: str) -> DownloadOutcome:
    """The job was just read, so the key works: a 403 or 404 on its output file means the file is gone (output
    files expire, or were deleted elsewhere). Recorded once, so no pass asks again for what cannot come back."""
    message = f"{dest}: the results file is gone from the server (expired or deleted); nothing to download"

    def apply(rec: Record) -> None:
        gone = rec.get("remote_deleted") if isinstance(rec.get("remote_deleted"), dict) else {}
        rec["remote_deleted"] = {**gone, "output": True}
        rec["results_error"] = message

    service.store.update(key, apply)
    return DownloadOutcome(key, name, False, message=message)


def _download_failed(service: BatchService, key: str, name: str, message: str) -> DownloadOutcome:
    def apply(rec: Record) -> None:
        rec["results_error"] = message
        rec["results_attempts"] = int(rec.get("results_attempts") or 0) + 1

    try:
        service.store.update(key, apply)
    except Exception:  # noqa: BLE001 - the download outcome still reports the failure
        pass
    return DownloadOutcome(key, name, False, message=message)
