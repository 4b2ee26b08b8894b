"""Provides groups: an input over a per-job limit, split into parts that are each an ordinary job record.

Every part record carries the group fields (readers that do not know them see separate jobs):
- `group_id` (shared), `group_part` (1-based), `group_parts` (how many);
- `group_input_file`, `group_input_sha256`, `group_count`, `group_display_name`, `group_split_reason`: the input
  the user gave, and why it was split;
- once every part succeeded and the merge is verified: `group_results_file`, `group_results_verified`,
  `group_results_check` (see merge.py).
A part's own `input_file` is its part file (`<store dir>/parts/<group_id>/<stem>.part-001-of-003.jsonl`), its
`results_file` that part's verified results (beside the part), so tools that handle one job keep working.

The duplicate guard treats the group as one submission of the original file (service.duplicate_of).
A part that ended FAILED, EXPIRED or CANCELLED is queued again by retry_parts.py (same record, the old attempt
kept in `previous_attempts`). The parts directory goes when the group's last record is deleted (cleanup.execute).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gembatch_tui.core import paths
from gembatch_tui.core.errors import Cancelled
from gembatch_tui.core.models import (
    ACTIVE_STATES,
    LOCAL_QUEUED,
    LOCAL_SUBMITTING,
    LOCAL_SUBMIT_FAILED,
    RUNNING,
    SUCCEEDED,
    Record,
    is_final,
    now_iso,
    record_key,
    record_state,
    record_stats,
)
from gembatch_tui.core.submit.outcome import SubmitOutcome, Submitter
from gembatch_tui.core.store import AlreadySubmitted, new_record_id

if TYPE_CHECKING:
    from gembatch_tui.core.submit.limits import JobLimits
    from gembatch_tui.core.submit.validate import ValidationReport
    from gembatch_tui.core.api.gemini import Progress

STALE_TMP_S = 3600.0


def describe(record: Record) -> str | None:
    """`group 1a2b3c4d (3 parts)` for a part record, None for any other."""
    gid = record.get("group_id")
    if not gid:
        return None
    return f"group {gid} ({record.get('group_parts') or '?'} parts)"


def by_group(records: list[Record]) -> dict[str, list[Record]]:
    """Part records by group id, each list in part order."""
    out: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        gid = rec.get("group_id")
        if isinstance(gid, str) and gid:
            out[gid].append(rec)
    for parts in out.values():
        parts.sort(key=lambda r: int(r.get("group_part") or 0))
    return dict(out)


@dataclass(frozen=True)
class GroupSummary:
    """One line for a group (what a collapsed dashboard row shows)."""

    group_id: str
    label: str  # the original file's display name
    parts: int  # parts expected
    present: int  # part records still in the store
    state: str  # JOB_STATE_* / LOCAL_*: SUCCEEDED only when every part did
    states: dict[str, int]  # parts per state
    requests: int  # of the original input
    done: int  # requests answered (ok or failed) over all parts
    failed_requests: int
    results_file: str | None  # the merged results, once verified
    input_file: str  # the original input (join it with results_file to view results)


def troubled_states(states: Counter[str] | dict[str, int]) -> dict[str, int]:
    """{state: parts} of the parts that ended other than succeeded (or could not be submitted)."""
    return {s: n for s, n in states.items() if (is_final(s) and s != SUCCEEDED) or s == LOCAL_SUBMIT_FAILED}


def summarise(parts: list[Record]) -> GroupSummary:
    """The group's overall state: while a part is running or pending the group runs, then being submitted or
    queued (a part in trouble is said beside it: `troubled_states`); once nothing moves, a part in trouble
    (failed, cancelled, expired, submit failed) wins; SUCCEEDED when all parts are. Trouble does not win at once:
    a group with parts still running would read as finished."""
    first = parts[0]
    states = Counter(record_state(p) for p in parts)
    if set(states) == {SUCCEEDED} and len(parts) == int(first.get("group_parts") or len(parts)):
        state = SUCCEEDED
    else:
        troubled = troubled_states(states)
        if any(s in ACTIVE_STATES for s in states):
            state = RUNNING
        elif LOCAL_SUBMITTING in states:
            state = LOCAL_SUBMITTING
        elif LOCAL_QUEUED in states:
            state = LOCAL_QUEUED
        elif troubled:
            state = sorted(troubled)[0]
        else:
            state = RUNNING  # some parts succeeded, the rest not started: still under way
    done = failed = 0
    for part in parts:
        stats = record_stats(part)
        done += stats["successful_request_count"] + stats["failed_request_count"]
        failed += stats["failed_request_count"]
    merged = first.get("group_results_file") if all(p.get("group_results_verified") for p in parts) else None
    return GroupSummary(
        group_id=str(first.get("group_id")), label=str(first.get("group_display_name") or first.get("group_input_file")),
        parts=int(first.get("group_parts") or len(parts)), present=len(parts), state=state, states=dict(states),
        requests=int(first.get("group_count") or 0), done=done, failed_requests=failed, results_file=merged,
        input_file=str(first.get("group_input_file") or ""),
    )


def merged_view(parts: list[Record]) -> Record:
    """A read-only stand-in record for the whole split input: its original input and merged results, so the
    results browser and `export` treat the group like one job. Never written to the store (`group_view`)."""
    summary = summarise(parts)
    first = parts[0]
    batch = first.get("batch") if isinstance(first.get("batch"), dict) else {}
    return {
        "id": f"group:{summary.group_id}",
        "group_view": True,
        "group_id": summary.group_id,
        "batch": {"display_name": f"{summary.label} ({summary.parts} parts, merged)"},  # how display_name() reads it
        "input_file": summary.input_file,
        "results_file": summary.results_file,
        "results_verified": summary.results_file is not None,
        "model": first.get("model") or batch.get("model"),  # for the cost at batch prices
        "kind": first.get("kind"),
        "count": summary.requests,
    }


def merged_pending(parts: list[Record]) -> str:
    """Why a group has no merged results yet (one line for the user)."""
    summary = summarise(parts)
    done = summary.states.get(SUCCEEDED, 0)
    if done == summary.parts:
        return f"{summary.label}: every part succeeded; the merged results appear after the next poll"
    return f"{summary.label}: merged results appear when every part has succeeded ({done} of {summary.parts} so far)"


def _remove_stale_tmp(root: Path) -> None:
    """Half-written part directories of a split that crashed (older than an hour)."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            try:
                if time.time() - entry.stat().st_mtime > STALE_TMP_S:
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                pass


def parts_dir(root: Path, gid: object) -> Path | None:
    """`<root>/<gid>`, or None when `gid` (read from the store) is not a plain directory name: one harmless
    component (`paths.safe_component` leaves it unchanged), not hidden, so the folder is always inside `root`."""
    if not isinstance(gid, str) or not gid or gid.startswith(".") or paths.safe_component(gid, "") != gid:
        return None
    return root / gid


def parts_dir_kept(parts: list[Record], folder: Path) -> str | None:
    """Why a group's part directory must stay although no record needs its part files any more: it holds
    part results that were never merged into a verified file (the only copy on disk). None: it may go."""
    from gembatch_tui.core.results.fingerprint import group_problem

    merged = next((p for p in parts if p.get("group_results_verified")), None)
    if merged is not None and group_problem(merged) is None:  # the merged file is still what was verified
        return None
    for part in parts:
        saved = part.get("results_file")
        if saved and Path(saved).is_relative_to(folder) and Path(saved).is_file():
            return f"kept {folder}: it holds results of parts that were never merged"
    return None


def remove_parts_dir(root: Path, gid: str) -> str | None:
    """Remove a group's part files (and stale half-written splits beside them); best effort: returns the first
    error as one line, or None. Only call it once no record of the group is left (cleanup.execute does)."""
    folder = parts_dir(root, gid)
    if folder is None:
        return f"{gid!r}: not a group directory name; nothing removed"
    errors: list[str] = []

    def failed(_fn: object, path: str, exc: BaseException) -> None:
        errors.append(f"{path}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")

    if folder.is_symlink():
        return f"{folder}: is a symbolic link; not removed"
    if folder.is_dir():
        if sys.version_info >= (3, 12):
            shutil.rmtree(folder, onexc=failed)
        else:  # onerror gets (type, value, traceback)
            shutil.rmtree(folder, onerror=lambda fn, path, info: failed(fn, path, info[1]))
    _remove_stale_tmp(root)
    return f"cannot remove part files: {errors[0]}" if errors else None


def submit_group(
    service: Submitter,
    src: Path,
    report: ValidationReport,
    base: Record,
    limits: JobLimits,
    budget: int | None,
    reason: str,
    *,
    progress: Progress | None,
    cancel: threading.Event | None,
    unless: Callable[[list[Record]], Record | None] | None = None,
) -> SubmitOutcome:
    """Split `src` into parts, record them all as queued, then submit as many as the budget allows now. `unless`:
    the duplicate guard, asked again as the parts are recorded (JobStore.add_many); raises AlreadySubmitted, with
    the part files removed, when another process submitted the file meanwhile.

    If the user cancels before any part exists remotely, the whole group is removed (records and part files);
    once a part is created, the others stay queued for the poller.
    """
    from gembatch_tui.core.submit import split

    gid = uuid.uuid4().hex[:12]
    root = service.parts_root()
    tmp, final = root / f".{gid}.tmp", root / gid
    try:
        paths.ensure_private_dir(root)
        _remove_stale_tmp(root)
        tmp.mkdir(mode=0o700)
        parts = split.write_parts(
            src, tmp, report=report, max_requests=limits.max_requests_per_job,
            max_bytes=limits.max_bytes_per_job, max_tokens=budget, cancel=cancel,
        )
        os.replace(tmp, final)
    except Cancelled:
        shutil.rmtree(tmp, ignore_errors=True)
        return SubmitOutcome(src, "cancelled", request_count=report.request_count)
    except (OSError, ValueError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return SubmitOutcome(src, "error", message=f"cannot split {src.name}: {why}", request_count=report.request_count)
    n = len(parts)
    display = str(base.get("display_name") or src.name)
    submitted_at = now_iso()
    records: list[Record] = []
    for part in parts:
        rec = dict(base)
        rec.update(
            id=new_record_id(),
            input_file=str(final / part.path.name),
            count=part.count,
            input_sha256=part.sha256,
            input_bytes=part.size_bytes,
            est_input_tokens=part.est_tokens,
            display_name=f"{display} [{part.index}/{n}]",
            group_id=gid,
            group_part=part.index,
            group_parts=n,
            group_input_file=str(src),
            group_input_sha256=report.sha256,
            group_count=report.request_count,
            group_display_name=display,
            group_split_reason=reason,
            group_submitted_at=submitted_at,
            local_state="queued",
            queued_reason="waiting for its turn",
        )
        rec.pop("media_files", None)
        if part.media_refs:
            rec.update(media_refs=part.media_refs, media_base_dir=str(src.parent))
        else:
            rec.pop("media_refs", None)
        records.append(rec)
    try:
        service.store.add_many(records, unless=unless)
    except AlreadySubmitted:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return _first_wave(service, src, gid, records, report.request_count, progress, cancel)


def _first_wave(
    service: Submitter,
    src: Path,
    gid: str,
    records: list[Record],
    count: int,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> SubmitOutcome:
    """Submit what fits of a new group and sum it up in one outcome."""
    from gembatch_tui.core.submit import waves

    keys = [record_key(r) for r in records]
    results = waves.dispatch_queued(service, only=set(keys), progress=progress, cancel=cancel)
    names = [o.batch_name for _rec, o in results if o.status == "submitted" and o.batch_name]
    errors = [(rec, o) for rec, o in results if o.status == "error"]
    n = len(records)
    if cancel is not None and cancel.is_set() and not names:
        service.store.remove_many(keys)
        shutil.rmtree(Path(records[0]["input_file"]).parent, ignore_errors=True)
        return SubmitOutcome(src, "cancelled", request_count=count, parts=n, group_id=gid)
    queued = sum(1 for r in service.store.read_all() if r.get("group_id") == gid and r.get("local_state") == "queued")
    if errors:
        rec, first = errors[0]
        message = f"part {rec.get('group_part')}/{n}: {first.message}"
        return SubmitOutcome(src, "error", message=message, request_count=count, parts=n, batch_names=names,
                             queued=queued, group_id=gid)
    if not names:
        waiting = next((o.message for _rec, o in results if o.status == "queued" and o.message), "")
        if not waiting:
            rec = service.store.get(keys[0]) or {}
            waiting = str(rec.get("queued_reason") or "")
        return SubmitOutcome(src, "queued", request_count=count, message=waiting, parts=n, queued=queued, group_id=gid)
    return SubmitOutcome(src, "submitted", batch_name=names[0], request_count=count, parts=n, batch_names=names,
                         queued=queued, group_id=gid)
