"""Provides the persistent mode of the emulator: its metadata in a JSON file beside the blobs, shared safely.

An `Emulator` given an explicit `state_dir` keeps, in `<state_dir>/emulator-state.json`, everything needed to
carry on after a restart: File resources, batch jobs with the inputs of their clock-driven state machine
(creation time, job_seconds, expiry, request count, failing indices, cancel time, output file, ...), the
sequence counter and how many times the dir was started. Upload sessions in progress are not kept (a client
restarts an upload whose emulator went away). Blobs already live in `<state_dir>/blobs/`.

Several emulators may serve one state dir at once (the demo app open while `gembatch-tui --demo poll` runs):
the state lock (`EmulatorState.lock`) becomes a `SyncedLock`, which, when a thread takes it from outside,
also takes a file lock on `<state_dir>/emulator-state.lock`, reloads the JSON file if another process replaced
it since (a stat: cheap), and, when released, writes the file back if the metadata changed (temporary file,
fsync, os.replace: a reader never sees half a file). The lock is only held for bookkeeping, never while
bytes move, so processes never wait long for each other; a lock held too long (a hung process) is answered
503 UNAVAILABLE, which clients retry.

The file format (`"format": 1`):

    {"format": 1, "starts": 3, "seq": 17,
     "files": [{"id", "display_name", "mime_type", "size", "sha256", "created", "source", "blob", "seq",
                "ready_at", "failure"}],
     "batches": [{"id", "kind", "model", "display_name", "input_file", "input_blob", "inline", "request_count",
                  "failed", "created", "job_seconds", "expiry_seconds", "seq", "priority", "est_tokens",
                  "fail_reason", "cancelled_at", "output_file", "inline_output", "finalized", "file_problems"}]}

Times are epoch seconds of the emulator's clock; `blob`/`input_blob` are names inside `blobs/`; `inline` holds
validated inline requests as `[key, has_key, request, error, syntax]`. A file's `ready_at` is when its
processing ends (PROCESSING before) and `failure` the message it then ends FAILED with (null: ACTIVE); a
batch's `file_problems` maps the id of each file its requests could not use to why (filerefs.py), so its
failed lines keep their specific error. These three came later: a file written without them loads as before
(files ACTIVE, such lines answered with filerefs.GENERIC_PROBLEM), so the format number stays 1.
"""

from __future__ import annotations

import json
import os
import threading
import time
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from .batches import BatchRecord
from .errors import ApiError
from .files import FileRecord
from .results import Checked
from gembatch_tui.core.fsutil import fsync_dir

if TYPE_CHECKING:
    from .jobs import Jobs
    from .state import EmulatorState

STATE_FILE = "emulator-state.json"
LOCK_FILE = "emulator-state.lock"
FORMAT = 1
LOCK_TIMEOUT = 10.0  # seconds to wait for another process's bookkeeping before giving up
ORPHAN_AGE_S = 3600.0  # blobs no record names, older than this, are left over from a crash: removed on start


class StateDirBusy(RuntimeError):
    """Another process has held the state dir's lock for longer than the timeout."""


class SyncedLock:
    """A reentrant lock that, taken from outside, also holds the state dir's file lock and keeps the in-memory
    metadata in step with the file: reloaded (if changed) on the outermost acquire, saved (if changed) on the
    outermost release."""

    def __init__(self, store: StateFile) -> None:
        self._store = store
        self._rlock = threading.RLock()
        self._depth = 0  # only touched by the thread holding _rlock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._rlock.acquire(blocking, timeout):
            return False
        if self._depth == 0:
            try:
                self._store.lock_file()
            except BaseException:
                self._rlock.release()
                raise
            try:
                self._store.reload_if_changed()
            except BaseException:
                self._store.unlock_file()
                self._rlock.release()
                raise
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth:
            self._rlock.release()
            return
        try:
            self._store.save_if_changed()
        finally:
            self._store.unlock_file()
            self._rlock.release()

    def __enter__(self) -> SyncedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class StateFile:
    """The JSON file of one state dir, bound to an emulator's state and jobs."""

    def __init__(self, state_dir: Path, state: EmulatorState, jobs: Jobs, lock_timeout: float | None = None) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / STATE_FILE
        self.state = state
        self.jobs = jobs
        self.lock_timeout = LOCK_TIMEOUT if lock_timeout is None else lock_timeout
        self.starts = 0  # how many emulators started on this dir before this one
        self.notes: list[str] = []  # what start-up had to repair (an unreadable state file set aside)
        self._file_lock = FileLock(str(self.dir / LOCK_FILE), thread_local=False)
        self._signature: tuple[int, int, int] | None = None
        self._saved: str | None = None

    # -- life cycle -------------------------------------------------------------------------------
    def open(self) -> int:
        """Load the dir (creating it), count this start, drop crash leftovers, and install the synced lock.
        Returns the number of earlier starts (the id stream of a seeded emulator). Raises StateDirBusy."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self._file_lock.acquire(timeout=self.lock_timeout)
        except Timeout:
            raise StateDirBusy(f"{self.dir}: the emulator state is locked by another process") from None
        try:
            self._load(initial=True)
            earlier = self.starts
            self.starts += 1
            self._remove_orphans()
            self._saved = None
            self.save_if_changed()
        finally:
            self._file_lock.release()
        self.state.lock = SyncedLock(self)
        return earlier

    def lock_file(self) -> None:
        try:
            self._file_lock.acquire(timeout=self.lock_timeout)
        except Timeout:
            raise ApiError(503, "The service is currently unavailable (the emulator state is locked by another "
                                "process).") from None

    def unlock_file(self) -> None:
        self._file_lock.release()

    # -- load -------------------------------------------------------------------------------------
    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def reload_if_changed(self) -> None:
        if self._stat() != self._signature:
            self._load(initial=False)

    def _load(self, *, initial: bool) -> None:
        signature = self._stat()
        if signature is None:
            data: dict[str, Any] = {}
        else:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(data, dict) or data.get("format") != FORMAT:
                    raise ValueError(f"unknown format {data.get('format') if isinstance(data, dict) else data!r}")
                self._apply(data)
            except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                if not initial:
                    return  # keep what we have; our next save replaces the file
                aside = self.path.with_name(f"{STATE_FILE}.unreadable-{int(time.time())}")
                os.replace(self.path, aside)
                self.notes.append(f"{self.path}: unreadable ({exc}); set aside as {aside.name}, starting empty")
                data, signature = {}, None
        if not data:
            self._apply({"files": [], "batches": [], "seq": 0, "starts": 0})
        self._signature = signature
        self._saved = self._serialize()

    def _blob(self, name: Any) -> Path | None:
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            return None
        return self.state.blob_dir / name

    def _apply(self, data: dict[str, Any]) -> None:
        """Replace the metadata with `data`, updating batch records in place (threads may hold them)."""
        files: dict[str, FileRecord] = {}
        for f in data["files"]:
            path = self._blob(f["blob"])
            if path is None or not path.exists():  # its blob went with a crash mid-delete
                continue
            files[str(f["id"])] = FileRecord(
                file_id=str(f["id"]), display_name=f.get("display_name"), mime_type=str(f["mime_type"]),
                size=int(f["size"]), sha256_hex=str(f["sha256"]), created=float(f["created"]),
                source=str(f["source"]), path=path, seq=int(f["seq"]),
                ready_at=float(f.get("ready_at") or 0.0),
                failure=str(f["failure"]) if f.get("failure") is not None else None,
            )
        batches: dict[str, BatchRecord] = {}
        problems: dict[str, dict[str, str]] = {}
        for b in data["batches"]:
            fields = _batch_fields(b)
            found = b.get("file_problems")
            if isinstance(found, dict) and found:
                problems[fields["batch_id"]] = {str(k): str(v) for k, v in found.items()}
            fields["input_path"] = self._blob(b.get("input_blob"))
            current = self.jobs.batches.get(fields["batch_id"])
            if current is None:
                current = BatchRecord(**fields)
            else:
                for name, value in fields.items():
                    setattr(current, name, value)
            batches[current.batch_id] = current
        self.state.files.clear()
        self.state.files.update(files)
        self.jobs.batches.clear()
        self.jobs.batches.update(batches)
        self.jobs.file_problems.clear()
        self.jobs.file_problems.update(problems)
        self.state.seq = max(int(data["seq"]), self.state.seq)  # only ever grows: blob names use it
        self.starts = int(data.get("starts") or 0)

    # -- save -------------------------------------------------------------------------------------
    def _serialize(self) -> str:
        files = [
            {"id": r.file_id, "display_name": r.display_name, "mime_type": r.mime_type, "size": r.size,
             "sha256": r.sha256_hex, "created": r.created, "source": r.source, "blob": r.path.name, "seq": r.seq,
             "ready_at": r.ready_at, "failure": r.failure}
            for r in self.state.files.values()
        ]
        batches = [_batch_json(r, self.jobs.file_problems.get(r.batch_id)) for r in self.jobs.batches.values()]
        data = {"format": FORMAT, "starts": self.starts, "seq": self.state.seq, "files": files, "batches": batches}
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    def save_if_changed(self) -> None:
        text = self._serialize()
        if text == self._saved:
            return
        tmp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        fsync_dir(self.dir)
        self._saved = text
        self._signature = self._stat()

    # -- housekeeping -----------------------------------------------------------------------------
    def _remove_orphans(self) -> None:
        """Blobs that no file or batch names and that nobody touched for an hour: a crash left them (a live
        process's upload parts and results in progress are younger, or named)."""
        named = {r.path.name for r in self.state.files.values()}
        named.update(r.input_path.name for r in self.jobs.batches.values() if r.input_path is not None)
        cutoff = time.time() - ORPHAN_AGE_S
        try:
            entries = list(os.scandir(self.state.blob_dir))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.name not in named and entry.is_file() and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
            except OSError:
                pass


def _batch_json(r: BatchRecord, file_problems: dict[str, str] | None) -> dict[str, Any]:
    return {
        "id": r.batch_id, "kind": r.kind, "model": r.model, "display_name": r.display_name,
        "input_file": r.input_file, "input_blob": r.input_path.name if r.input_path is not None else None,
        "inline": [list(c) for c in r.inline] if r.inline is not None else None,
        "request_count": r.request_count, "failed": list(r.failed), "created": r.created,
        "job_seconds": r.job_seconds, "expiry_seconds": r.expiry_seconds, "seq": r.seq, "priority": r.priority,
        "est_tokens": r.est_tokens, "fail_reason": r.fail_reason, "cancelled_at": r.cancelled_at,
        "output_file": r.output_file, "inline_output": r.inline_output, "finalized": r.finalized,
        "file_problems": dict(file_problems or {}),
    }


def _batch_fields(b: dict[str, Any]) -> dict[str, Any]:
    """BatchRecord fields from a saved batch, except `input_path` (resolved by the caller)."""
    inline = b.get("inline")
    cancelled = b.get("cancelled_at")
    return {
        "batch_id": str(b["id"]), "kind": str(b["kind"]), "model": str(b["model"]),
        "display_name": b.get("display_name"), "input_file": b.get("input_file"),
        "inline": [Checked(*item) for item in inline] if inline is not None else None,
        "request_count": int(b["request_count"]), "failed": array("I", (int(i) for i in b.get("failed") or ())),
        "created": float(b["created"]), "job_seconds": float(b["job_seconds"]),
        "expiry_seconds": float(b["expiry_seconds"]), "seq": int(b["seq"]), "priority": int(b.get("priority") or 0),
        "est_tokens": int(b.get("est_tokens") or 0), "fail_reason": b.get("fail_reason"),
        "cancelled_at": float(cancelled) if cancelled is not None else None, "output_file": b.get("output_file"),
        "inline_output": b.get("inline_output"), "finalized": bool(b.get("finalized")),
    }

