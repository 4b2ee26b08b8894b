"""Provides BatchService: the one code path the CLI and the TUI workers use for every job operation.

Submission is crash-safe: a local record is written before anything is created remotely, the
uploaded file name is recorded before `batches.create`, and an interrupted submission is found
again (by its uploaded file) instead of being created twice.

A record may also wait locally (`local_state: "queued"`, see waves.py): when its estimated tokens do not fit the
model's enqueued-token budget yet, or after a 429 at create (then with `retry_after`). Whoever submits a queued
record first claims it (queued -> submitting, under the store lock), so two pollers never submit it twice.
An input over a per-job limit becomes a group of parts (groups.py), each an ordinary record. The create itself,
and how a lost answer is resolved by looking, live in create.py; a big input is validated while it is uploaded
(overlap.py).

The spending cap (`max_cost_usd`, else the config's) is held here, once, for every front end: a file whose high
cost estimate is over it is refused (cost_cap.CapRefused) after validation and before anything is uploaded,
split or queued; a split input is estimated whole, so the waves never queue past it.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gembatch_tui.core import child_process, paths
from gembatch_tui.core.submit import cost_cap, create, overlap, split, waves
from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.submit import validate as validation
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.core.api.gemini import GeminiClient, Progress
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.media_cache import CACHE_NAME, MediaCache
from gembatch_tui.core.submit.media_remote import WaitPolicy
from gembatch_tui.core.submit.media_upload import prepare_upload
from gembatch_tui.core.models import (
    CANCELLED,
    EXPIRED,
    FAILED,
    LOCAL_SUBMITTING,
    LOCAL_SUBMIT_FAILED,
    SUCCEEDED,
    Record,
    batch_id,
    batch_name,
    now_iso,
    record_key,
    record_state,
    record_stats,
    records_by_id_prefix,
    short_prefix_problem,
)
from gembatch_tui.core.submit.outcome import SubmitOutcome
from gembatch_tui.core.api.pricing import ConfigError
from gembatch_tui.core.store import AlreadySubmitted, JobStore, new_record_id

# States whose record does not block submitting the same file again.
RESUBMITTABLE = frozenset({FAILED, CANCELLED, EXPIRED, LOCAL_SUBMIT_FAILED})


def answered_nothing(record: Record) -> bool:
    """A job (or real-time run) that ended with every request failed: sending its file again duplicates nothing
    that was answered, so it does not count as a live submission of that file."""
    if record_state(record) != SUCCEEDED:
        return False
    stats = record_stats(record)
    return stats["successful_request_count"] == 0 and stats["failed_request_count"] > 0


class BatchService:
    """Jobs in the store plus the remote service. Every method blocks: run it in a worker thread."""

    def __init__(
        self,
        store: JobStore,
        client: GeminiClient,
        *,
        results_dir: Path | None = None,
        demo: bool = False,
        max_parallel_polls: int = 32,
        clock: Callable[[], float] = time.time,
        limits: JobLimits | None = None,
        media_cache: MediaCache | None = None,
        media_wait_s: float = 600.0,
        overlap_min_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.results_dir = results_dir
        self.demo = demo
        self.max_parallel_polls = max_parallel_polls
        self.clock = clock
        self._limits = limits
        self._media_cache = media_cache
        self.media_wait_s = media_wait_s
        """How long a submission waits for media the Files API is still processing (config `media_wait_seconds`)."""
        self.overlap_min_bytes = overlap.MIN_BYTES if overlap_min_bytes is None else overlap_min_bytes
        """Inputs from this size on are uploaded while they are validated (overlap.py)."""
        self.config_problem: str | None = None
        self._cost_policy: cost_cap.CostPolicy | None = None
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()
        self._known_models: set[str] = set()
        """Models models.get has answered for (refuse_unknown_model asks once each)."""

    @property
    def limits(self) -> JobLimits:
        """Given to the constructor (or set), else read once from the config file; a bad one gives defaults."""
        if self._limits is None:
            try:
                self._limits = JobLimits.load(paths.config_file())
            except ConfigError as exc:
                self.config_problem = str(exc)
                self._limits = JobLimits()
        return self._limits

    @limits.setter
    def limits(self, value: JobLimits) -> None:
        self._limits = value

    @property
    def cost_policy(self) -> cost_cap.CostPolicy:
        """The config's cap, prices and output assumptions: set by the caller (from its settings), else read once
        from the config file. Raises ConfigError for a bad file (then nothing is submitted: see submit)."""
        if self._cost_policy is None:
            self._cost_policy = cost_cap.CostPolicy.load(paths.config_file())
        return self._cost_policy

    @cost_policy.setter
    def cost_policy(self, value: cost_cap.CostPolicy) -> None:
        self._cost_policy = value

    @property
    def media_cache(self) -> MediaCache:
        if self._media_cache is None:
            self._media_cache = MediaCache(paths.cache_dir() / CACHE_NAME, clock=self.clock)
        return self._media_cache

    def parts_root(self) -> Path:
        """Where split inputs are written: `parts/` beside the store (the private data dir by default)."""
        return self.store.path.parent / "parts"

    # ----------------------------------------------------------------- lookup
    def resolve(self, ref: str) -> Record:
        """A JOB argument: `batches/ID`, the bare ID, a local record id, an input file path, or a unique start of
        at least MIN_PREFIX (core/models.py) characters of the id as `list` prints it (the same in every command)."""
        records = self.store.read_all()
        ref = ref.strip()
        wanted = ref if ref.startswith("batches/") else f"batches/{ref}"
        for rec in records:
            if batch_name(rec) in (wanted, ref) or record_key(rec) == ref:  # ref: also a realtime/ID
                return rec
        as_path = str(Path(ref).expanduser().absolute())
        matches = [rec for rec in records if as_path in (rec.get("input_file"), rec.get("group_input_file"))]
        if len(matches) > 1:  # a failed submission of the file does not make its live job ambiguous
            live = [rec for rec in matches if record_state(rec) != LOCAL_SUBMIT_FAILED]
            matches = live if live else matches
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(batch_name(m) or record_key(m) for m in matches)
            raise ServiceError(f"{ref}: matches {len(matches)} jobs ({names}); name the batch instead")
        prefixed = records_by_id_prefix(records, ref)
        if len(prefixed) == 1:
            return prefixed[0]
        if len(prefixed) > 1:
            names = ", ".join(batch_name(m) or record_key(m) for m in prefixed[:5])
            raise ServiceError(f"{ref}: the start of {len(prefixed)} jobs ({names}); give more of the id")
        raise ServiceError(short_prefix_problem(records, ref) or f"{ref}: no such job in {self.store.path}")

    def results_target(self, record: Record) -> Path:
        """Where this job's results go: `--results-dir`, the input's `results/` (a part's own, beside the part) or
        the data dir fallback. The file name comes from the record or the server (an adopted job's batch name),
        so it is made one harmless component (`paths.safe_component`): a `../` in it cannot lead elsewhere."""
        input_file = record.get("input_file")
        if not isinstance(input_file, str):
            input_file = None
        if input_file and record.get("group_id"):  # a part's own results stay beside the part
            part = Path(input_file)
            return part.parent / "results" / paths.safe_component(part.name, "results.jsonl")
        if input_file:
            return paths.results_path_for(input_file, self.results_dir, self.demo)
        name = batch_name(record) or record_key(record)
        fallback = self.results_dir or paths.fallback_results_dir(self.demo)
        return Path(fallback) / f"{paths.safe_component(batch_id(name), 'batch')}.jsonl"

    def results_targets(self, record: Record) -> tuple[Path, Path, bool]:
        """(target, alternative, ours) of a job's results, the same for a download and for inline answers: the
        record's own results file when it lies where we write now (`ours`: replaced), else `results_target`;
        another job's file of that name is never replaced: this job's then goes to `alternative`, named after
        its batch id (from the server, so made one harmless file-name component)."""
        name = batch_name(record) or record_key(record)
        computed = self.results_target(record)
        own = paths.own_results_file(record.get("results_file"), computed)
        target = own or computed
        tag = paths.safe_component(name.split("/")[-1], "batch")[:12]
        alternative = target.with_name(f"{target.stem}.{tag}{target.suffix}")
        if target.exists() and own is None:
            target = alternative
        return target, alternative, own is not None

    # ----------------------------------------------------------------- submit
    def duplicate_of(self, path: Path, sha256: str | None, among: list[Record] | None = None) -> Record | None:
        """A live submission of this file (by path or content), counting a split input's group as one; among the
        store's records, or `among` (read under the store lock by the caller)."""
        wanted = str(path)
        for rec in self.store.read_all() if among is None else among:
            same = wanted in (rec.get("input_file"), rec.get("group_input_file")) or (
                sha256 and sha256 in (rec.get("input_sha256"), rec.get("group_input_sha256"))
            )
            if same and record_state(rec) not in RESUBMITTABLE and not answered_nothing(rec):
                return rec
        return None

    def submit(
        self,
        path: str | os.PathLike[str],
        *,
        model: str,
        display_name: str | None = None,
        force: bool = False,
        report: validation.ValidationReport | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        extra: dict[str, Any] | None = None,
        limits: JobLimits | None = None,
        max_cost_usd: float | None = None,
        cost_run: cost_cap.CostCap | None = None,
    ) -> SubmitOutcome:
        """Validate (unless `report` is given), hold the cost cap, guard against duplicates, split if over a limit,
        upload, create.

        The cap is `max_cost_usd`, else the config's `max_cost_usd` (cost_policy); `cost_run` is one cap shared by
        the files of a run instead (each accepted estimate counts against it, so several files never add up past
        it). Over the cap: a CapRefused outcome with the figures, and nothing remote or queued."""
        src = Path(path).expanduser().absolute()
        limits = limits or self.limits
        refused = self.refuse_unknown_model(src, model)
        if refused is not None:
            return refused
        try:
            policy = self.cost_policy
        except ConfigError as exc:  # a cap that cannot be read is not held by submitting anyway
            return cost_cap.CapRefused(src, "error", message=f"the cost cap cannot be checked: {exc}; "
                                                                "nothing was submitted")
        cap = cost_run if cost_run is not None else cost_cap.CostCap(cost_cap.cap_from(max_cost_usd, policy.cap))
        if report is None and not cap.active and overlap.applies(src, limits, self.overlap_min_bytes):
            return overlap.submit_while_validating(
                self, src, model=model, display_name=display_name, force=force, extra=extra, limits=limits,
                progress=progress, cancel=cancel)[0]
        if report is None:
            report = validation.validate_file(src, cancel=cancel, max_bytes=None,
                                             allow_media_outside=bool((extra or {}).get("allow_media_outside")))
        if not report.ok:
            problems = report.messages()
            first = problems[0] if problems else f"{src}: not a valid batch file"
            return SubmitOutcome(src, "error", message=first, problems=problems)
        existing = self.duplicate_of(src, report.sha256)
        if (existing is not None and record_state(existing) == LOCAL_SUBMITTING and not existing.get("group_id")
                and not _owner_alive(existing)):  # a live owner is still submitting it: resuming would make two
            return self._resume(existing, src, progress=progress, cancel=cancel)
        try:
            refusal, estimate = cost_cap.check(src, model, cap, policy, cancel)
        except Cancelled:
            return SubmitOutcome(src, "cancelled", request_count=report.request_count)
        if refusal is not None:
            return cost_cap.CapRefused(src, "error", message=refusal, request_count=report.request_count,
                                       estimate=estimate)
        outcome = self._submit_checked(src, model, display_name, force, report, progress, cancel, extra, limits,
                                       existing)
        if estimate is not None and outcome.status in ("submitted", "queued"):
            cap.accept(estimate)  # the next file of this run counts it
        return outcome

    def refuse_unknown_model(self, src: Path, model: str) -> SubmitOutcome | None:
        """The error outcome for a model the service does not know (models.get answered 404), before a byte of
        `src` is read or sent: the create would refuse it after the upload. None otherwise; asked once a model for
        this service, and a tuned model, or an answer that settles nothing, is left to the create."""
        bare = model.removeprefix("models/")
        if model.startswith("tunedModels/") or bare in self._known_models:
            return None
        known = self.client.model_known(bare)
        if known:
            self._known_models.add(bare)
        if known is not False:
            return None
        return SubmitOutcome(src, "error", message=f"model {bare}: the service does not know it "
                                                   "(models.get answered 404); nothing was uploaded", bad_input=True)

    def _submit_checked(
        self,
        src: Path,
        model: str,
        display_name: str | None,
        force: bool,
        report: validation.ValidationReport,
        progress: Progress | None,
        cancel: threading.Event | None,
        extra: dict[str, Any] | None,
        limits: JobLimits,
        existing: Record | None,
    ) -> SubmitOutcome:
        """submit after the cap held: the duplicate guard, then a split, the budget's queue, or upload and create."""
        from gembatch_tui.core.submit import groups

        if existing is not None and not force:
            return _skipped(src, existing, report)
        # Asked again under the store's lock as the record is added: another process may have passed the check
        # above with the same file meanwhile, and only one of the two may submit it.
        clash = None if force else (lambda records: self.duplicate_of(src, report.sha256, among=records))
        model = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
        record: Record = {
            "id": new_record_id(),
            "input_file": str(src),
            "count": report.request_count,
            "input_sha256": report.sha256,
            "input_bytes": report.size_bytes,
            "est_input_tokens": report.est_input_tokens,
            "kind": report.kind,
            "model": model,
            "display_name": display_name or src.name,
            "submitted_at": now_iso(),
        }
        if report.media_refs:
            record.update(media_refs=report.media_refs, media_files=report.media_files)
        if extra:
            record.update(extra)
        budget = limits.budget_for(model)
        reason = split.split_reason(report, limits, budget)
        try:
            if reason is not None:
                return groups.submit_group(self, src, report, record, limits, budget, reason, progress=progress,
                                           cancel=cancel, unless=clash)
            wait = waves.budget_wait(self.store.read_all(), model, report.est_input_tokens, budget)
            if wait is not None:
                self.store.add({**record, "local_state": "queued", "queued_reason": wait}, unless=clash)
                return SubmitOutcome(src, "queued", request_count=report.request_count, message=wait, queued=1)
            record.update(local_state="submitting", submit_host=socket.gethostname(), submit_pid=os.getpid())
            record = self.store.add(record, unless=clash)
        except AlreadySubmitted as exc:
            return _skipped(src, exc.record, report)
        return self._upload_and_create(record, report, progress=progress, cancel=cancel)

    def dispatch(
        self, key: str, *, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> SubmitOutcome:
        """Submit one queued record now, if nobody else took it first (no budget check: see waves.dispatch_queued).

        A queued file that is not part of a group is validated again: it may have changed while it waited."""
        record = waves.claim(self, key)
        if record is None:
            return SubmitOutcome(Path(""), "skipped", message="no longer queued")
        src = Path(record.get("input_file") or "")
        report = None
        if not record.get("group_id") and not waves.fresh_upload(self, record):
            report = validation.validate_file(src, cancel=cancel, max_bytes=None,
                                             allow_media_outside=bool(record.get("allow_media_outside")))
            if not report.ok or report.sha256 != record.get("input_sha256"):
                why = report.messages()[0] if report.messages() else "its content changed"
                create.mark_failed(self.store, key, f"input changed while queued: {why}")
                return SubmitOutcome(src, "error", message=f"input changed while queued: {why}")
        return self._upload_and_create(record, report, progress=progress, cancel=cancel)

    # ----------------------------------------------------------------- upload and create
    def _upload_and_create(
        self,
        record: Record,
        report: validation.ValidationReport | None,
        *,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> SubmitOutcome:
        key = record_key(record)
        src = Path(record["input_file"])
        count = int(record.get("count") or 0)
        file_name = record.get("uploaded_file_name") if waves.fresh_upload(self, record) else None
        if file_name is None:
            if record.get("uploaded_file_name"):
                create.delete_quietly(self.client, record["uploaded_file_name"])
            token = upload_tokens.new_token(self.store.path)
            # Written before a byte is sent: a file whose answer is lost is found again by this token.
            self.store.update(key, lambda r: r.update(upload_token=token))
            try:
                with tempfile.TemporaryDirectory(prefix="gembatch-upload-") as tmp:
                    upload_path, plan = prepare_upload(
                        self.client, self.media_cache, record, report, Path(tmp), progress=progress, cancel=cancel,
                        wait_policy=WaitPolicy(timeout_s=self.media_wait_s),
                        # Linked to the job at once, so clean-up screens never take them for orphans while the
                        # submission waits for the Files API to finish processing them.
                        on_uploaded=lambda names: self.store.update(key, lambda r: r.update(media_file_names=names)),
                    )
                    sent = plan.uploaded_bytes if plan is not None else 0
                    if plan is not None:  # media_file_names: so clean-up screens know those files are not orphans
                        self.store.update(key, lambda r: r.update(
                            media_uploaded=plan.uploaded, media_reused=plan.reused, media_file_names=plan.file_names))

                    def jsonl_progress(done: int, total: int) -> None:
                        if progress is not None:
                            progress(sent + done, sent + total)

                    file_name = self.client.upload(
                        upload_path, display_name=record["display_name"], token=token,
                        progress=jsonl_progress, cancel=cancel,
                    )
            except Cancelled:
                self._drop_or_requeue(record, forget_upload=False)
                return SubmitOutcome(src, "cancelled", request_count=count)
            except (ServiceError, OSError, ValueError) as exc:
                message = str(exc) if isinstance(exc, (ServiceError, ValueError)) else f"{src}: {exc.strerror or exc}"
                create.mark_failed(self.store, key, message)
                return SubmitOutcome(src, "error", message=message, request_count=count)
            self.store.update(key, lambda r: _uploaded(r, file_name))
        if cancel is not None and cancel.is_set():
            create.delete_quietly(self.client, file_name)
            self._drop_or_requeue(record, forget_upload=True)
            return SubmitOutcome(src, "cancelled", request_count=count)
        model = record.get("model") or "models/gemini-2.5-flash"
        kind = record.get("kind") or validation.GENERATE
        return create.create_once(self, key, src, file_name, model, record["display_name"], kind, count)

    def _drop_or_requeue(self, record: Record, *, forget_upload: bool) -> None:
        """After a cancelled upload: a fresh submission leaves no trace; a part of a group, or a record taken from
        the queue (the poller stopping), goes back to the queue."""
        key = record_key(record)
        if record.get("group_id") or record.get("claimed_at"):
            waves.requeue(self, key, "upload cancelled", backoff=False, forget_upload=forget_upload)
        else:
            self.store.remove(key)

    def _resume(
        self, record: Record, src: Path, *, progress: Progress | None, cancel: threading.Event | None
    ) -> SubmitOutcome:
        """Finish a submission that a crash interrupted, without creating a second job."""
        key = record_key(record)
        count = int(record.get("count") or 0)
        try:  # an upload made while the file was being validated (overlap.py) is never used: validated again
            uploaded = None if record.get(overlap.PENDING) else create.known_upload(self.client, self.store, record)
        except ServiceError as exc:
            return SubmitOutcome(src, "error", message=f"{exc}; try again when the service answers",
                                 request_count=count)
        if uploaded:
            found = create.find_job_for_file(self.client, uploaded)
            if found is not None:
                create.adopt(self.store, key, found)
                return SubmitOutcome(src, "submitted", batch_name=found.name, request_count=count)
            return create.create_once(
                self, key, src, uploaded, record.get("model") or "models/gemini-2.5-flash",
                record.get("display_name") or src.name, record.get("kind") or "generate", count,
            )
        report = validation.validate_file(src, cancel=cancel, max_bytes=None,
                                             allow_media_outside=bool(record.get("allow_media_outside")))
        if not report.ok:
            create.mark_failed(self.store, key, "input changed since the interrupted submission: " + "; ".join(report.messages()[:1]))
            return SubmitOutcome(src, "error", message=report.messages()[0] if report.messages() else "invalid")
        if record.get(overlap.PENDING):  # interrupted before its figures were known
            figures = dict(count=report.request_count, input_sha256=report.sha256, input_bytes=report.size_bytes,
                           est_input_tokens=report.est_input_tokens, kind=report.kind)
            record = self.store.update(key, lambda r: r.update(figures))
        return self._upload_and_create(record, report, progress=progress, cancel=cancel)

    def recover_interrupted(self) -> list[str]:
        """Records left `submitting` by a process that is gone: adopt their remote job, requeue one that came
        from the queue (the poller submits it again), or mark a plain submission failed."""
        notes: list[str] = []
        host = socket.gethostname()
        for rec in self.store.read_all():
            if record_state(rec) != LOCAL_SUBMITTING:
                continue
            if _owner_alive(rec, host):
                continue  # still being submitted by a live process
            key = record_key(rec)
            uploaded = create.known_upload(self.client, self.store, rec)
            found = create.find_job_for_file(self.client, uploaded) if uploaded else None
            if found is not None:
                create.adopt(self.store, key, found)
                notes.append(f"{rec.get('input_file')}: recovered interrupted submission as {found.name}")
            elif rec.get("group_id") or rec.get("claimed_at"):  # it came from the queue: back there
                waves.requeue(self, key, "submission was interrupted; queued again", backoff=False)
                notes.append(f"{rec.get('input_file')}: interrupted submission queued again")
            else:
                reason = "submission was interrupted before the job was created; submit the file again"
                create.mark_failed(self.store, key, reason)
                notes.append(f"{rec.get('input_file')}: {reason}")
        return notes




def _uploaded(rec: Record, file_name: str) -> None:
    """The record's input is uploaded (of a validated file: no longer `validation_pending`)."""
    rec.update(uploaded_file_name=file_name, uploaded_at=now_iso())
    rec.pop(overlap.PENDING, None)


def _skipped(src: Path, existing: Record, report: validation.ValidationReport) -> SubmitOutcome:
    """The outcome of a file already submitted (or being submitted) as `existing`: nothing is sent again."""
    from gembatch_tui.core.submit import groups

    name = groups.describe(existing) or batch_name(existing) or "a job being submitted"
    return SubmitOutcome(src, "skipped", batch_name=name, request_count=report.request_count,
                         group_id=existing.get("group_id"))


def _owner_alive(rec: Record, host: str | None = None) -> bool:
    """Whether the process that is submitting this record (this one included) is alive on this machine."""
    pid = rec.get("submit_pid")
    same_host = rec.get("submit_host") == (host or socket.gethostname())
    return same_host and isinstance(pid, int) and child_process.pid_alive(pid)


__all__ = ["BatchService", "SubmitOutcome", "LOCAL_SUBMIT_FAILED", "LOCAL_SUBMITTING"]
