"""Provides the emulator's shared state: File resources, upload sessions and the lock that guards them.

Only metadata lives in memory; every byte of every file is in `blob_dir`. The lock is held for bookkeeping
only, never while bytes move, so a slow upload or download never stalls other clients. Batch operations
live in `jobs.py` and share this lock and clock. Every change to persistent metadata (files, batches, the
sequence counter) is made under the lock: a persistent emulator (persist.py) swaps in a lock that reloads
the metadata when taken and saves it when released.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .errors import ApiError, file_not_found, invalid_argument, not_found
from .files import GENERATED, UPLOADED, FileRecord, UploadMeta, UploadSession, processing_rules, processing_time
from .util import IdGenerator, paginate


class EmulatorState:
    def __init__(self, blob_dir: Path, clock: Callable[[], float], seed: int, ids: IdGenerator | None = None) -> None:
        self.blob_dir = Path(blob_dir)
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.seed = seed
        self.lock: Any = threading.RLock()
        self.ids = ids or IdGenerator(seed)
        self.files: dict[str, FileRecord] = {}
        self.uploads: dict[str, UploadSession] = {}
        self.seq = 0  # the last sequence number handed out (persisted: blob names and list order use it)
        self.processing_seconds = processing_rules(None)  # {MIME prefix: seconds an upload stays PROCESSING}
        self.processing_failures: list[tuple[re.Pattern[str], str]] = []  # (display name pattern, error message)

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    # -- housekeeping -----------------------------------------------------------------------------
    def purge_expired_files(self, now: float) -> None:
        """Files live 48 hours, as on the real service; expired ones disappear on the next request."""
        with self.lock:
            dead = [fid for fid, rec in self.files.items() if rec.expires <= now]
            for fid in dead:
                rec = self.files.pop(fid)
                remove_quietly(rec.path)

    def _fresh_file_id(self) -> str:
        while True:
            fid = self.ids.file_id()
            if fid not in self.files:
                return fid

    # -- uploads ----------------------------------------------------------------------------------
    def start_upload(self, meta: UploadMeta) -> UploadSession:
        with self.lock:
            self.purge_expired_files(self.clock())
            if meta.file_id and meta.file_id in self.files:
                raise ApiError(409, f"File files/{meta.file_id} already exists.")
            upload_id = self.ids.upload_id()
            part = self.blob_dir / f"upload-{self.next_seq()}.part"
            part.touch()
            session = UploadSession(upload_id, meta, part)
            self.uploads[upload_id] = session
            return session

    def get_upload(self, upload_id: str) -> UploadSession:
        with self.lock:
            session = self.uploads.get(upload_id)
        if session is None:
            raise not_found("Upload session not found: the upload_id is unknown or has expired.")
        return session

    def cancel_upload(self, session: UploadSession) -> None:
        """Caller holds `session.lock`."""
        session.status = "cancelled"
        remove_quietly(session.part_path)

    def finish_upload(self, session: UploadSession) -> FileRecord:
        """Turn a complete session into an ACTIVE file. Caller holds `session.lock`."""
        declared = session.meta.declared_size
        if declared is not None and session.received != declared:
            self.cancel_upload(session)
            raise ApiError(
                400,
                f"The upload was finalized after {session.received} bytes, but {declared} bytes were declared.",
                headers={"X-Goog-Upload-Status": "final"},
            )
        with self.lock:
            now = self.clock()
            file_id = session.meta.file_id or self._fresh_file_id()
            if file_id in self.files:
                self.cancel_upload(session)
                raise ApiError(409, f"File files/{file_id} already exists.", headers={"X-Goog-Upload-Status": "final"})
            path = self.blob_dir / f"file-{file_id}"
            os.replace(session.part_path, path)
            rec = FileRecord(
                file_id=file_id,
                display_name=session.meta.display_name,
                mime_type=session.meta.mime_type,
                size=session.received,
                sha256_hex=session.hasher.hexdigest(),
                created=now,
                source=UPLOADED,
                path=path,
                seq=self.next_seq(),
                ready_at=now + processing_time(self.processing_seconds, session.meta.mime_type),
                failure=self._processing_failure(session.meta.display_name or ""),
            )
            self.files[file_id] = rec
            session.status = "final"
            session.record = rec
            return rec

    def _processing_failure(self, display_name: str) -> str | None:
        """The error a test asked this upload to fail processing with (Emulator.fail_processing), else None."""
        for pattern, message in self.processing_failures:
            if pattern.search(display_name):
                return message
        return None

    def add_generated_file(self, file_id: str, tmp_path: Path, size: int, sha_hex: str, created: float) -> FileRecord:
        with self.lock:
            path = self.blob_dir / f"file-{file_id}"
            os.replace(tmp_path, path)
            rec = FileRecord(file_id, None, "application/jsonl", size, sha_hex, created, GENERATED, path,
                             self.next_seq())
            self.files[file_id] = rec
            return rec

    # -- files ------------------------------------------------------------------------------------
    def lookup_file(self, file_id: str) -> FileRecord:
        with self.lock:
            self.purge_expired_files(self.clock())
            rec = self.files.get(file_id)
        if rec is None:
            raise file_not_found(file_id)
        return rec

    def get_file(self, file_id: str, version: str, base: str) -> dict[str, Any]:
        return self.lookup_file(file_id).to_json(version, base, now=self.clock())

    def list_files(self, page_size: str | None, token: str | None, version: str, base: str) -> dict[str, Any]:
        with self.lock:
            self.purge_expired_files(self.clock())
            page, next_token = paginate(list(self.files.values()), lambda r: r.seq, page_size, token)
            now = self.clock()
        out: dict[str, Any] = {}
        if page:
            out["files"] = [rec.to_json(version, base, now=now) for rec in page]
        if next_token:
            out["nextPageToken"] = next_token
        return out

    def delete_file(self, file_id: str) -> None:
        with self.lock:
            self.purge_expired_files(self.clock())
            rec = self.files.pop(file_id, None)
            if rec is None:
                raise file_not_found(file_id)
            remove_quietly(rec.path)  # a running batch keeps its own hard link to the bytes

    def open_download(self, file_id: str) -> tuple[FileRecord, IO[bytes]]:
        """Open under the lock, so a concurrent delete cannot pull the blob away mid-download."""
        with self.lock:
            rec = self.lookup_file(file_id)
            if rec.source != GENERATED:
                raise invalid_argument(
                    f"Only generated files can be downloaded; files/{file_id} was uploaded and cannot be downloaded."
                )
            return rec, open(rec.path, "rb")

    def link_input(self, file_name: str) -> tuple[FileRecord, Path]:
        """Give a new batch its own hard link to the input bytes, so deleting the File cannot break the job."""
        if not isinstance(file_name, str) or not file_name.startswith("files/"):
            raise invalid_argument(f"Invalid input file name \"{file_name}\": it must look like files/ID.")
        file_id = file_name.removeprefix("files/")
        with self.lock:
            self.purge_expired_files(self.clock())
            rec = self.files.get(file_id)
            if rec is None:
                raise invalid_argument(f"The input file {file_name} does not exist or is not accessible.")
            link = self.blob_dir / f"input-{self.next_seq()}"
            try:
                os.link(rec.path, link)
            except OSError:  # a filesystem without hard links: copy instead
                shutil.copyfile(rec.path, link)
            return rec, link

    def files_snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            self.purge_expired_files(self.clock())
            now = self.clock()
            return [rec.snapshot(now) for rec in sorted(self.files.values(), key=lambda r: r.seq)]


def remove_quietly(path: Path | None) -> None:
    if path is None:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
