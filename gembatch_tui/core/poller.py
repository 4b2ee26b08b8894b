"""Provides one poll pass: refresh every unfinished job concurrently, then fetch new results safely.

Why: a sequential loop of `batches.get` takes N x latency; a bounded pool takes N / width x latency, and
with many unfinished jobs `batches.list` reads 100 a call (400 jobs: 4 calls, not 400), light on the wire and
on the quota. The same job is never polled twice at once (the service keeps an in-flight set), and all state changes
of a pass land in the store in one locked write. Results are streamed to a hidden partial file,
verified, and only then renamed into place, so a file that looks complete is complete.

After the refresh, queued records are submitted as the enqueued-token budget allows (waves.py: each one
submitted shows up as a state change QUEUED -> PENDING); after the downloads, groups whose parts all have
their results are merged into one results file (merge.py), reported like a download.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from gembatch_tui.core import inline_results, missing_jobs, poll_schedule
from gembatch_tui.core import waves
from gembatch_tui.core.embeddings import describe as describe_embeddings
from gembatch_tui.core.embeddings import summarise_embeddings
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.core.fsutil import place_beside
from gembatch_tui.core.gemini import snapshot_from_operation
from gembatch_tui.core.models import (
    LOCAL_MISSING,
    LOCAL_QUEUED,
    PENDING,
    SUCCEEDED,
    BatchSnapshot,
    Record,
    batch_id,
    batch_name,
    dest_file_name,
    display_name,
    is_final,
    record_state,
    record_stats,
)
from gembatch_tui.core.models import now_iso
from gembatch_tui.core.service import BatchService
from gembatch_tui.core.store import record_key

DownloadProgress = Callable[[str, int, int], None]
LIST_FROM = 8
"""With this many unfinished jobs or more, a pass reads them with batches.list (LIST_PAGE a call)."""
LIST_PAGE = 100


@dataclass
class StateChange:
    key: str
    name: str
    label: str
    old: str
    new: str


@dataclass
class DownloadOutcome:
    key: str
    name: str
    ok: bool
    path: Path | None = None
    message: str = ""
    busy: bool = False  # another process was downloading it: not a failure, the next pass sees its result


@dataclass
class PollReport:
    polled: int = 0
    listed: int = 0  # of `polled`, how many were read from batches.list rather than one get each
    changes: list[StateChange] = field(default_factory=list)
    downloads: list[DownloadOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    active: int = 0  # jobs not final yet, counting queued ones
    queued: int = 0  # records waiting locally (budget or 429 backoff)
    deferred: int = 0  # unfinished jobs not due this pass (poll_schedule.py), so not asked about

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(not d.ok for d in self.downloads)


def needs_poll(record: Record) -> bool:
    gone = record.get("remote_deleted")
    job_gone = isinstance(gone, dict) and gone.get("batch")
    return bool(batch_name(record)) and not is_final(record_state(record)) and not job_gone


def needs_download(record: Record) -> bool:
    gone = record.get("remote_deleted")
    # Deleting the uploaded input or the job does not delete the output; only a deleted output is gone.
    if record_state(record) != SUCCEEDED or (isinstance(gone, dict) and gone.get("output")):
        return False
    if not dest_file_name(record):
        return False
    path = record.get("results_file")
    return not (path and record.get("results_verified") and Path(path).is_file())


def poll_once(
    service: BatchService,
    *,
    download: bool = True,
    progress: DownloadProgress | None = None,
    cancel: threading.Event | None = None,
    only: frozenset[str] | None = None,
    force: bool = False,
) -> PollReport:
    """One pass: refresh unfinished jobs, submit queued ones the budget allows, download finished results.

    A routine pass asks only about the jobs that are due (poll_schedule.py: young ones every pass, older ones
    less often, none less than every 10 minutes); `force` (the user asked: `r`) asks about every one.
    `only` (record keys) limits the pass to those jobs (`poll JOB...`), all of them asked about: nothing else is
    asked for, downloaded or submitted from the queue, and `active` counts only them."""
    report = PollReport()
    try:
        report.notes.extend(service.recover_interrupted())
    except ServiceError as exc:
        report.errors.append(str(exc))
    records = service.store.read_all()
    unfinished = [r for r in records if needs_poll(r) and (only is None or record_key(r) in only)]
    if force or only is not None:
        todo = unfinished
    else:
        now = time.time()
        todo = [r for r in unfinished if poll_schedule.is_due(r, now)]
    with service._in_flight_lock:
        todo = [r for r in todo if batch_name(r) not in service._in_flight]
        service._in_flight.update(batch_name(r) or "" for r in todo)
        claimed = list(todo)
        asked = {batch_name(r) for r in todo}
        # Not due, but free when a listing page holds them anyway.
        spare = {batch_name(r) or "": r for r in unfinished
                 if batch_name(r) not in asked and batch_name(r) not in service._in_flight}
    report.deferred = len(unfinished) - len(todo)
    snapshots: dict[str, BatchSnapshot] = {}
    try:
        listed = _list_snapshots(service, todo, also=frozenset(spare)) if len(todo) >= LIST_FROM else {}
        rest = [r for r in todo if batch_name(r) not in listed]
        for rec in todo:
            if batch_name(rec) in listed:
                snapshots[record_key(rec)] = listed[batch_name(rec) or ""]
        bonus = [spare[name] for name in listed if name in spare]
        for rec in bonus:
            snapshots[record_key(rec)] = listed[batch_name(rec) or ""]
        report.deferred -= len(bonus)
        todo = todo + bonus
        not_found: dict[str, str] = {}
        if rest:
            width = max(1, min(service.max_parallel_polls, len(rest)))
            with ThreadPoolExecutor(max_workers=width, thread_name_prefix="poll") as pool:
                futures = {record_key(r): pool.submit(service.client.get_batch, batch_name(r) or "") for r in rest}
                for key, fut in futures.items():
                    try:
                        snapshots[key] = fut.result()
                    except ServiceError as exc:
                        if exc.code == 404:
                            not_found[key] = str(exc)
                        else:
                            report.errors.append(str(exc))
        report.listed = len(listed)
        report.polled = len(todo)
        by_key = {record_key(r): r for r in todo}
        changes: dict[str, Callable[[Record], None]] = {}
        if not_found and (snapshots or missing_jobs.service_answers(service.client)):
            at = now_iso()
            for key in not_found:
                old = by_key[key]
                changes[key] = missing_jobs.count_404(at)
                if missing_jobs.becomes_missing(old):
                    report.changes.append(
                        StateChange(key, batch_name(old) or key, display_name(old), record_state(old), LOCAL_MISSING))
                else:
                    report.notes.append(f"{batch_name(old)}: not found on the server; marked missing if it stays so")
        else:
            report.errors.extend(not_found.values())  # the service answers nothing: not about these jobs
        for key, snap in snapshots.items():
            old = by_key[key]
            old_state = record_state(old)
            if snap.state != old_state:
                report.changes.append(
                    StateChange(key, snap.name, display_name(old), old_state, snap.state)
                )
            changes[key] = _merge(snap)
        if changes:
            service.store.update_many(changes)
    finally:
        with service._in_flight_lock:
            service._in_flight.difference_update(batch_name(r) or "" for r in claimed)
    if only is None:
        _submit_queued(service, report, cancel)
    fresh = service.store.read_all()
    if only is not None:
        fresh = [r for r in fresh if record_key(r) in only]
    report.queued = sum(1 for r in fresh if waves.is_queued(r))
    report.active = sum(1 for r in fresh if needs_poll(r)) + report.queued
    if download:
        for rec in fresh:
            if cancel is not None and cancel.is_set():
                break
            if needs_download(rec) or inline_results.needs_results(rec):  # an inline job: its answers are saved
                outcome = download_results(service, rec, progress=progress, cancel=cancel)
                if outcome.busy:
                    report.notes.append(outcome.message)
                else:
                    report.downloads.append(outcome)
        if any(r.get("group_id") for r in fresh):
            from gembatch_tui.core.merge import merge_ready

            report.downloads.extend(merge_ready(service, cancel=cancel))
    return report


def _submit_queued(service: BatchService, report: PollReport, cancel: threading.Event | None) -> None:
    """The next wave: queued records that now fit the budget (their own errors do not stop the pass)."""
    try:
        tried = waves.dispatch_queued(service, cancel=cancel)
    except ServiceError as exc:
        report.errors.append(str(exc))
        return
    for rec, outcome in tried:
        label = display_name(rec)
        if outcome.status == "submitted":
            new = outcome.state or PENDING
            report.changes.append(StateChange(record_key(rec), outcome.batch_name or "", label, LOCAL_QUEUED, new))
        elif outcome.status == "queued":
            report.notes.append(f"{label}: still queued: {outcome.message}")
        elif outcome.status == "error":
            report.errors.append(f"{label}: {outcome.message}")


def _list_snapshots(
    service: BatchService, todo: list[Record], page_size: int = LIST_PAGE, *, also: frozenset[str] = frozenset()
) -> dict[str, BatchSnapshot]:
    """Snapshots of the jobs in `todo` from batches.list: 100 jobs a call instead of one (and of the jobs named in
    `also`, when the pages read hold them: they cost nothing more, but are not looked for).

    The service lists the newest jobs first and unfinished jobs are usually recent, so this reads a page or
    two more than the jobs wanted, at most, and stops as soon as it has seen them all; whatever it did not
    see (an old job behind many newer ones) the caller gets with batches.get. A listing that fails is not an
    error of the pass: every job is then asked for by get, as before.
    """
    wanted = {batch_name(r) for r in todo} - {None}
    limit = (len(wanted) // page_size + 2) * page_size
    found: dict[str, BatchSnapshot] = {}
    bonus: dict[str, BatchSnapshot] = {}
    try:
        for seen, op in enumerate(service.client.iter_batches(page_size), start=1):
            name = op.get("name")
            if name in wanted and name not in found:
                found[name] = snapshot_from_operation(op)
            elif name in also and name not in bonus:
                bonus[name] = snapshot_from_operation(op)
            if len(found) == len(wanted) or seen >= limit:  # stop before the next page is asked for
                break
    except (ServiceError, ValueError, TypeError, AttributeError):
        return {**bonus, **found}
    return {**bonus, **found}


def _merge(snap: BatchSnapshot) -> Callable[[Record], None]:
    def apply(rec: Record) -> None:
        rec["batch"] = snap.to_batch_dict(rec.get("batch"))
        rec["polled_at"] = now_iso()
        rec.pop("missing_polls", None)  # found again: an earlier 404 was not the job being gone
        if not isinstance(rec.get("count"), int) and snap.stats and snap.stats.get("request_count"):
            rec["count"] = snap.stats["request_count"]  # an adopted or imported job whose input is unknown
        if snap.error and snap.error.get("message"):
            rec["error"] = str(snap.error.get("message"))

    return apply


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
    lock_dir = service.store.path.parent / ".downloads"
    try:
        lock_dir.mkdir(mode=0o700, exist_ok=True)
        lock = FileLock(str(lock_dir / f"{batch_id(name).replace('/', '_')}.lock"), timeout=0)
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
    from gembatch_tui.core import download_lock
    from gembatch_tui.core.results_stream import StreamVerifier

    download_lock.sweep_for_download(service, record)  # what a killed download of this job left behind
    key = record_key(record)
    name = batch_name(record) or key
    dest_name = dest_file_name(record)
    from gembatch_tui import paths

    computed = service.results_target(record)
    # A re-download replaces this job's own file, and only that, and only where we write now: a record's
    # results_file anywhere else (imported, or a damaged store) is never a reason to write there.
    own = paths.own_results_file(record.get("results_file"), computed)
    ours = own is not None
    target = own or computed
    # Another job's results (an input of the same name, or a shared --results-dir) are never replaced:
    # this job's go beside them, named after its batch id (from the server: made one harmless name).
    tag = paths.safe_component(name.split("/")[-1], "batch")[:12]
    alternative = target.with_name(f"{target.stem}.{tag}{target.suffix}")
    if target.exists() and not ours:
        target = alternative
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _download_failed(service, key, name, f"{target.parent}: cannot create results directory: {exc.strerror}")
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    size = 0
    try:
        meta = service.client.get_file(dest_name)
        size = int(meta.get("sizeBytes") or 0)
    except (ServiceError, ValueError):
        pass
    stats = record_stats(record)
    expected = stats["request_count"] or None
    input_file = record.get("input_file")
    input_path = Path(input_file) if input_file and Path(input_file).is_file() else None
    embed = record.get("kind") == "embed"
    try:
        # Verified, counted and fingerprinted while the bytes arrive, in one pass (results_stream.py).
        with StreamVerifier(input_path, expected_count=expected, usage=not embed) as verifier:
            service.client.download(
                dest_name,
                partial,
                total=size,
                progress=(lambda done, total: progress(name, done, total)) if progress else None,
                cancel=cancel,
                sink=verifier.feed,
            )
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
        rec["results_file"] = str(target)
        rec["results_verified"] = True
        rec["downloaded_at"] = now_iso()
        rec["results_check"] = {**check.record_fields(), **embedded}
        # What was verified, so nothing deletes the remote copy once the local file has changed (cleanup.py).
        for stale in ("results_bytes", "results_sha256"):
            rec.pop(stale, None)
        rec.update(fingerprint.fields())  # of the bytes written and checked, hashed as they arrived
        if usage is not None:
            stat = target.stat()
            usage.source_size, usage.source_mtime_ns = stat.st_size, stat.st_mtime_ns
            rec["usage"] = usage.to_dict()
        rec.pop("results_error", None)

    service.store.update(key, apply)
    summary = check.summary()
    vectors = describe_embeddings(embedded)
    return DownloadOutcome(key, name, True, path=target, message=f"{summary}; {vectors}" if vectors else summary)


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
