"""Provides where the download and merge locks live, and the sweep of what killed downloads leave behind.

download.download_results holds `<store dir>/.downloads/<batch id>.lock` while it fetches a job, and merge.py holds
`group-<group id>.lock` there while it merges a group, so two processes (the app and a `poll` in a terminal) never
work on the same results at once. Results are written to a hidden partial file beside their target,
`.<name>.<8 hex>.partial`, and renamed into place once verified. A process killed mid-download leaves its partial
(as large as the results) forever, and every job leaves a lock file. The sweep removes:

- a partial file nobody writes: not modified for STALE_AFTER seconds while no other download or merge of this store
  is running (every lock but the caller's own is free). A live download writes its partial at least once a chunk
  and holds its lock until the partial is renamed away, so it never loses its file;
- the lock file of a job that is final with nothing (more) to download, or whose record is gone (a group's: merged,
  or no part left), taken first so that nobody holds it while it goes (filelock re-checks the inode it locked).

It runs when a download of that job starts (its results directory) and on clean-up (every results directory).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from gembatch_tui.core import paths
from gembatch_tui.core.models import (
    Record,
    batch_id,
    batch_name,
    is_final,
    needs_download,
    record_key,
    record_state,
)

if TYPE_CHECKING:
    from gembatch_tui.core.submit.service import BatchService

LOCK_DIR = ".downloads"
STALE_AFTER = 15 * 60
"""Seconds a partial file must have gone unmodified (with no other download running) to count as left behind."""
PARTIAL = re.compile(r"^\..+\.[0-9a-f]{8}\.partial$")


def lock_dir(store_path: str | os.PathLike[str]) -> Path:
    return Path(store_path).parent / LOCK_DIR


def job_lock_name(name: str) -> str:
    """The lock file's name for a job (`name`: its batch name, or its record key before it has one)."""
    return f"{paths.safe_component(batch_id(name), 'job')}.lock"


def group_lock_name(gid: str) -> str:
    return f"group-{paths.safe_component(str(gid), 'group')}.lock"


def _held(path: Path) -> bool:
    """Whether another holder has the lock at `path` now (a lock we cannot even open counts as held)."""
    probe = FileLock(str(path), timeout=0, mode=0o600)
    try:
        probe.acquire()
    except Timeout:
        return True
    except OSError:
        return True
    probe.release()
    return False


def others_running(store_path: str | os.PathLike[str], own: Iterable[str] = ()) -> bool:
    """Whether a download or merge of this store other than the caller's (`own`: lock file names) runs now."""
    skip = set(own)
    try:
        locks = [p for p in lock_dir(store_path).iterdir() if p.suffix == ".lock" and p.name not in skip]
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: assume something runs
    return any(_held(p) for p in locks)


def sweep_partials(
    directory: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    *,
    prefix: str = "",
    own: Iterable[str] = (),
    now: float | None = None,
) -> list[Path]:
    """Remove the partial files in `directory` (names starting with `prefix`) that nobody writes; returns them."""
    folder = Path(directory)
    at = time.time() if now is None else now
    stale: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not PARTIAL.match(entry.name) or not entry.name.startswith(prefix):
            continue
        try:
            st = entry.lstat()
        except OSError:
            continue
        if at - st.st_mtime >= STALE_AFTER and entry.is_file() and not entry.is_symlink():
            stale.append(entry)
    if not stale or others_running(store_path, own):
        return []
    removed: list[Path] = []
    for entry in stale:
        try:
            if at - entry.lstat().st_mtime < STALE_AFTER:
                continue  # written to since we looked: alive after all
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def _nothing_to_fetch(record: Record) -> bool:
    """Final, and its results (if any) are on disk or can no longer come: nobody will take its lock for a reason."""

    return is_final(record_state(record)) and not needs_download(record)


def _lock_owners(records: list[Record]) -> tuple[dict[str, Record], dict[str, list[Record]]]:
    jobs: dict[str, Record] = {}
    groups: dict[str, list[Record]] = {}
    for rec in records:
        if not isinstance(rec, dict):
            continue
        jobs.setdefault(job_lock_name(batch_name(rec) or record_key(rec)), rec)
        gid = rec.get("group_id")
        if gid:
            groups.setdefault(group_lock_name(str(gid)), []).append(rec)
    return jobs, groups


def _group_done(parts: list[Record]) -> bool:
    return all(is_final(record_state(p)) and p.get("group_results_verified") for p in parts)


def sweep_locks(store_path: str | os.PathLike[str], records: list[Record], *, own: Iterable[str] = ()) -> list[Path]:
    """Remove the lock files no job needs any more (see the module docstring), each only while we hold it."""
    skip = set(own)
    jobs, groups = _lock_owners(records)
    try:
        locks = sorted(p for p in lock_dir(store_path).iterdir() if p.suffix == ".lock" and p.name not in skip)
    except OSError:
        return []
    removed: list[Path] = []
    for path in locks:
        if path.name.startswith("group-"):
            parts = groups.get(path.name)
            if parts and not _group_done(parts):
                continue
        else:
            rec = jobs.get(path.name)
            if rec is not None and not _nothing_to_fetch(rec):
                continue
        lock = FileLock(str(path), timeout=0, mode=0o600)
        try:
            lock.acquire()
        except (Timeout, OSError):
            continue  # someone holds it (or it cannot be opened): leave it
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
        finally:
            lock.release()
    return removed


def results_dirs(service: BatchService, records: list[Record]) -> set[Path]:
    """Every directory results of these records are (or will be) written to, merged results included."""
    out: set[Path] = set()
    for rec in records:
        if not isinstance(rec, dict):
            continue
        for recorded in (rec.get("results_file"), rec.get("group_results_file")):
            if isinstance(recorded, str) and recorded:
                out.add(Path(recorded).parent)
        try:
            out.add(service.results_target(rec).parent)
            if isinstance(rec.get("group_input_file"), str):
                out.add(paths.results_path_for(rec["group_input_file"], service.results_dir, service.demo).parent)
        except (OSError, ValueError, TypeError):
            continue
    return out


def sweep_leftovers(service: BatchService) -> list[str]:
    """Clean-up's local sweep: stale partial files in every results directory and unused lock files; one line
    per thing removed."""
    records = service.store.read_all()
    notes: list[str] = []
    for folder in sorted(results_dirs(service, records)):
        for path in sweep_partials(folder, service.store.path):
            notes.append(f"removed {path}: the partial file of a download that was interrupted")
    locks = sweep_locks(service.store.path, records)
    if locks:
        notes.append(f"removed {len(locks)} unused download lock file{'s' if len(locks) != 1 else ''} "
                     f"in {lock_dir(service.store.path)}")
    return notes


def sweep_for_download(service: BatchService, record: Record) -> list[Path]:
    """What a download of `record` sweeps as it starts (holding its own job lock): left-behind partial files of
    its results name in its results directory, and the lock files of jobs that no longer need theirs."""
    name = batch_name(record) or record_key(record)
    own = {job_lock_name(name)}
    try:
        target = service.results_target(record)  # where this process writes now (never a dir a record merely names)
        # `.<stem>.jsonl.<hex>.partial`, and beside another job's file `.<stem>.<id>.jsonl.<hex>.partial`
        removed = sweep_partials(target.parent, service.store.path, prefix=f".{target.stem}.", own=own)
        removed += sweep_locks(service.store.path, service.store.read_all(), own=own)
    except Exception:  # noqa: BLE001 - a sweep never stops a download
        return []
    return removed


__all__ = ["LOCK_DIR", "STALE_AFTER", "group_lock_name", "job_lock_name", "lock_dir", "others_running",
           "results_dirs", "sweep_for_download", "sweep_leftovers", "sweep_locks", "sweep_partials"]
