"""Provides one poll pass: refresh every unfinished job concurrently, then fetch new results safely.

Why: a sequential loop of `batches.get` takes N x latency; a bounded pool takes N / width x latency, and
with many unfinished jobs `batches.list` reads 100 a call (400 jobs: 4 calls, not 400; pages of up to 1,000 where
thousands are wanted and the service serves them), light on the wire and
on the quota. The same job is never polled twice at once (the service keeps an in-flight set), and all state changes
of a pass land in the store in one locked write. Results are streamed to a hidden partial file,
verified, and only then renamed into place, so a file that looks complete is complete.

After the refresh, queued records are submitted as the enqueued-token budget allows (waves.py: each one
submitted shows up as a state change QUEUED -> PENDING); after the downloads, groups whose parts all have
their results are merged into one results file (merge.py), reported like a download. Last, the `on_finish` hook
runs for the jobs this pass (or another poller's) saw finish (finish_hooks.py).

With several API keys (core/keys.py) the service names one service per key set (`poll_views`, each reading only
its key's jobs): the pass runs over each, so no job is asked about with a key that cannot see it (that would
answer 404 and, twice, mark it missing); jobs of a key that is not set are counted in `other_key`, untouched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from gembatch_tui.core import keys
from gembatch_tui.core.poll import finish_hooks, inline_results, missing_jobs, schedule as poll_schedule
from gembatch_tui.core.submit import waves
from gembatch_tui.core.poll.download import DownloadOutcome, DownloadProgress, download_results
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.api.gemini import BIG_PAGE, snapshot_from_operation
from gembatch_tui.core.models import (
    LOCAL_MISSING,
    LOCAL_QUEUED,
    PENDING,
    BatchSnapshot,
    Record,
    batch_name,
    display_name,
    is_final,
    is_realtime,
    needs_download,
    now_iso,
    record_key,
    record_state,
)
from gembatch_tui.core.submit.service import BatchService

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
    hooks: list[finish_hooks.HookRun] = field(default_factory=list)  # on_finish runs; never a failed pass
    other_key: int = 0  # unfinished jobs of a key that is not set (core/keys.py): not asked about, left as they are

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(not d.ok for d in self.downloads)


def needs_poll(record: Record) -> bool:
    gone = record.get("remote_deleted")
    job_gone = isinstance(gone, dict) and gone.get("batch")
    if is_realtime(record):  # its run writes its state: the batch API knows nothing of it
        return False
    return bool(batch_name(record)) and not is_final(record_state(record)) and not job_gone


def poll_once(
    service: BatchService,
    *,
    download: bool = True,
    progress: DownloadProgress | None = None,
    cancel: threading.Event | None = None,
    only: frozenset[str] | None = None,
    force: bool = False,
) -> PollReport:
    """One pass over every key's jobs with that key (`service.poll_views`, see the module docstring), or over
    `service` alone when it names none; the `on_finish` hook runs once, after all of them."""
    views: list[BatchService] = list(getattr(service, "poll_views", None) or [])
    if not views:
        return _pass(service, download=download, progress=progress, cancel=cancel, only=only, force=force)
    report = PollReport()
    failed: list[str] = []
    for view in views:
        if cancel is not None and cancel.is_set():
            break
        one = _pass(view, download=download, progress=progress, cancel=cancel, only=only, force=force, hooks=False)
        report.polled += one.polled
        report.listed += one.listed
        report.changes += one.changes
        report.downloads += one.downloads
        report.errors += one.errors
        report.notes += one.notes
        report.active += one.active
        report.queued += one.queued
        report.deferred += one.deferred
        failed += [d.key for d in one.downloads if not d.ok]
    seen = [v.store for v in views]
    others = [r for r in service.store.read_all() if (needs_poll(r) or waves.is_queued(r))
              and (only is None or record_key(r) in only)
              and not any(keys.belongs(r, s.key_print, s.is_default) for s in seen if isinstance(s, keys.OwnedStore))]
    report.other_key = len(others)
    if others:
        report.notes.append(f"{len(others)} unfinished job(s) of an API key that is not set: not polled")
    report.hooks = finish_hooks.run_due(service, only=only, failed_downloads=failed)
    return report


def _pass(
    service: BatchService,
    *,
    download: bool = True,
    progress: DownloadProgress | None = None,
    cancel: threading.Event | None = None,
    only: frozenset[str] | None = None,
    force: bool = False,
    hooks: bool = True,
) -> PollReport:
    """One pass: refresh unfinished jobs, submit queued ones the budget allows, download finished results.

    A routine pass asks only about the jobs that are due (poll_schedule.py: young ones every pass, older ones
    less often, none less than every 10 minutes); `force` (the user asked: `r`) asks about every one.
    `only` (record keys) limits the pass to those jobs (`poll JOB...`), all of them asked about: nothing else is
    asked for or downloaded, and `active` counts only them. When one of them is queued here, the queue is sent as
    an unnamed pass sends it (in order: an earlier queued job goes first)."""
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
                changes[key] = finish_hooks.marking(service, missing_jobs.count_404(at))
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
            # a final state marks the hook due; a job without a key fingerprint is stamped as its key's (keys.py)
            changes[key] = finish_hooks.marking(service, _merge(snap, getattr(service, "key_fingerprint", None)))
        if changes:
            service.store.update_many(changes)
    finally:
        with service._in_flight_lock:
            service._in_flight.difference_update(batch_name(r) or "" for r in claimed)
    if only is None or any(waves.is_queued(r) for r in records if record_key(r) in only):
        # A queued job named here (`submit --wait` of a file queued behind the budget, `poll JOB`) is sent as any
        # pass sends it: the whole queue in its order, so it never jumps ahead of an earlier one. Without this the
        # wait went on for ever: only an unnamed pass sent the queue.
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
            from gembatch_tui.core.poll.merge import merge_ready

            report.downloads.extend(merge_ready(service, cancel=cancel))
    if hooks:
        report.hooks = finish_hooks.run_due(service, only=only,
                                            failed_downloads=[d.key for d in report.downloads if not d.ok])
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
    """Snapshots of the jobs in `todo` from batches.list: 100 jobs a call (up to BIG_PAGE where the service serves
    such pages and many are wanted) instead of one (and of the jobs named in
    `also`, when the pages read hold them: they cost nothing more, but are not looked for).

    The service lists the newest jobs first and unfinished jobs are usually recent, so this reads a page or
    two more than the jobs wanted, at most, and stops as soon as it has seen them all; whatever it did not
    see (an old job behind many newer ones) the caller gets with batches.get. A listing that fails is not an
    error of the pass: every job is then asked for by get, as before.
    """
    wanted = {batch_name(r) for r in todo} - {None}
    limit = (len(wanted) // page_size + 2) * page_size
    # Many wanted: ask for pages that hold them in few round trips (a service that serves only 100 clamps or
    # refuses, and gets 100: GeminiClient.iter_batches); the first page still holds about what is looked for.
    ask = page_size if len(wanted) <= page_size else min(BIG_PAGE, (len(wanted) // page_size + 2) * page_size)
    found: dict[str, BatchSnapshot] = {}
    bonus: dict[str, BatchSnapshot] = {}
    try:
        for seen, op in enumerate(service.client.iter_batches(ask), start=1):
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


def _merge(snap: BatchSnapshot, key_print: str | None = None) -> Callable[[Record], None]:
    def apply(rec: Record) -> None:
        if is_final(record_state(rec)) and not is_final(snap.state):
            # A job's state only moves forward: the record went final (a cancel in another worker or process)
            # after this pass read the job, so this snapshot is older than the record; the next pass reads again.
            return
        if key_print is not None and not rec.get(keys.FIELD):
            rec[keys.FIELD] = key_print  # this key sees the job: it is this key's
        rec["batch"] = snap.to_batch_dict(rec.get("batch"))
        rec["polled_at"] = now_iso()
        rec.pop("missing_polls", None)  # found again: an earlier 404 was not the job being gone
        if not isinstance(rec.get("count"), int) and snap.stats and snap.stats.get("request_count"):
            rec["count"] = snap.stats["request_count"]  # an adopted or imported job whose input is unknown
        if snap.error and snap.error.get("message"):
            rec["error"] = str(snap.error.get("message"))

    return apply
