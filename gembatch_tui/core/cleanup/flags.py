"""Provides the resource flags, the inventory rows and `classify`, which flags remote files and jobs against the store.

Why a module of its own: classification is pure (raw server listings and store records in, flagged rows out, no
client, no service), so it is the part the resources screen, the CLI and the tests all share; `core.resources`
lists, deletes, adopts and cancels on top of it. The safe set is `cleanup.plan_cleanup(records)`; every other
flag only adds warnings and refusals. No Textual, no Rich.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Union

from gembatch_tui.core.cleanup.plan import orphan_upload_actions, plan_cleanup, results_problem, results_safe
from gembatch_tui.core.api.gemini import snapshot_from_operation
from gembatch_tui.core.models import (
    LOCAL_SUBMITTING,
    SUCCEEDED,
    Record,
    batch_name,
    display_name,
    is_final,
    parse_time,
    record_key,
    record_state,
    remote_gone,
)

QUOTA_BYTES = 20 * 10**9
"""Files storage per project (20 GB)."""
MAX_CONCURRENT_JOBS = 100
EXPIRING_WITHIN = timedelta(hours=6)
FILE_LIFETIME = timedelta(hours=48)
"""Uploads are deleted 48 h after creation; a job not processed within 48 h expires."""

ACTIVE = "active"  # in use by a pending or running job
PROTECTED = "protected"  # holds results that are not downloaded (verified on disk, and unchanged since) yet
SAFE = "safe"  # in the clean-up set: finished and results verified on disk; or an orphan upload of this store
ORPHAN = "orphan"  # not known to the store
EXPIRING = "expiring"  # the server drops it (file) or expires it (job) within 6 h
FLAGS = (ACTIVE, PROTECTED, SAFE, ORPHAN, EXPIRING)


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
    reason: str = ""  # why a PROTECTED row is kept, when its job's results changed on disk since they were verified

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
    reason: str = ""  # why a PROTECTED row is kept, when its job's results changed on disk since they were verified

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
    store_tag: str | None = None  # this store's upload tag (upload_tokens.store_tag), when the lister knew it

    def rows(self) -> list[Row]:
        return [*self.batches, *self.files]

    def by_name(self) -> dict[str, Row]:
        return {row.name: row for row in self.rows()}

    def names(self) -> set[str]:
        return {row.name for row in self.rows()}

    def flagged(self, flag: str) -> list[Row]:
        return [row for row in self.rows() if flag in row.flags]


# ----------------------------------------------------------------------------- classify
def job_active(state: str) -> bool:
    """Pending, running, being submitted, or any state we do not know that is not final."""
    return state == LOCAL_SUBMITTING or (state.startswith("JOB_STATE_") and not is_final(state))


def _record_active(record: Record) -> bool:
    state = record_state(record)
    if batch_name(record):
        return not is_final(state) and not remote_gone(record).get("batch")
    return state == LOCAL_SUBMITTING


def _unsaved_results(record: Record) -> bool:
    return record_state(record) == SUCCEEDED and not results_safe(record)


def _changed(record: Record | None) -> str:
    """Why the record's verified results no longer protect its remote copy ("" when they do, or were never saved)."""
    if record is None or not record.get("results_verified"):
        return ""
    return results_problem(record) or ""


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def active_inputs(remote_batches: list[dict[str, Any]]) -> set[str]:
    """Files a remote job that is not final reads or writes (never an orphan to clean up, whoever made it)."""
    out: set[str] = set()
    for op in remote_batches:
        snap = snapshot_from_operation(op)
        if job_active(snap.state):
            out.update(n for n in (snap.input_file_name, snap.dest_file_name) if n)
    return out


def classify(
    remote_files: list[dict[str, Any]],
    remote_batches: list[dict[str, Any]],
    records: list[Record],
    now: datetime,
    *,
    store_tag: str | None = None,
) -> Inventory:
    """Flag every remote file and job against the store (see the flag constants for their meaning).

    Orphan uploads of this store (cleanup.orphan_upload_actions: our token, used by nothing) are in the safe set.
    `store_tag` names this store's uploads; without it, the tags of the tokens the records hold are used."""
    safe_targets = {a.target for a in plan_cleanup(records).actions}
    safe_targets.update(a.target for a in orphan_upload_actions(records, remote_files, store_tag=store_tag,
                                                                in_use=active_inputs(remote_batches)))
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
        if job_active(snap.state) or (rec is not None and _record_active(rec)):
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
                reason=_changed(rec) if PROTECTED in flags else "",
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
        if remote is not None and job_active(remote[0].state):
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
                reason=_changed(rec) if PROTECTED in flags else "",
            )
        )
    for row in [*batches, *files]:
        for flag in row.flags:
            summary.counts[flag] += 1
    return Inventory(files, batches, summary, now, list(remote_files), list(remote_batches), store_tag)


__all__ = [
    "ACTIVE", "EXPIRING", "EXPIRING_WITHIN", "FILE_LIFETIME", "FLAGS", "MAX_CONCURRENT_JOBS", "ORPHAN", "PROTECTED",
    "QUOTA_BYTES", "SAFE", "BatchRow", "FileRow", "Inventory", "Row", "Summary", "active_inputs", "classify",
    "job_active",
]
