"""Provides what comes before a real-time run: the record to run (new, or an earlier run of the same input to
continue) for an input file, or for the failed and missing keys of a finished job.

Why continuing is the default: the answers of an earlier run are paid for. A run of a file that has an unfinished
run (killed, cancelled or stopped by a failure) continues that run, and sends only the keys it has no answer for;
a file whose run succeeded is not run again unless forced, nor is a file with a live batch job (pending, running
or succeeded: its answers come, at batch prices). For a job, the failed and missing keys are found and
written out as core.results.resubmit does for a batch retry (`<input>.retry-N.jsonl`, canonical lines with the
same keys), and the run is linked to the job (`resubmit_of`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from gembatch_tui.core.models import (
    RUNNING,
    Record,
    batch_name,
    is_realtime,
    no_results_reason,
    record_key,
    record_state,
    text_field,
)
from gembatch_tui.core.realtime import record as realtime_record
from gembatch_tui.core.realtime.control import process_alive
from gembatch_tui.core.realtime.limits import RealtimeLimits
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.submit.input_line import EMBED
from gembatch_tui.core.submit.validate import validate_file

NEW, RESUME, DONE, ERROR = "new", "resume", "done", "error"
LOCK_DIR = ".realtime"


class Busy(Exception):
    """Another process is starting or running a real-time run of the same input (or job) right now."""


@contextlib.contextmanager
def exclusive(store_path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Hold a lock on `what` (an input's absolute path, or a job's record key) beside the store while a run is
    prepared and runs: two commands started at once for one input would otherwise both make a new run, and
    every key would be sent twice. Raises Busy when another process holds it."""
    from filelock import FileLock, Timeout

    folder = Path(store_path).parent / LOCK_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(what.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}.lock"
    lock = FileLock(str(path), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise Busy(f"{what}: a real-time run of it is starting or running in another process") from None
    try:
        yield
    finally:
        lock.release()


@dataclass
class Prepared:
    status: str  # NEW, RESUME, DONE (nothing to run) or ERROR (nothing was done)
    record: Record | None = None
    message: str = ""
    problems: tuple[str, ...] = ()


def _model_path(model: str) -> str:
    return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"


def prepare_file(
    service: BatchService,
    path: str | os.PathLike[str],
    model: str,
    limits: RealtimeLimits,
    *,
    force: bool = False,
    resubmit_of: Record | None = None,
    refuse: Callable[[Path, str], str | None] | None = None,
) -> Prepared:
    """The record to run for the input `path`: validated as a batch input (the same rules, the same keys).
    `refuse(path, model)` (the spending cap) may say why a new run must not start; a continued one is not asked."""
    src = Path(path).expanduser().absolute()
    report = validate_file(src, max_bytes=None)
    if not report.ok:
        problems = tuple(report.messages())
        return Prepared(ERROR, message=problems[0] if problems else f"{src}: not a valid batch file",
                        problems=problems)
    if report.kind == EMBED:
        return Prepared(ERROR, message=f"{src}: embedding requests cannot run in real time (generateContent only); "
                                       "submit them as a batch")
    if report.media_refs:
        return Prepared(ERROR, message=f"{src}: [[FILE:...]] media references are not supported in real-time runs "
                                       "yet; submit the file as a batch")
    records = service.store.read_all()
    parent = record_key(resubmit_of) if resubmit_of is not None else None
    unfinished, done = realtime_record.resumable(records, src, resubmit_of=parent)
    if unfinished is not None and not force:
        name = batch_name(unfinished)
        if record_state(unfinished) == RUNNING and process_alive(unfinished):
            pid = realtime_record.info(unfinished).get("pid")
            return Prepared(ERROR, unfinished, f"{name} is running (process {pid}); cancel it or let it finish")
        if unfinished.get("input_sha256") != report.sha256:
            return Prepared(RESUME, unfinished, f"{src} changed since {name} started; its answered keys are kept")
        return Prepared(RESUME, unfinished)
    if done is not None and not force and resubmit_of is None:
        return Prepared(DONE, done, f"already answered as {batch_name(done)} (--force runs it again)")
    if not force and resubmit_of is None:  # a live batch job of the same file: its answers are already paid for
        batch = service.duplicate_of(src, report.sha256, among=[r for r in records if not is_realtime(r)])
        if batch is not None:
            state = record_state(batch).removeprefix("JOB_STATE_").lower()
            return Prepared(DONE, batch, f"already submitted as batch job {batch_name(batch) or record_key(batch)} "
                                         f"({state}); --force sends every request again, at interactive prices")
    if refuse is not None:
        refusal = refuse(src, _model_path(model))
        if refusal is not None:
            return Prepared(ERROR, message=f"{src}: {refusal}")
    extra = None
    if resubmit_of is not None:
        extra = {"resubmit_of": record_key(resubmit_of), "resubmit_of_batch": batch_name(resubmit_of)}
    record = realtime_record.new_record(src, report, _model_path(model), limits, extra=extra)
    return Prepared(NEW, service.store.add(record))


def prepare_retry(
    service: BatchService,
    job: Record,
    model: str | None,
    limits: RealtimeLimits,
    *,
    refuse: Callable[[Path, str], str | None] | None = None,
) -> Prepared:
    """The record to run for the failed and missing keys of `job` (an earlier unfinished one continues)."""
    from gembatch_tui.core.results.index import ResultsIndex
    from gembatch_tui.core.results.resubmit import ResubmitError, build_retry_file

    name = batch_name(job) or record_key(job)
    unfinished, _done = realtime_record.resumable(service.store.read_all(), Path(), resubmit_of=record_key(job))
    if unfinished is not None:
        return prepare_file(service, str(unfinished.get("input_file")), model or str(unfinished.get("model")),
                            limits, resubmit_of=job)
    results = text_field(job, "results_file")
    if results is None or not job.get("results_verified") or not Path(results).is_file():
        why = no_results_reason(job)
        source = text_field(job, "input_file")
        if source and not why.startswith("its results"):  # ended without any: every request is unanswered
            why += f"; `gembatch-tui run {source} --realtime` sends all its requests"
        return Prepared(ERROR, message=f"{name}: {why}")
    input_file = text_field(job, "input_file")
    try:
        index = ResultsIndex.build(Path(results), Path(input_file) if input_file else None)
        retry = build_retry_file(index)
    except ResubmitError as exc:
        return Prepared(ERROR, message=f"{name}: {exc}")
    except OSError as exc:
        return Prepared(ERROR, message=f"{name}: {exc.strerror or exc}")
    job_model = str(job.get("model") or (job.get("batch") or {}).get("model") or "")
    prepared = prepare_file(service, retry.path, model or job_model, limits, force=True, resubmit_of=job,
                            refuse=refuse)
    if retry.note() and prepared.status == NEW and not prepared.message:  # what was left out, and why
        prepared = replace(prepared, message=f"{name}: {retry.note()}")
    return prepared
