"""Provides the remote-resources inventory: what this key has on the server, cross-checked with the store.

Why one module: the resources screen and the CLI `cleanup` must agree on what is safe to delete. The
safe set is never decided here: it is `cleanup.plan_cleanup(records)` restricted to what exists remotely.
Everything else (active, protected, orphan, expiring) only adds warnings and refusals on top of it.
No Textual, no Rich: plain data in, plain data out, so it is testable without a terminal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Union

from gembatch_tui.core.cleanup import Action, ActionResult, DeletePlan, execute, plan_cleanup, results_safe
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.core.gemini import GeminiClient, snapshot_from_operation
from gembatch_tui.core.models import (
    LOCAL_SUBMITTING,
    SUCCEEDED,
    Record,
    batch_id,
    batch_name,
    display_name,
    is_final,
    normalise_state,
    parse_time,
    record_state,
)
from gembatch_tui.core.service import BatchService, now_iso
from gembatch_tui.core.store import StoreError, record_key

QUOTA_BYTES = 20 * 10**9
"""Files storage per project (20 GB)."""
MAX_CONCURRENT_JOBS = 100
EXPIRING_WITHIN = timedelta(hours=6)
FILE_LIFETIME = timedelta(hours=48)
"""Uploads are deleted 48 h after creation; a job not processed within 48 h expires."""
PAGE_SIZE = 100

ACTIVE = "active"  # in use by a pending or running job
PROTECTED = "protected"  # holds results that are not downloaded (verified on disk) yet
SAFE = "safe"  # in the clean-up set: finished and results verified on disk
ORPHAN = "orphan"  # not known to the store
EXPIRING = "expiring"  # the server drops it (file) or expires it (job) within 6 h
FLAGS = (ACTIVE, PROTECTED, SAFE, ORPHAN, EXPIRING)

PageProgress = Callable[[str, int, int], None]
"""(what: "files" or "batches", pages fetched, items so far)."""


# ----------------------------------------------------------------------------- fetching
def fetch_remote(
    client: GeminiClient,
    what: str,
    *,
    progress: PageProgress | None = None,
    cancel: threading.Event | None = None,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Every remote file (`what="files"`) or batch operation (`"batches"`), as the server's raw JSON."""
    source = client.iter_files(page_size) if what == "files" else client.iter_batches(page_size)
    items: list[dict[str, Any]] = []
    for item in source:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"listing {what} cancelled")
        items.append(item)
        if progress is not None and len(items) % page_size == 0:
            progress(what, len(items) // page_size, len(items))
    if progress is not None:
        progress(what, -(-len(items) // page_size) or 1, len(items))
    return items


# ----------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class FileRow:
    """One remote file and what the store knows about it."""

    name: str
    display_name: str
    size_bytes: int
    created: datetime | None
    expires: datetime | None
    state: str  # ACTIVE, PROCESSING, FAILED, ... as the server says
    source: str  # "uploaded", "generated", ...
    role: str  # "input", "output" or "media" (a [[FILE:]] upload a job names): its use ("" when unknown)
    record_key: str | None  # the local record that uses it
    job_name: str | None  # the batch (local or remote) that uses it
    job_label: str  # how the using job is shown; "" when none
    flags: frozenset[str]

    is_batch = False


@dataclass(frozen=True)
class BatchRow:
    """One remote batch job and what the store knows about it."""

    name: str
    display_name: str
    model: str
    state: str  # JOB_STATE_*
    created: datetime | None
    in_store: bool
    record_key: str | None
    input_file: str | None
    output_file: str | None
    flags: frozenset[str]
    operation: dict[str, Any] = field(compare=False, repr=False)

    is_batch = True


Row = Union[FileRow, BatchRow]


@dataclass
class Summary:
    files: int = 0
    batches: int = 0
    bytes_used: int = 0
    quota_bytes: int = QUOTA_BYTES
    active_jobs: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAGS, 0))


@dataclass
class Inventory:
    """Remote files and jobs with flags, as of `now`; keeps the raw listings so it can be re-classified."""

    files: list[FileRow]
    batches: list[BatchRow]
    summary: Summary
    now: datetime
    remote_files: list[dict[str, Any]] = field(default_factory=list, repr=False)
    remote_batches: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def rows(self) -> list[Row]:
        return [*self.batches, *self.files]

    def by_name(self) -> dict[str, Row]:
        return {row.name: row for row in self.rows()}

    def names(self) -> set[str]:
        return {row.name for row in self.rows()}

    def flagged(self, flag: str) -> list[Row]:
        return [row for row in self.rows() if flag in row.flags]


def _job_active(state: str) -> bool:
    """Pending, running, being submitted, or any state we do not know that is not final."""
    return state == LOCAL_SUBMITTING or (state.startswith("JOB_STATE_") and not is_final(state))


def _record_active(record: Record) -> bool:
    state = record_state(record)
    if batch_name(record):
        return not is_final(state) and not (record.get("remote_deleted") or {}).get("batch")
    return state == LOCAL_SUBMITTING


def _unsaved_results(record: Record) -> bool:
    return record_state(record) == SUCCEEDED and not results_safe(record)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def classify(
    remote_files: list[dict[str, Any]],
    remote_batches: list[dict[str, Any]],
    records: list[Record],
    now: datetime,
) -> Inventory:
    """Flag every remote file and job against the store (see the flag constants for their meaning)."""
    safe_targets = {a.target for a in plan_cleanup(records).actions}
    by_batch: dict[str, Record] = {}
    links: dict[str, tuple[Record, str]] = {}
    media_users: dict[str, tuple[Record, bool]] = {}  # media file name -> (record that names it, record active)
    # Earlier attempts of retried parts: name -> (record, role, that attempt's batch). They are not orphans, but
    # rows get no record_key: a deletion must go through clean-up's per-attempt actions, never mark the current one.
    earlier: dict[str, tuple[Record, str, str]] = {}
    for rec in records:
        name = batch_name(rec)
        if name:
            by_batch.setdefault(name, rec)
        if rec.get("uploaded_file_name"):
            links.setdefault(str(rec["uploaded_file_name"]), (rec, "input"))
        dest = ((rec.get("batch") or {}).get("dest") or {}).get("file_name")
        if dest:
            links.setdefault(str(dest), (rec, "output"))
        for attempt in rec.get("previous_attempts") or []:  # a retried part's earlier jobs and files
            if isinstance(attempt, dict):
                prior = attempt.get("batch") if isinstance(attempt.get("batch"), dict) else {}
                for target, role in ((prior.get("name"), "batch"), (attempt.get("uploaded_file_name"), "input"),
                                     ((prior.get("dest") or {}).get("file_name"), "output")):
                    if target:
                        earlier.setdefault(str(target), (rec, role, str(prior.get("name") or "")))
        names = rec.get("media_file_names")
        if isinstance(names, list) and names:
            active = _record_active(rec)
            for media_name in names:  # shared through the cache: the active job wins, else the latest
                prev = media_users.get(str(media_name))
                if prev is None or active or not prev[1]:
                    media_users[str(media_name)] = (rec, active)
    snaps = [snapshot_from_operation(op) for op in remote_batches]
    remote_links: dict[str, tuple[Any, str]] = {}
    for snap in snaps:
        if snap.input_file_name:
            remote_links.setdefault(snap.input_file_name, (snap, "input"))
        if snap.dest_file_name:
            remote_links.setdefault(snap.dest_file_name, (snap, "output"))
    file_names = {str(f.get("name") or "") for f in remote_files}
    summary = Summary(files=len(remote_files), batches=len(remote_batches))

    batches: list[BatchRow] = []
    for op, snap in zip(remote_batches, snaps):
        rec = by_batch.get(snap.name)
        flags: set[str] = set()
        created = parse_time(snap.create_time)
        if _job_active(snap.state) or (rec is not None and _record_active(rec)):
            flags.add(ACTIVE)
            summary.active_jobs += 1
            if created is not None and created + FILE_LIFETIME - now <= EXPIRING_WITHIN:
                flags.add(EXPIRING)
        if rec is None and snap.name not in earlier:
            flags.add(ORPHAN)
            if snap.state == SUCCEEDED and snap.dest_file_name in file_names:
                flags.add(PROTECTED)
        elif rec is not None and _unsaved_results(rec):
            flags.add(PROTECTED)
        if snap.name in safe_targets:
            flags.add(SAFE)
        batches.append(
            BatchRow(
                name=snap.name,
                display_name=str(snap.display_name or ""),
                model=str(snap.model or ""),
                state=snap.state,
                created=created,
                in_store=rec is not None or snap.name in earlier,
                record_key=record_key(rec) if rec is not None else None,
                input_file=snap.input_file_name,
                output_file=snap.dest_file_name,
                flags=frozenset(flags),
                operation=op,
            )
        )

    files: list[FileRow] = []
    for raw in remote_files:
        name = str(raw.get("name") or "")
        source = str(raw.get("source") or "").lower()
        rec, role = links.get(name, (None, ""))
        remote = remote_links.get(name)
        if not role:
            role = remote[1] if remote else ("output" if source == "generated" else "input" if source == "uploaded" else "")
        flags = set()
        user = media_users.get(name) if rec is None else None
        if user is not None:
            # Media is not the job's own input: no record_key (deleting it must not mark the job's input deleted),
            # never protected or orphan, never in the safe set (later jobs reuse it; it expires on its own).
            role, job_name, label = "media", batch_name(user[0]), display_name(user[0])
            if user[1]:
                flags.add(ACTIVE)
        elif rec is None and name in earlier:
            first, role, job_name = earlier[name]
            label = f"{display_name(first)} (earlier attempt)"
        elif rec is not None:
            job_name, label = batch_name(rec), display_name(rec)
            if _record_active(rec):
                flags.add(ACTIVE)
            if _unsaved_results(rec):
                flags.add(PROTECTED)
        else:
            flags.add(ORPHAN)
            job_name, label = (remote[0].name, remote[0].display_name or remote[0].name) if remote else (None, "")
            if source == "generated" or (remote and role == "output" and remote[0].state == SUCCEEDED):
                flags.add(PROTECTED)
        if remote is not None and _job_active(remote[0].state):
            flags.add(ACTIVE)
        if name in safe_targets:
            flags.add(SAFE)
        expires = parse_time(raw.get("expirationTime"))
        if expires is not None and expires - now <= EXPIRING_WITHIN:
            flags.add(EXPIRING)
        size = _int(raw.get("sizeBytes"))
        summary.bytes_used += size
        files.append(
            FileRow(
                name=name,
                display_name=str(raw.get("displayName") or ""),
                size_bytes=size,
                created=parse_time(raw.get("createTime")),
                expires=expires,
                state=str(raw.get("state") or ""),
                source=source,
                role=role,
                record_key=record_key(rec) if rec is not None else None,
                job_name=job_name,
                job_label=str(label or ""),
                flags=frozenset(flags),
            )
        )
    for row in [*batches, *files]:
        for flag in row.flags:
            summary.counts[flag] += 1
    return Inventory(files, batches, summary, now, list(remote_files), list(remote_batches))


# ----------------------------------------------------------------------------- what to delete
def safe_actions(inventory: Inventory, records: list[Record]) -> list[Action]:
    """The clean-up set: exactly `plan_cleanup(records)`, restricted to what exists remotely."""
    present = inventory.names()
    return [a for a in plan_cleanup(records).actions if a.target in present]


def actions_for(
    rows: Iterable[Row],
    records: list[Record],
    *,
    allow_protected: Iterable[str] = (),
) -> DeletePlan:
    """Deletions for the chosen rows. Active rows are always refused; protected rows unless named in
    `allow_protected` (the user confirmed that risk). Rows in the safe set use clean-up's own actions."""
    allowed = set(allow_protected)
    planned = {a.target: a for a in plan_cleanup(records).actions}
    by_key = {record_key(r): r for r in records}
    plan = DeletePlan()
    for row in sorted(rows, key=lambda r: (not r.is_batch, r.name)):
        if ACTIVE in row.flags:
            plan.refused.append(f"{row.name}: in use by a pending or running job; cancel the job first")
            continue
        if PROTECTED in row.flags and row.name not in allowed:
            plan.refused.append(f"{row.name}: holds results that are not downloaded; kept")
            continue
        if row.name in planned:
            plan.actions.append(planned[row.name])
            continue
        rec = by_key.get(row.record_key or "")
        label = display_name(rec) if rec is not None else (row.display_name or "not in the store")
        if isinstance(row, BatchRow):
            kind = "batch"
        else:
            kind = row.role if row.role in ("input", "output") else ("output" if row.source == "generated" else "input")
        plan.actions.append(Action(kind, row.name, row.record_key or "", label))
    return plan


@dataclass
class DeleteReport:
    """What a deletion did: one result per item, what was kept instead, and the inventory afterwards."""

    results: list[ActionResult]
    refused: list[str]
    inventory: Inventory
    records: list[Record]


def delete_rows(
    service: BatchService,
    inventory: Inventory,
    names: Iterable[str],
    now: Callable[[], datetime],
    *,
    allow_protected: Iterable[str] = (),
    progress: Callable[[int, int, str], None] | None = None,
) -> DeleteReport:
    """Delete the rows called `names`, one item at a time through `cleanup.execute` (the CLI's code path).

    The rows are flagged again against the store as it is now, so a job that became active or protected
    since the user looked is refused rather than deleted. One failure does not stop the others.
    """
    fresh = service.store.read_all()
    by_name = classify(inventory.remote_files, inventory.remote_batches, fresh, now()).by_name()
    plan = actions_for([by_name[n] for n in names if n in by_name], fresh, allow_protected=allow_protected)
    results: list[ActionResult] = []
    for i, action in enumerate(plan.actions, start=1):
        if progress is not None:
            progress(i, len(plan.actions), action.target)
        try:
            results.extend(execute(service, [action]))
        except (ServiceError, StoreError, OSError) as exc:  # the store could not record it: still per item
            results.append(ActionResult(action, False, str(exc)))
    gone = {r.action.target for r in results if r.ok}
    records = service.store.read_all()
    after = classify([f for f in inventory.remote_files if f.get("name") not in gone],
                     [b for b in inventory.remote_batches if b.get("name") not in gone], records, now())
    return DeleteReport(results, plan.refused, after, records)


def list_inventory(
    service: BatchService,
    now: Callable[[], datetime],
    *,
    progress: PageProgress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Inventory, list[Record]]:
    """List both collections (blocking: call it from a worker), then flag them against the store."""
    files = fetch_remote(service.client, "files", progress=progress, cancel=cancel)
    batches = fetch_remote(service.client, "batches", progress=progress, cancel=cancel)
    records = service.store.read_all()
    return classify(files, batches, records, now()), records


def risk_of(row: Row) -> str:
    """What is lost if a protected row is deleted (rows with the same risk are listed together)."""
    if isinstance(row, FileRow) and row.role == "output":
        return "the only copy of results that are not downloaded"
    if isinstance(row, BatchRow) and not row.in_store:
        return "finished jobs whose results nobody here has downloaded"
    return "part of a job whose results are not downloaded yet; deleting it stops their download"


# ----------------------------------------------------------------------------- adopt and cancel
def adopt(service: BatchService, operation: dict[str, Any]) -> Record:
    """Add a remote job that is not in the store, so it is polled and its results are fetched.

    The record has no `input_file` (we do not know where the input came from); its results go to
    `service.results_target`, i.e. the fallback results dir named after the batch id.
    """
    snap = snapshot_from_operation(operation)
    if not snap.name:
        raise ServiceError("cannot adopt a job without a name")
    stats = snap.stats or {}
    record: Record = {
        "batch": snap.to_batch_dict(),
        "count": int(stats.get("request_count") or 0),
        "display_name": snap.display_name or batch_id(snap.name),
        "adopted": True,
        "adopted_at": now_iso(),
    }
    if snap.model:
        record["model"] = snap.model
    if snap.input_file_name:
        record["uploaded_file_name"] = snap.input_file_name
    if snap.error and snap.error.get("message"):
        record["error"] = str(snap.error["message"])
    return service.store.add(record)


@dataclass
class CancelOutcome:
    name: str
    ok: bool
    state: str = ""
    message: str = ""


def cancel_all_active(service: BatchService, operations: list[dict[str, Any]] | None = None) -> list[CancelOutcome]:
    """Cancel every pending or running remote job (listed afresh unless `operations` is given), in the store
    or not; one failure does not stop the others. Jobs in the store get their new state recorded."""
    ops = operations if operations is not None else list(service.client.iter_batches(PAGE_SIZE))
    known = {batch_name(r): r for r in service.store.read_all() if batch_name(r)}
    outcomes: list[CancelOutcome] = []
    changes: dict[str, Callable[[Record], None]] = {}
    for op in ops:
        snap = snapshot_from_operation(op)
        if not snap.name or not _job_active(snap.state):
            continue
        try:
            service.client.cancel_batch(snap.name)
        except ServiceError as exc:
            outcomes.append(CancelOutcome(snap.name, False, snap.state, str(exc)))
            continue
        try:
            snap = service.client.get_batch(snap.name)
        except ServiceError as exc:
            outcomes.append(CancelOutcome(snap.name, True, snap.state, f"cancel requested; state not re-read: {exc}"))
            continue
        outcomes.append(CancelOutcome(snap.name, True, normalise_state(snap.state)))
        rec = known.get(snap.name)
        if rec is not None:
            changes[record_key(rec)] = _cancelled(snap)
    if changes:
        service.store.update_many(changes)
    return outcomes


def _cancelled(snap: Any) -> Callable[[Record], None]:
    def apply(rec: Record) -> None:
        rec["batch"] = snap.to_batch_dict(rec.get("batch"))
        rec["cancelled_at"] = now_iso()

    return apply


__all__ = [
    "ACTIVE", "EXPIRING", "FLAGS", "ORPHAN", "PROTECTED", "SAFE", "BatchRow", "CancelOutcome", "DeleteReport",
    "FileRow", "Inventory", "Row", "Summary", "actions_for", "adopt", "cancel_all_active", "classify",
    "delete_rows", "fetch_remote", "list_inventory",
    "risk_of", "safe_actions",
]
