"""Provides the merge of a group's part results into one results file, in the original input's order.

When every part of a group has succeeded and its own results are verified, the parts' results are written, part
by part, into `<results dir>/<original input name>` (a hidden partial file first), verified against the original
input (results/stream.py `verify_file`: the verdicts of results.verify_results, and the fingerprint of the same
read), and only then renamed into place. Every part record then gets
`group_results_file`, `group_results_verified`, `group_results_check`, and the merged file's fingerprint
`group_results_bytes` and `group_results_sha256` (results_fingerprint.py: what clean-up checks before it deletes).
One process merges a group at a time (a lock beside the store, download_lock.py); a merge starts by removing the
partial files a killed merge of the same name left behind.

Order: parts hold consecutive input lines, so the input's order is each part's input order in turn. Within a
part, result lines usually come back in input order and are copied as they stream by; at the first line that
does not match, an index of that part's results is built (64-bit key digests and byte offsets in arrays, sorted
by digest: about 80 bytes a result line while sorting, 30 after, for one part at a time, and only when that
part's results are out of order) and the remaining keys are looked up in input order. Result lines whose key
is not in the input are kept, after the part's other results; a repeated key is written once.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from filelock import FileLock, Timeout

from gembatch_tui.core import paths
from gembatch_tui.core.poll import download_lock
from gembatch_tui.core.results.stream import verify_file
from gembatch_tui.core.poll.embeddings import summarise_embeddings
from gembatch_tui.core.errors import Cancelled
from gembatch_tui.core.sync_behind import SyncBehind
from gembatch_tui.core.fsutil import place_beside
from gembatch_tui.core.submit.groups import by_group
from gembatch_tui.core.submit.keyset import key_hash
from gembatch_tui.core.models import SUCCEEDED, Record, record_key, record_state
from gembatch_tui.core.poll.download import DownloadOutcome
from gembatch_tui.core.submit.input_read import iter_keys

if TYPE_CHECKING:
    from gembatch_tui.core.submit.service import BatchService


def _has_results(rec: Record) -> bool:
    path = rec.get("results_file")
    return record_state(rec) == SUCCEEDED and bool(rec.get("results_verified")) and bool(path) and Path(path).is_file()


def needs_merge(parts: list[Record]) -> bool:
    """Every part present, succeeded and saved, and no verified merged file on disk yet."""
    if not parts or len(parts) != int(parts[0].get("group_parts") or 0):
        return False
    merged = parts[0].get("group_results_file")
    done = all(p.get("group_results_verified") and p.get("group_results_file") == merged for p in parts)
    if done and merged and Path(merged).is_file():
        return False
    return all(_has_results(p) for p in parts)


def merge_ready(service: BatchService, *, cancel: threading.Event | None = None) -> list[DownloadOutcome]:
    """Merge every group that is ready; one outcome per group tried (key: the group id, name: its label). A group
    another process is merging right now is left to it (no outcome: the next pass sees its result)."""
    out: list[DownloadOutcome] = []
    for gid, parts in by_group(service.store.read_all()).items():
        if cancel is not None and cancel.is_set():
            break
        if needs_merge(parts):
            outcome = merge_group(service, gid, parts, cancel=cancel)
            if not outcome.busy:
                out.append(outcome)
    return out


def _target(service: BatchService, parts: list[Record], gid: str) -> tuple[Path, Path, bool]:
    """(where the merged file goes, the name beside it if that is another's file, whether it is ours)."""
    original = parts[0]["group_input_file"]
    target = paths.results_path_for(original, service.results_dir, service.demo)
    alternative = target.with_name(f"{target.stem}.{paths.safe_component(gid, 'group')[:8]}{target.suffix}")
    recorded = parts[0].get("group_results_file")
    if recorded in (str(target), str(alternative)):
        return Path(recorded), alternative, True
    return (alternative if target.exists() else target), alternative, False


def merge_group(
    service: BatchService, gid: str, parts: list[Record], *, cancel: threading.Event | None = None
) -> DownloadOutcome:
    """Merge one group under its merge lock (not waited for: `busy` when another process holds it)."""
    label = f"{parts[0].get('group_display_name') or Path(parts[0]['group_input_file']).name} ({len(parts)} parts)"
    lock_name = download_lock.group_lock_name(gid)
    try:
        folder = download_lock.lock_dir(service.store.path)
        folder.mkdir(mode=0o700, exist_ok=True)
        lock: FileLock | None = FileLock(str(folder / lock_name), timeout=0, mode=0o600)
        lock.acquire()
    except Timeout:
        return DownloadOutcome(gid, label, False, message=f"{label}: being merged by another process", busy=True)
    except OSError:
        lock = None  # no lock possible here (read-only store dir): merge as before
    try:
        fresh = by_group(service.store.read_all()).get(gid, [])
        if not needs_merge(fresh):  # merged by another process meanwhile
            return DownloadOutcome(gid, label, True, message=f"{label}: already merged by another process", busy=True)
        return _merge_locked(service, gid, fresh, label, lock_name, cancel)
    finally:
        if lock is not None:
            lock.release()


def _merge_locked(
    service: BatchService, gid: str, parts: list[Record], label: str, lock_name: str, cancel: threading.Event | None
) -> DownloadOutcome:
    from gembatch_tui.core.models import now_iso

    store = service.store
    target, alternative, ours = _target(service, parts, gid)
    try:  # what a killed merge of this name left behind (never a partial another process is writing)
        download_lock.sweep_partials(target.parent, store.path, prefix=f".{target.stem}.", own={lock_name})
    except Exception:  # noqa: BLE001 - a sweep never stops a merge
        pass
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        paths.ensure_results_dir(target.parent)
        with open(partial, "wb") as out, SyncBehind(out.fileno()) as behind:
            for part in parts:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("merge cancelled")
                before = out.tell()
                merge_part(Path(part["input_file"]), Path(part["results_file"]), out)
                out.flush()
                behind.wrote(out.tell() - before)  # flushed to disk while the next part is merged
            behind.finish()
            os.fsync(out.fileno())
        original = Path(parts[0]["group_input_file"])
        verified = verify_file(partial, original if original.is_file() else None)  # the check and fingerprint
        check = verified.check
        if check.parse_errors:
            first = check.parse_errors[0]
            raise ValueError(f"merged results failed verification: line {first.line}: {first.message}")
        fields = check.record_fields()
        if parts[0].get("kind") == "embed":
            fields.update(summarise_embeddings(partial))
        # Claimed atomically: another process may be placing a file of the same name right now.
        target = place_beside(partial, target, alternative, ours=ours)
    except (OSError, ValueError, Cancelled) as exc:
        try:
            partial.unlink()
        except OSError:
            pass
        message = f"{target}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
        if not isinstance(exc, Cancelled):
            store.update_many({record_key(p): (lambda r, m=message: r.update(group_results_error=m)) for p in parts})
        return DownloadOutcome(gid, label, False, message=message)

    fingerprint = verified.fingerprint  # of the bytes that were verified, in the same read

    def apply(rec: Record) -> None:
        rec.update(group_results_file=str(target), group_results_verified=True, group_merged_at=now_iso(),
                   group_results_check=fields)
        rec.pop("group_results_error", None)
        for stale in ("group_results_bytes", "group_results_sha256"):
            rec.pop(stale, None)
        rec.update(fingerprint.fields("group_results"))

    store.update_many({record_key(p): apply for p in parts})
    return DownloadOutcome(gid, label, True, path=target, message=check.summary())


# --- one part ---------------------------------------------------------------------------------------------------


def _result_key(raw: bytes) -> str | None:
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    key = obj.get("key") if isinstance(obj, dict) else None
    return key if isinstance(key, str) else None


def _lf(raw: bytes) -> bytes:
    return raw if raw.endswith(b"\n") else raw + b"\n"


def _next_line(f: BinaryIO) -> bytes | None:
    while True:
        raw = f.readline()
        if not raw:
            return None
        if not raw.isspace():
            return raw


def merge_part(part_input: Path, part_results: Path, out: BinaryIO) -> None:
    """Append the results of one part to `out` in the part's input order (see the module docstring)."""
    keys = iter_keys(part_input)
    with open(part_results, "rb") as res:
        copied = 0
        pending: str | None = None
        for _line, _offset, key in keys:
            raw = _next_line(res)
            if raw is not None and _result_key(raw) == key:
                out.write(_lf(raw))
                copied += 1
                continue
            pending = key
            break
        else:
            if _next_line(res) is None:
                return  # every result in input order, nothing left over: the common case
        _merge_indexed(res, copied, pending, keys, out)


def _merge_indexed(
    res: BinaryIO, copied: int, pending: str | None, keys: Iterator[tuple[int, int, str]], out: BinaryIO
) -> None:
    digests, offsets = array("Q"), array("Q")
    res.seek(0)
    offset = 0
    for raw in res:
        if not raw.isspace():
            key = _result_key(raw)
            digests.append(key_hash(key) if key is not None else 0)
            offsets.append(offset)
        offset += len(raw)
    order = array("I", sorted(range(len(digests)), key=digests.__getitem__))
    ordered = array("Q", (digests[i] for i in order))
    claimed = bytearray(len(digests))

    def claim(key: str, write: bool) -> None:
        digest = key_hash(key)
        pos = bisect_left(ordered, digest)
        chosen = None
        while pos < len(ordered) and ordered[pos] == digest:
            index = order[pos]
            if not claimed[index] and chosen is None:
                res.seek(offsets[index])
                raw = res.readline()
                if _result_key(raw) == key:
                    chosen = raw
            claimed[index] = 1
            pos += 1
        if write and chosen is not None:
            out.write(_lf(chosen))

    res.seek(0)
    for _ in range(copied):  # the lines already copied in order
        raw = _next_line(res)
        key = _result_key(raw) if raw else None
        if key is not None:
            claim(key, write=False)
    if pending is not None:
        claim(pending, write=True)
    for _line, _offset, key in keys:
        claim(key, write=True)
    for index in range(len(digests)):  # keys the input does not have: keep them, after the rest
        if not claimed[index]:
            res.seek(offsets[index])
            out.write(_lf(res.readline()))
