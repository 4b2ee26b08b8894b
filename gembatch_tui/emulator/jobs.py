"""Provides batch-job operations: create, get, list, cancel, delete, and result generation on completion.

Results are produced the first time anyone observes a job past its finish time: a file job streams its output
file to disk line by line, an inline job builds its (small) response list. That work runs outside the state
lock, under a per-job lock, so concurrent pollers of the same job wait for one generation instead of racing.
"""

from __future__ import annotations

import os
import threading
import traceback
from array import array
from pathlib import Path
from typing import Any

from . import filerefs, results, synth
from .batches import FINAL, RUNNING, SUCCEEDED, BatchRecord, Phase
from .catalog import KNOWN_MODELS
from .errors import (
    ApiError,
    enqueued_tokens_exhausted,
    failed_precondition,
    invalid_argument,
    model_not_found,
    not_found,
    too_many_jobs,
)
from .state import EmulatorState, remove_quietly
from .synth import get
from .util import MAX_PAGE_SIZE, paginate

EMPTY_INPUT = "The batch input file contains no requests."
MISSING_REQUESTS = "* BatchGenerateContentRequest.batch.input_config.requests: requests is not specified\n"
FINALIZE_WAIT = 3.0  # seconds a request waits for results generation before answering RUNNING


class Jobs:
    def __init__(
        self,
        state: EmulatorState,
        job_seconds: float,
        expiry_seconds: float,
        max_concurrent_jobs: int,
        strict_input: bool = False,
        errors: list[str] | None = None,
        enqueued_token_budget: int | dict[str, int] | None = None,
        page_max: int = MAX_PAGE_SIZE,
        reject_big_pages: bool = False,
    ) -> None:
        self.state = state
        self.errors = errors if errors is not None else []  # tracebacks of failed result generation
        self.job_seconds = float(job_seconds)
        self.expiry_seconds = float(expiry_seconds)
        self.max_concurrent_jobs = int(max_concurrent_jobs)
        self.strict_input = strict_input
        self.enqueued_token_budget = enqueued_token_budget
        self.peak_enqueued: dict[str, int] = {}  # per model, the most ever enqueued (tests check the budget held)
        self.budget_rejections = 0
        self.batches: dict[str, BatchRecord] = {}
        self.file_problems: dict[str, dict[str, str]] = {}  # per batch id: why a named file could not be used
        self.page_max = int(page_max)  # the largest page batches.list serves
        self.reject_big_pages = reject_big_pages  # a bigger page asked for: clamped, or refused with 400 when True

    # -- create -----------------------------------------------------------------------------------
    def _check_capacity(self, now: float) -> None:
        if len(self.batches) < self.max_concurrent_jobs:
            return  # fewer jobs than the limit, active or not: no need to evaluate each (creating 10,000 was quadratic)
        with self.state.lock:
            active = sum(1 for b in self.batches.values() if b.evaluate(now).state not in FINAL)
        if active >= self.max_concurrent_jobs:
            raise too_many_jobs(self.max_concurrent_jobs)

    def budget_for(self, model: str) -> int | None:
        """The enqueued-token budget of `models/ID` (an int applies to every model), or None."""
        budget = self.enqueued_token_budget
        if isinstance(budget, dict):
            value = budget.get(model.removeprefix("models/"), budget.get("*"))
            return int(value) if value is not None else None
        return int(budget) if budget is not None else None

    def enqueued_tokens(self, model: str, now: float) -> int:
        """Estimated prompt tokens of the model's PENDING and RUNNING jobs. Caller holds the state lock."""
        return sum(b.est_tokens for b in self.batches.values()
                   if b.model == model and b.evaluate(now).state not in FINAL)

    def _check_budget(self, model: str, tokens: int, now: float) -> None:
        """429 RESOURCE_EXHAUSTED when this job would take the model over its budget. Caller holds the lock."""
        budget = self.budget_for(model)
        if budget is None:
            return
        enqueued = self.enqueued_tokens(model, now)
        if enqueued + tokens > budget:
            self.budget_rejections += 1
            raise enqueued_tokens_exhausted(model, enqueued, tokens, budget)
        self.peak_enqueued[model] = max(self.peak_enqueued.get(model, 0), enqueued + tokens)

    def create(self, kind: str, model_path: str, method: str, body: Any, version: str) -> dict[str, Any]:
        """`model_path` is the URL's `models/ID`; `method` its suffix (batchGenerateContent, ...)."""
        collection, _, model_id = model_path.partition("/")
        info = KNOWN_MODELS.get(model_id) if collection == "models" else None
        if info is None or info.kind != kind:
            raise model_not_found(model_path, version, method)
        batch = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(batch, dict):
            raise invalid_argument("* BatchGenerateContentRequest.batch: batch is not specified\n")
        config = get(batch, "inputConfig", "input_config")
        file_name = get(config, "fileName", "file_name")
        requests = get(config, "requests")
        if (file_name is None) == (requests is None):
            raise invalid_argument("The batch input_config must set exactly one of file_name or requests.")
        priority = _parse_priority(batch.get("priority", 0))
        display = get(batch, "displayName", "display_name")
        self._check_capacity(self.state.clock())

        input_path: Path | None = None
        inline: list[results.Checked] | None = None
        fail_reason: str | None = None
        failed: array[int]
        problems: dict[str, str] = {}
        with self.state.lock:  # what every file is now: requests naming one that is gone or not ACTIVE fail
            known = filerefs.verdicts(self.state.files, self.state.clock())
        if file_name is not None:
            _, input_path = self.state.link_input(file_name)
            try:
                scan = results.scan_input(input_path, kind)
                bad, problems = filerefs.scan_file(input_path, kind, known)
            except BaseException:
                remove_quietly(input_path)
                raise
            if self.strict_input and scan.syntax_errors:
                remove_quietly(input_path)
                raise invalid_argument("\n".join(scan.syntax_errors))
            count, failed, tokens = scan.requests, filerefs.merge(scan.failed, bad), scan.tokens
            fail_reason = EMPTY_INPUT if count == 0 else None
        else:
            items = get(requests, "requests") if isinstance(requests, dict) else requests
            if not isinstance(items, list) or not items:
                raise invalid_argument(MISSING_REQUESTS)
            inline = filerefs.check_inline(results.check_inline(items, kind), known)
            count = len(inline)
            failed = array("I", [i for i, c in enumerate(inline) if c.error is not None])
            tokens = sum(synth.request_tokens(c.request, kind) for c in inline if c.error is None and c.request)

        with self.state.lock:
            now = self.state.clock()
            try:
                self._check_capacity(now)
                self._check_budget(f"models/{model_id}", tokens, now)
            except BaseException:
                remove_quietly(input_path)
                raise
            batch_id = self.state.ids.batch_id()
            while batch_id in self.batches:
                batch_id = self.state.ids.batch_id()
            rec = BatchRecord(
                batch_id=batch_id,
                kind=kind,
                model=f"models/{model_id}",
                display_name=str(display) if display is not None else None,
                input_file=file_name,
                input_path=input_path,
                inline=inline,
                request_count=count,
                failed=failed,
                created=now,
                job_seconds=self.job_seconds,
                expiry_seconds=self.expiry_seconds,
                seq=self.state.next_seq(),
                priority=priority,
                est_tokens=tokens,
                fail_reason=fail_reason,
            )
            self.batches[batch_id] = rec
            if problems:
                self.file_problems[batch_id] = problems
        return self._view(rec)

    # -- read -------------------------------------------------------------------------------------
    def _lookup(self, batch_id: str) -> BatchRecord:
        with self.state.lock:
            rec = self.batches.get(batch_id)
        if rec is None:
            raise not_found()
        return rec

    def _settle(self, rec: BatchRecord) -> Phase:
        """Evaluate the job now. A job that has just reached its finish time gets its results generated in the
        background; small jobs finish within FINALIZE_WAIT and are SUCCEEDED at once, a huge one reads as
        RUNNING with one request pending until its results file is complete."""
        with self.state.lock:
            phase = rec.evaluate(self.state.clock())
            needs_results = phase.state == SUCCEEDED and not rec.finalized
        if needs_results:
            self._start_finalize(rec).wait(FINALIZE_WAIT)
            with self.state.lock:
                finished = rec.finalized
                if finished:  # finished, maybe by failing: evaluate again
                    phase = rec.evaluate(self.state.clock())
            if not finished:  # still writing (or to be tried again): not done yet
                last = max(0, rec.request_count - 1)
                return Phase(RUNNING, last, rec.progress_time(last), None)
        if phase.state in FINAL:
            self._release_input(rec)
        return phase

    def _view(self, rec: BatchRecord) -> dict[str, Any]:
        phase = self._settle(rec)
        with self.state.lock:
            return rec.to_operation(phase)

    def get(self, batch_id: str) -> dict[str, Any]:
        return self._view(self._lookup(batch_id))

    def list_page(self, page_size: str | None, token: str | None) -> dict[str, Any]:
        with self.state.lock:
            page, next_token = paginate(list(self.batches.values()), lambda b: b.seq, page_size, token,
                                       self.page_max, self.reject_big_pages)
        out: dict[str, Any] = {}
        if page:
            out["operations"] = [self._view(rec) for rec in page]
        if next_token:
            out["nextPageToken"] = next_token
        return out

    def snapshot(self) -> list[dict[str, Any]]:
        with self.state.lock:
            recs = sorted(self.batches.values(), key=lambda b: b.seq)
        out = []
        for rec in recs:
            phase = self._settle(rec)
            with self.state.lock:
                out.append(rec.snapshot(phase))
        return out

    # -- write ------------------------------------------------------------------------------------
    def cancel(self, batch_id: str) -> None:
        rec = self._lookup(batch_id)
        with self.state.lock:
            now = self.state.clock()
            phase = rec.evaluate(now)
            if phase.state in FINAL:
                raise failed_precondition(
                    f"Batch {rec.name} is already in a terminal state ({phase.state}) and cannot be cancelled."
                )
            rec.cancelled_at = now
        self._release_input(rec)

    def delete(self, batch_id: str) -> None:
        """Deleting forgets the job (later gets answer 404); an already generated output file stays."""
        with self.state.lock:
            rec = self.batches.pop(batch_id, None)
            self.file_problems.pop(batch_id, None)
        if rec is None:
            raise not_found()
        self._release_input(rec)

    # -- completion -------------------------------------------------------------------------------
    def _release_input(self, rec: BatchRecord) -> None:
        with self.state.lock:
            if rec.finalizer is not None and not rec.finalizer.is_set():
                return  # the generator is reading it and releases it when done
            path, rec.input_path = rec.input_path, None
        remove_quietly(path)

    def _start_finalize(self, rec: BatchRecord) -> threading.Event:
        with self.state.lock:
            if rec.finalizer is None:
                rec.finalizer = threading.Event()
                threading.Thread(target=self._finalize, args=(rec,), name=f"results-{rec.batch_id[:8]}",
                                 daemon=True).start()
            return rec.finalizer

    def _finalize(self, rec: BatchRecord) -> None:
        """Generate the job's results once (in its own thread). An unexpected failure turns the job FAILED (and
        is recorded); a state lock held too long by another process (persistent mode) leaves it for the next
        request to try again."""
        event = rec.finalizer
        assert event is not None
        tmp = self.state.blob_dir / f"batch-{rec.batch_id}.{os.getpid()}-{threading.get_ident()}.part"
        try:
            self._generate(rec, tmp)
        except ApiError:
            rec.finalizer = None  # the next _settle starts a new attempt
        finally:
            remove_quietly(tmp)  # already moved on success; removes leftovers on failure
            event.set()

    def _generate(self, rec: BatchRecord, tmp: Path) -> None:
        """Another emulator process sharing a persistent state dir may finalize the same job at the same time:
        the first to finish wins (the results are identical: they depend only on the seed and the input), and
        the other drops its own work, including any error it met because the winner released the input."""
        file_id = f"batch-{rec.batch_id}"
        try:
            with self.state.lock:
                done, input_path = rec.finalized, rec.input_path
            seed = self.state.seed
            if done:
                pass
            elif rec.inline is not None:
                output = results.inline_results(rec.inline, rec.kind, rec.model, seed)
                with self.state.lock:
                    if not rec.finalized:
                        rec.inline_output = output
                        rec.finalized = True
            elif input_path is not None:  # None: deleted before anyone saw it finish
                size, sha_hex = self._write_results(rec, input_path, tmp, seed)
                with self.state.lock:
                    if rec.batch_id in self.batches and not rec.finalized:  # not deleted, nor done elsewhere
                        self.state.add_generated_file(file_id, tmp, size, sha_hex, rec.finish_at)
                        rec.output_file = f"files/{file_id}"
                        rec.finalized = True
        except ApiError:
            raise
        except Exception:
            with self.state.lock:
                if not rec.finalized:
                    self.errors.append(traceback.format_exc())
                    rec.fail_reason = "Internal error while writing the batch results."
        with self.state.lock:
            rec.finalized = True
            path, rec.input_path = rec.input_path, None
        remove_quietly(path)

    def _write_results(self, rec: BatchRecord, input_path: Path, tmp: Path, seed: int) -> tuple[int, str]:
        """A job with failed requests may have some that failed for a file they name (see filerefs.py)."""
        if not len(rec.failed):
            return results.write_results(input_path, tmp, rec.kind, rec.model, seed)
        with self.state.lock:
            problems = dict(self.file_problems.get(rec.batch_id) or {})
        return filerefs.write_results(input_path, tmp, rec.kind, rec.model, seed, rec.failed, problems)


def _parse_priority(raw: Any) -> int:
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        raise invalid_argument(f"Invalid value at 'batch.priority' (TYPE_INT64), \"{raw}\"") from None

