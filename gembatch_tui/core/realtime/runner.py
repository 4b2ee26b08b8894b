"""Provides RealtimeRun: the requests of one real-time record sent with bounded concurrency under its limits,
each answer appended to the partial file as it arrives, and the record kept up to date while it runs.

Threads, not asyncio: the SDK client is synchronous and shared (GeminiClient is thread-safe). One reader thread
streams the input (input_read.iter_requests, the same keys a batch gets) and skips the keys already answered; N
workers send, each asking the RateGate first; the calling thread writes progress to the store about once a second
and reads from it whether a cancel was asked for elsewhere. A file lock beside the store makes sure one
process runs a record at a time, so no key is ever sent by two.

What stops a run: the end of the input (SUCCEEDED), `cancel` or a cancel in the record (CANCELLED), or a failure
that every request would meet (a rejected key, no access, an unknown model, a daily quota, a refused
connection: FAILED, the message in the record). Requests in flight when it stops still have their answers
written; the keys not answered are sent by the next run of the same input.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core import paths
from gembatch_tui.core.api.pricing import estimate_request_tokens
from gembatch_tui.core.models import CANCELLED, FAILED, SUCCEEDED, Record, batch_name, now_iso
from gembatch_tui.core.realtime import call, partial as partial_file, record as realtime_record
from gembatch_tui.core.realtime.gate import RateGate
from gembatch_tui.core.realtime.limits import RealtimeLimits
from gembatch_tui.core.realtime.start import LOCK_DIR
from gembatch_tui.core.store import RecordNotFound
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.submit.input_read import iter_requests

MAX_WAITS = 30  # 429s with a retry hint in a row for one request before the run stops (the limit is not ours)
PROGRESS_EVERY = 1.0


class RunBusy(Exception):
    """Another process runs this record right now."""


@dataclass
class Progress:
    """How far a run is (for a progress line, or the dashboard through the record's stats)."""

    total: int
    ok: int
    errors: int
    answered_before: int  # answered by an earlier run of the same record
    paused: float  # seconds left of a server-asked pause (429), 0 when none

    @property
    def done(self) -> int:
        return self.ok + self.errors


@dataclass
class RunOutcome:
    record_key: str
    name: str
    state: str  # SUCCEEDED, CANCELLED or FAILED
    total: int
    ok: int
    errors: int
    answered_before: int
    results_file: Path | None
    summary: str
    message: str = ""  # why the run stopped early (FAILED), else ""

    @property
    def pending(self) -> int:
        return max(0, self.total - self.ok - self.errors)


class RealtimeRun:
    """One run of a real-time record (new or resumed). Call `run()` once, from a worker thread or the CLI."""

    def __init__(
        self,
        service: BatchService,
        record: Record,
        limits: RealtimeLimits,
        *,
        cancel: threading.Event | None = None,
        progress: Callable[[Progress], None] | None = None,
        window_s: float = 60.0,
    ) -> None:
        self.service = service
        self.record = record
        self.key = str(record["id"])
        self.model = str(record.get("model") or "")
        self.limits = limits
        self.cancel = cancel or threading.Event()
        self.progress = progress
        self.gate = RateGate(limits.rpm, limits.tpm, window_s=window_s)
        self._halt = threading.Event()  # set on cancel or a failure that stops the run
        self._fatal: str | None = None
        self._fatal_lock = threading.Lock()
        self._writer: partial_file.LineWriter | None = None

    # ----------------------------------------------------------------- the run
    def run(self) -> RunOutcome:
        from filelock import FileLock, Timeout

        partial = realtime_record.partial_path(self.service, self.record)
        paths.ensure_results_dir(partial.parent)
        locks = Path(self.service.store.path).parent / LOCK_DIR
        locks.mkdir(parents=True, exist_ok=True)
        # kept: unlinking a lock file races its reuse
        lock = FileLock(str(locks / f"run-{self.key[:32]}.lock"), mode=0o600)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RunBusy(f"{batch_name(self.record)} is running in another process") from None
        try:
            return self._run_locked(partial)
        finally:
            lock.release()

    def _run_locked(self, partial: Path) -> RunOutcome:
        realtime_record.seed_partial(self.record, partial)
        done, errors_before, _size = partial_file.done_keys(partial)
        total = int(self.record.get("count") or 0)

        def claim(rec: Record) -> None:
            realtime_record.claim(rec, partial, self.limits)
            rec["batch"]["stats"] = realtime_record.stats(total, len(done) - errors_before, errors_before)

        self.record = self.service.store.update(self.key, claim)
        call.warm_up(self.service.client)
        writer = self._writer = partial_file.LineWriter(partial)
        writer.ok, writer.errors = len(done) - errors_before, errors_before
        work: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue(maxsize=self.limits.concurrency * 2)
        reader = threading.Thread(target=self._read, args=(done, work), name="realtime-read", daemon=True)
        workers = [threading.Thread(target=self._work, args=(work,), name=f"realtime-{i}", daemon=True)
                   for i in range(self.limits.concurrency)]
        reader.start()
        for worker in workers:
            worker.start()
        try:
            self._watch(workers, total, len(done))
        finally:
            self._halt.set()  # all done already, or an exception here: either way nothing more starts
            self.gate.wake()
            for worker in workers:
                worker.join()
            reader.join()
            writer.close()
        if writer.ok + writer.errors >= total:
            state = SUCCEEDED  # every request has its answer, whatever came after the last one
        elif self._fatal is not None:
            state = FAILED
        else:
            state = CANCELLED
        message = self._fatal or ""
        results, summary = realtime_record.finish(self.service, self.record, partial, state, writer.ok,
                                                  writer.errors, message or None)
        return RunOutcome(self.key, batch_name(self.record) or self.key, state, total, writer.ok, writer.errors,
                          len(done), results, summary, message)

    def _watch(self, workers: list[threading.Thread], total: int, before: int) -> None:
        """Until the workers are done: progress to the caller and the store, a cancel from either seen."""
        next_write = 0.0
        while True:
            alive = [w for w in workers if w.is_alive()]
            if not alive:
                break
            if self.cancel.is_set() and not self._halt.is_set():
                self._halt.set()
                self.gate.wake()
            now = time.monotonic()
            if now >= next_write:
                next_write = now + PROGRESS_EVERY
                self._write_progress(total)
                if self.progress is not None:
                    assert self._writer is not None
                    writer = self._writer
                    self.progress(Progress(total, writer.ok, writer.errors, before, self.gate.paused_for()))
            alive[0].join(0.1)

    def _write_progress(self, total: int) -> None:
        assert self._writer is not None
        ok, errors = self._writer.ok, self._writer.errors

        def apply(rec: Record) -> None:
            batch = rec.setdefault("batch", {})
            batch["stats"] = realtime_record.stats(total, ok, errors)
            batch["update_time"] = now_iso()
            if realtime_record.info(rec).get("cancel_requested_at"):
                self.cancel.set()

        try:
            self.service.store.update(self.key, apply)
        except RecordNotFound:
            self._stop("the run's record was removed from the store")
        except Exception:  # noqa: BLE001 - a busy or read-only store must not stop the answers being written
            pass

    # ----------------------------------------------------------------- threads
    def _read(self, done: set[str], work: queue.Queue[tuple[str, dict[str, Any]] | None]) -> None:
        try:
            for _line_no, key, request in iter_requests(Path(str(self.record.get("input_file")))):
                if self._halt.is_set():
                    break
                if key in done:
                    continue
                while not self._halt.is_set():
                    try:
                        work.put((key, request), timeout=0.2)
                        break
                    except queue.Full:
                        continue
        except (OSError, ValueError) as exc:
            self._stop(f"the input can no longer be read: {exc}")
        finally:
            for _ in range(self.limits.concurrency):
                work.put(None)

    def _work(self, work: queue.Queue[tuple[str, dict[str, Any]] | None]) -> None:
        while True:
            item = work.get()
            if item is None:
                return
            if not self._halt.is_set():
                try:
                    self._send(*item)
                except Exception as exc:  # noqa: BLE001 - a bug must stop the run with a message, not hang it
                    self._stop(f"unexpected failure: {type(exc).__name__}: {exc}")

    def _send(self, key: str, request: dict[str, Any]) -> None:
        """Send one request until it has an answer to write, or the run stops (then it is left for the next run)."""
        assert self._writer is not None
        tokens = estimate_request_tokens(request)
        policy = self.service.client.policy
        attempt = waits = 0
        while self.gate.acquire(tokens, self._halt):
            try:
                response = call.generate(self.service.client, self.model, request)
            except Exception as exc:  # noqa: BLE001 - every failure is classified
                failure = call.classify(exc)
            else:
                self._writer.write(key, response=response)
                return
            if failure.action == call.WAIT:
                waits += 1
                if waits > MAX_WAITS:
                    self._stop(f"rate limited {MAX_WAITS} times in a row: {failure.message}")
                    return
                self.gate.pause(failure.delay)
                continue
            if failure.action == call.RETRY:
                attempt += 1
                if attempt < max(1, policy.attempts):
                    delay = min(policy.max_delay, policy.initial_delay * (2 ** (attempt - 1)))
                    if self._halt.wait(delay + random.uniform(0, min(1.0, delay))):
                        return
                    continue
            if failure.action == call.STOP:
                self._stop(failure.message)
                return
            self._writer.write(key, error=failure.error)
            return

    def _stop(self, message: str) -> None:
        with self._fatal_lock:
            if self._fatal is None:
                self._fatal = message
        self._halt.set()
        self.gate.wake()
