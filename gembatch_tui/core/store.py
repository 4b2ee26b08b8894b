"""Provides the job store: one JSON record per line, shared safely between processes.

Why it looks like this:
- `filelock` uses an OS lock (flock), which the kernel drops when its holder dies, so a killed
  process never blocks the next one (gembatch's tmp-file lock did).
- Every write re-reads under the lock, then writes a temporary file in the same directory,
  fsyncs it and `os.replace`s it over the store: readers see the old store or the new one, never half.
- Lines that do not parse, and records whose known fields have the wrong type (record_shape), are kept
  verbatim and reported with their line number, never dropped; readers get only the good records.
- A store file that is a symbolic link is written through: the new version replaces the link's target (temp
  file in the target's directory), so the link stays. The lock sits beside the target, shared by every alias.
- Reading needs no write access: when the lock file cannot be made (a read-only directory), a read goes
  ahead without it (writes replace the file atomically, so a lock-free read still sees one whole version);
  a write then fails with a StoreError naming the directory.
- A parsed copy is cached against the file's (inode, mtime, size); since every write replaces the
  inode, an unchanged stat means nobody wrote since, and a re-read costs one `stat`.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from gembatch_tui.core import paths
from gembatch_tui.core.fsutil import fsync_dir
from gembatch_tui.core.gc_pause import gc_paused
from gembatch_tui.core.jsonpos import json_error_text
from gembatch_tui.core.models import RECORD_VERSION, Record, batch_name, record_key
from gembatch_tui.core.record_shape import problem as shape_problem

LOCK_TIMEOUT_S = 30.0
# Why a lock file cannot be made or opened in a directory we may only read: reads then go ahead without it.
_NO_LOCK_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class StoreError(Exception):
    """A store that cannot be used: its message is meant for the user, one line."""


class DuplicateJob(StoreError):
    """A record with the same batch name is already in the store."""


class AlreadySubmitted(DuplicateJob):
    """`add_many(..., unless=...)` found a record that stands in the way (`record`): nothing was added."""

    def __init__(self, record: Record) -> None:
        super().__init__("the same input is already in the store")
        self.record = record


class RecordNotFound(StoreError):
    pass


@dataclass(frozen=True)
class CorruptLine:
    """A store line that is not a JSON object, or a record whose known fields have the wrong type (`record` is
    True); kept verbatim so nothing is lost, and left out of what readers get."""

    line_no: int
    raw: str
    reason: str
    path: str = ""
    record: bool = False

    @property
    def message(self) -> str:
        """One line for the user: `/path/jobs.jsonl line 3: batch: expected an object, got a string; ...`."""
        what = "this record is skipped" if self.record else "this line is skipped"
        return f"{self.path or 'store'} line {self.line_no}: {self.reason}; {what} (kept in the file as it is)"

    def __str__(self) -> str:
        return self.message


def new_record_id() -> str:
    return uuid.uuid4().hex


@dataclass
class _Snapshot:
    stat_key: tuple[int, int, int] | None
    # Parallel lists: the parsed record (None for a corrupt line) and its raw line, newline included.
    # A write hands the raw lines straight to the kernel (writev), so an unchanged record costs no copy.
    records: list[Record | None]
    raws: list[bytes]
    corrupt: list[CorruptLine]
    _index: dict[str, int] | None = None
    _size: int | None = None

    def size(self) -> int:
        """The file's length as these lines make it (summed once per loaded version, then kept up to date)."""
        if self._size is None:
            self._size = sum(map(len, self.raws))
        return self._size

    def index(self) -> dict[str, int]:
        """Line position by record key and by batch name, built once per loaded version."""
        if self._index is None:
            idx: dict[str, int] = {}
            for i, rec in enumerate(self.records):
                if rec is None:
                    continue
                name = batch_name(rec)
                if name:
                    idx.setdefault(name, i)
                idx[record_key(rec)] = i
            self._index = idx
        return self._index

    def good(self) -> list[Record]:
        with gc_paused():  # 100,000 fresh dicts would set off several full collections over the whole cache
            return [dict(rec) for rec in self.records if rec is not None]


class JobStore:
    """The job store at `path`. All methods are blocking I/O: call them from workers, not the UI thread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        self._lock: FileLock | None = None
        self._cache: _Snapshot | None = None
        self._writes = 0

    # ----------------------------------------------------------------- public API
    def ensure(self, write: bool = False, *, create: bool = True) -> None:
        """Create the store's directory (0700) and check the store can be read (and, with `write`, written: its
        directory, the link target's for a symbolic link, must be writable); raise StoreError if not. A read
        (`create=False`, not `write`) of a store whose folder is not there makes nothing: there is nothing to read."""
        parent = self.path.parent
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a store file")
        if not parent.exists() and not (create or write):
            return
        if not parent.exists():
            try:
                paths.ensure_private_dir(parent)  # the one maker of our private dirs (the key salt's too)
            except OSError as exc:
                raise StoreError(f"{parent}: cannot create store directory: {exc.strerror or exc}") from None
        elif not parent.is_dir():
            raise StoreError(f"{parent}: is not a directory")
        if self.path.exists() and not os.access(self.path, os.R_OK):
            raise StoreError(f"{self.path}: store is not readable (permission denied)")
        if write:
            real_parent = self._target().parent
            if not real_parent.is_dir():  # a link that leads into a folder that is not there
                raise StoreError(f"{self.path}: links to {self._target()}, whose directory does not exist")
            if not os.access(real_parent, os.W_OK | os.X_OK):
                raise StoreError(f"{real_parent}: store directory is not writable, so {self.path} cannot be changed")

    def read_all(self) -> list[Record]:
        """Every good record, in file order (taking the lock so no write is seen half-way).

        Each record is a fresh top-level dict, but nested values (`batch`, `stats`, ...) are shared with the
        cache, because a deep copy of 10,000 records costs ~70-100 ms: treat them as read-only and change
        records only through `update`, whose callback gets a private deep copy."""
        with self._locked():
            return self._load().good()

    def problems(self) -> list[CorruptLine]:
        """Every line left out of `read_all` (not JSON, or a record with a wrong-typed field), in file order; each
        one's `message` (also its `str`) names the store, the line and what is wrong, for the user."""
        with self._locked():
            return list(self._load().corrupt)

    def read_with_problems(self) -> tuple[list[Record], list[CorruptLine]]:
        with self._locked():
            snap = self._load()
            return snap.good(), list(snap.corrupt)

    def get(self, key: str) -> Record | None:
        for rec in self.read_all():
            if record_key(rec) == key:
                return rec
        return None

    def find_by_batch_name(self, name: str) -> Record | None:
        for rec in self.read_all():
            if batch_name(rec) == name:
                return rec
        return None

    def find_by_input(self, input_file: str | os.PathLike[str]) -> list[Record]:
        wanted = str(Path(input_file).expanduser().absolute())
        return [rec for rec in self.read_all() if rec.get("input_file") == wanted]

    def find_by_checksum(self, sha256: str) -> list[Record]:
        return [rec for rec in self.read_all() if rec.get("input_sha256") == sha256]

    def add(self, record: Record, *, unless: Callable[[list[Record]], Record | None] | None = None) -> Record:
        """Append `record` (a local id and version are added); refuse a duplicate batch name."""
        return self.add_many([record], unless=unless)[0]

    def add_many(self, records: Iterable[Record], *,
                 unless: Callable[[list[Record]], Record | None] | None = None) -> list[Record]:
        """Append `records`; refuse a duplicate batch name or record id (DuplicateJob). `unless` is asked under the
        lock, with the store's records as they are then: a record it returns stands in the way (AlreadySubmitted,
        nothing added). So a check and the add are one step: two processes submitting one file cannot both pass
        the check before either has added its record."""
        new = [self._stamp(dict(r)) for r in records]
        with self._locked(write=True):
            snap = self._load()
            _refuse_foreign(self.path, snap)
            if unless is not None:
                blocking = unless(snap.good())
                if blocking is not None:
                    raise AlreadySubmitted(blocking)
            names = {batch_name(rec) for rec in snap.records if rec is not None}
            keys = {record_key(rec) for rec in snap.records if rec is not None}
            # A skipped record still names its job: adding that job again would leave two records of it once
            # the bad line is mended.
            for skipped in _skipped_records(snap.corrupt):
                names.add(batch_name(skipped))
                keys.add(record_key(skipped))
            names.discard(None)
            for rec in new:
                name = batch_name(rec)
                if name and name in names:
                    raise DuplicateJob(f"{name} is already in the store")
                if record_key(rec) in keys:
                    raise DuplicateJob(f"record {record_key(rec)} is already in the store")
                if name:
                    names.add(name)
                keys.add(record_key(rec))
            added = [_dump(rec) for rec in new]
            corrupt = list(snap.corrupt)
            shaped = [self._checked(rec, raw, corrupt) for rec, raw in zip(new, added)]
            self._write(snap.records + shaped, snap.raws + added, corrupt, size=snap.size() + sum(map(len, added)))
        return [dict(r) for r in new]

    def update(self, key: str, change: Callable[[Record], Record | None]) -> Record:
        """Apply `change` to the record with `key` under the lock; it may mutate and return None."""
        result = self.update_many({key: change})
        if key not in result:
            raise RecordNotFound(f"no record {key} in {self.path}")
        return result[key]

    def update_many(
        self, changes: dict[str, Callable[[Record], Record | None]], *, missing_ok: bool = True
    ) -> dict[str, Record]:
        """Apply several changes in one locked read-modify-write pass; returns the updated records by key."""
        out: dict[str, Record] = {}
        if not changes:
            return out
        with self._locked(write=True):
            snap = self._load()
            _refuse_foreign(self.path, snap)
            index = snap.index()
            records, raws = list(snap.records), list(snap.raws)
            corrupt = list(snap.corrupt)
            size = snap.size()
            for key, fn in changes.items():
                pos = index.get(key)
                if pos is None or not _matches(records[pos], key):
                    continue
                copy = json.loads(raws[pos])  # a deep copy that cannot alias the cache
                replaced = fn(copy)
                updated = copy if replaced is None else replaced
                out[key] = updated
                line = _dump(updated)
                size += len(line) - len(raws[pos])
                records[pos], raws[pos] = self._checked(updated, line, corrupt), line
                index[record_key(updated)] = pos
                name = batch_name(updated)
                if name:
                    index.setdefault(name, pos)
            if not missing_ok and len(out) != len(changes):
                missing = sorted(set(changes) - set(out))
                raise RecordNotFound(f"no record {missing[0]} in {self.path}")
            if out:
                self._write(records, raws, corrupt, index=index, size=size)
        return {k: dict(v) for k, v in out.items()}

    def remove(self, key: str) -> bool:
        """Drop the record with `key`; True if one was removed."""
        return self.remove_many([key]) > 0

    def remove_many(self, keys: Iterable[str]) -> int:
        wanted = set(keys)
        with self._locked(write=True):
            snap = self._load()
            _refuse_foreign(self.path, snap)
            keep = [
                rec is None or (record_key(rec) not in wanted and batch_name(rec) not in wanted)
                for rec in snap.records
            ]
            removed = keep.count(False)
            if removed:
                records = [rec for rec, k in zip(snap.records, keep) if k]
                raws = [raw for raw, k in zip(snap.raws, keep) if k]
                self._write(records, raws, snap.corrupt)
        return removed

    # ----------------------------------------------------------------- internals
    def _checked(self, record: Record, line: bytes, corrupt: list[CorruptLine]) -> Record | None:
        """`record` as the cache should hold it: None (and a problem in `corrupt`) when a fresh read of the line
        written would skip it, so this process sees what every other one will."""
        wrong = shape_problem(record)
        if wrong is None:
            return record
        corrupt.append(CorruptLine(0, line[:-1].decode("utf-8", errors="replace"), wrong, str(self.path), True))
        return None

    def _stamp(self, record: Record) -> Record:
        record.setdefault("id", new_record_id())
        record.setdefault("version", RECORD_VERSION)
        return record

    def _target(self) -> Path:
        """The file the store's bytes live in: `path`, or where its symbolic link(s) lead."""
        return Path(os.path.realpath(self.path))

    @contextmanager
    def _locked(self, write: bool = False) -> Iterator[None]:
        self.ensure(write=write, create=write)
        if self._lock is None:
            target = self._target()
            self._lock = FileLock(str(target.with_name(target.name + ".lock")), timeout=LOCK_TIMEOUT_S, mode=0o600)
        if not write and not os.path.isdir(os.path.dirname(self._lock.lock_file)):
            # A link into a folder that is not there (an unmounted disk): nothing to read, and taking the lock
            # would create that folder.
            yield
            return
        try:
            self._lock.acquire()
        except Timeout:
            raise StoreError(
                f"{self.path}: store is locked by another process (waited {LOCK_TIMEOUT_S:.0f} s)"
            ) from None
        except OSError as exc:
            if write or exc.errno not in _NO_LOCK_ERRNOS:
                raise StoreError(f"{self._lock.lock_file}: cannot take the store lock: {exc.strerror or exc}") from None
            # A read-only directory: the lock file cannot be made. Every write replaces the store in one rename,
            # so a read without the lock still sees one whole version.
            yield
            return
        try:
            yield
        finally:
            self._lock.release()

    def _stat_key(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> _Snapshot:
        key = self._stat_key()
        if self._cache is not None and self._cache.stat_key == key:
            return self._cache
        records: list[Record | None] = []
        raws: list[bytes] = []
        corrupt: list[CorruptLine] = []
        shown_path = str(self.path)
        if key is not None:
            try:
                with open(self.path, "rb") as fh:
                    # Line by line, newline kept: each line is the raw a write hands back to the kernel, so the
                    # store's bytes are held once (a read() + split held them twice, plus a third copy to join).
                    lines = fh.readlines()
            except IsADirectoryError:
                raise StoreError(f"{self.path}: is a directory, not a store file") from None
            except PermissionError:
                raise StoreError(f"{self.path}: store is not readable (permission denied)") from None
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot read store: {exc.strerror or exc}") from None
            numbered: list[tuple[int, bytes]] = []
            for line_no, raw in enumerate(lines, start=1):
                if raw.isspace():
                    continue
                if raw[-2:] == b"\r\n" or raw[-1:] != b"\n":  # CRLF (or a last line without one) is written as LF
                    raw = raw.rstrip(b"\r\n") + b"\n"
                numbered.append((line_no, raw))
            del lines
            with gc_paused():
                for start in range(0, len(numbered), _PARSE_CHUNK):
                    chunk = numbered[start : start + _PARSE_CHUNK]
                    for (line_no, raw), rec in zip(chunk, _parse_bulk([raw for _, raw in chunk])):
                        raws.append(raw)
                        if isinstance(rec, dict):
                            wrong = shape_problem(rec)
                            if wrong is None:
                                records.append(rec)
                                continue
                            corrupt.append(CorruptLine(line_no, _text(raw), wrong, shown_path, True))
                            records.append(None)
                            continue
                        reason = "not a JSON object" if rec is not _BAD else _json_error(raw[:-1])
                        corrupt.append(CorruptLine(line_no, _text(raw), reason, shown_path))
                        records.append(None)
        snap = _Snapshot(stat_key=key, records=records, raws=raws, corrupt=corrupt)
        self._cache = snap
        return snap

    def _write(
        self,
        records: list[Record | None],
        raws: list[bytes],
        corrupt: list[CorruptLine],
        index: dict[str, int] | None = None,
        size: int | None = None,
    ) -> None:
        target = self._target()  # a symbolic link stays a link: its target is what gets replaced
        parent = target.parent
        if self._writes % 64 == 0:  # left by a writer killed mid-write: hidden and harmless, so swept now and then
            self._remove_stale_temps()
        self._writes += 1
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
        except OSError as exc:
            raise StoreError(f"{parent}: cannot write store: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb", buffering=0) as fh:
                size = _write_lines(fh, raws, sum(map(len, raws)) if size is None else size)
                os.fsync(fh.fileno())
            # mkstemp made it 0600 already: the store file stays private to the user.
            old_fd = _open_quietly(target)
            os.replace(tmp, target)
            if old_fd is not None:
                # The kernel frees the old version's blocks at its last close (~6 ms for 8 MB): do that off the write path.
                threading.Thread(target=os.close, args=(old_fd,), daemon=True).start()
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise StoreError(f"{self.path}: cannot write store: {exc.strerror or exc}") from None
        fsync_dir(parent)
        # Re-number corrupt lines to where they now stand, so reports stay accurate.
        renumbered: list[CorruptLine] = []
        by_raw = {c.raw: c for c in corrupt}
        for i, (rec, raw) in enumerate(zip(records, raws) if corrupt else [], start=1):
            text = raw[:-1].decode("utf-8", errors="replace") if rec is None else ""
            if rec is None and text in by_raw:
                renumbered.append(replace(by_raw[text], line_no=i))
        self._cache = _Snapshot(self._stat_key(), records, raws, renumbered, _index=index, _size=size)

    def _remove_stale_temps(self) -> None:
        """Temporary files left by a writer that was killed mid-write; safe to drop while we hold the lock."""
        target = self._target()
        prefix = f".{target.name}."
        try:
            names = os.listdir(target.parent)
        except OSError:
            return
        for name in names:
            if name.startswith(prefix) and name.endswith(".tmp"):
                try:
                    os.unlink(target.parent / name)
                except OSError:
                    pass


def _refuse_foreign(path: Path, snap: _Snapshot) -> None:
    """A file with lines but not one job record among them is not written to: it is someone's data (a request
    file given as --store by a slip), and the records it would gain, or the lines a delete would drop, are not
    what its owner meant. StoreError names the file and its first line's problem; nothing is written."""
    if snap.corrupt and not any(rec is not None for rec in snap.records):
        first = snap.corrupt[0]
        raise StoreError(f"{path}: not a job store: none of its {len(snap.records):,} lines is a job record (line "
                         f"{first.line_no}: {first.reason}); nothing was written. Is --store the right file?")


def _skipped_records(corrupt: list[CorruptLine]) -> Iterator[Record]:
    """The records behind lines skipped for their shape (not for bad JSON)."""
    for line in corrupt:
        if line.record:
            try:
                rec = json.loads(line.raw)
            except ValueError:
                continue
            if isinstance(rec, dict):
                yield rec


def _matches(record: Record | None, key: str) -> bool:
    return record is not None and (record_key(record) == key or batch_name(record) == key)


def _dump(record: Record) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8") + b"\n"


_IOV_MAX = 1024  # the POSIX minimum that Linux and macOS both offer


def _write_lines(fh: Any, lines: list[bytes], total: int) -> int:
    """Write every line to the unbuffered file `fh` without joining them into one 8 MB copy first; returns
    `total`, the byte count they make. A short write anywhere (a signal, a nearly full disk) shows as a total
    that does not add up: the file is then written again from the start the plain way."""
    fd = fh.fileno()
    written = 0
    if hasattr(os, "writev"):
        for start in range(0, len(lines), _IOV_MAX):
            written += os.writev(fd, lines[start : start + _IOV_MAX])
    if written != total:
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        data = memoryview(b"".join(lines))
        while data:
            data = data[os.write(fd, data) :]
    return total


_BAD = object()
# Lines parsed per decoder call: big enough to keep the one-call speed, small enough that the joined copy stays a
# few MB and that a bad line sends only its own chunk down the line-by-line path.
_PARSE_CHUNK = 4096


def _text(raw: bytes) -> str:
    """A stored line as text, without its newline (how a skipped line is shown and matched after a write)."""
    return raw[:-1].decode("utf-8", errors="replace")


def _parse_bulk(lines: list[bytes]) -> list[Any]:
    """Parse many lines with one decoder call (about twice as fast); fall back line by line on error."""
    if not lines:
        return []
    try:
        parsed = json.loads(b"[" + b",".join(lines) + b"]")
        if isinstance(parsed, list) and len(parsed) == len(lines):
            return parsed
    except ValueError:
        pass
    out: list[Any] = []
    for raw in lines:
        try:
            out.append(json.loads(raw))
        except ValueError:
            out.append(_BAD)
    return out


def _json_error(raw: bytes) -> str:
    """`not valid JSON: Unterminated string starting at column 12`: the words and the column an editor shows."""
    try:
        json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return json_error_text(raw, exc)
    return "not valid JSON"


def _open_quietly(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None



def record_summary(record: Record) -> dict[str, Any]:
    """A small dict for log lines and errors (never the whole record)."""
    return {"key": record_key(record), "batch": batch_name(record), "input_file": record.get("input_file")}
