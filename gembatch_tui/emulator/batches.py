"""Provides batch jobs: a record per job, its state derived lazily from the clock, and the Operation JSON.

Nothing runs in the background. Every request asks `evaluate(now)`, which works out from the creation time,
`job_seconds` and `expiry_seconds` where the job is: PENDING for the first 15%, then RUNNING with one request
finishing after another, then SUCCEEDED (or EXPIRED when it could not finish in time). An injected clock
therefore drives the whole life cycle deterministically.
"""

from __future__ import annotations

import math
import threading
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .catalog import TYPE_PREFIX, batch_type
from .results import Checked
from .util import rfc3339

PENDING_FRACTION = 0.15
PENDING, RUNNING = "BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"
SUCCEEDED, FAILED = "BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED"
CANCELLED, EXPIRED = "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"
FINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED})
# google.rpc.Code values for the Operation-level `error` (an Operation carries a google.rpc.Status).
RPC_CANCELLED, RPC_INVALID_ARGUMENT, RPC_DEADLINE_EXCEEDED = 1, 3, 4


class Phase(NamedTuple):
    state: str
    processed: int
    update_time: float
    end_time: float | None


@dataclass
class BatchRecord:
    batch_id: str
    kind: str  # catalog.GENERATE / catalog.EMBED
    model: str  # "models/..."
    display_name: str | None
    input_file: str | None  # "files/..." for file input
    input_path: Path | None  # private hard link to the input blob, released once the job is final
    inline: list[Checked] | None  # validated inline requests
    request_count: int
    failed: array[int]  # sorted indices of requests that fail
    created: float
    job_seconds: float
    expiry_seconds: float
    seq: int
    priority: int = 0
    est_tokens: int = 0  # estimated prompt tokens; counted against the enqueued-token budget while not final
    fail_reason: str | None = None  # set for input the job cannot run at all: it ends FAILED
    cancelled_at: float | None = None
    output_file: str | None = None  # "files/batch-..." once generated
    inline_output: list[dict[str, Any]] | None = None
    finalized: bool = False
    finalizer: threading.Event | None = None  # set once results generation (started on completion) is over

    @property
    def name(self) -> str:
        return f"batches/{self.batch_id}"

    # -- timeline ---------------------------------------------------------------------------------
    @property
    def run_start(self) -> float:
        return self.created + PENDING_FRACTION * self.job_seconds

    @property
    def finish_at(self) -> float:
        return self.created + self.job_seconds

    @property
    def expire_at(self) -> float:
        return self.created + self.expiry_seconds

    def processed_at(self, t: float) -> int:
        n = self.request_count
        if t < self.run_start:
            return 0
        run = self.finish_at - self.run_start
        if t >= self.finish_at or run <= 0:
            return n
        return min(n, int(math.floor((t - self.run_start) / run * n)))

    def progress_time(self, k: int) -> float:
        """When the k-th request finished (the last `updateTime` change while running)."""
        if k <= 0:
            return self.run_start
        run = self.finish_at - self.run_start
        return self.run_start + run * k / self.request_count

    def evaluate(self, now: float) -> Phase:
        if self.cancelled_at is not None:
            k = self.processed_at(self.cancelled_at)
            return Phase(CANCELLED, k, self.cancelled_at, self.cancelled_at)
        if self.fail_reason is not None and now >= self.run_start:
            return Phase(FAILED, 0, self.run_start, self.run_start)
        if self.finish_at > self.expire_at and now >= self.expire_at:
            return Phase(EXPIRED, self.processed_at(self.expire_at), self.expire_at, self.expire_at)
        if now >= self.finish_at and self.fail_reason is None:
            return Phase(SUCCEEDED, self.request_count, self.finish_at, self.finish_at)
        if now < self.run_start:
            return Phase(PENDING, 0, self.created, None)
        k = self.processed_at(now)
        return Phase(RUNNING, k, self.progress_time(k), None)

    def pending(self, phase: Phase) -> int:
        """Requests not yet answered; a FAILED job answered none and has none left to answer."""
        return 0 if phase.state == FAILED else self.request_count - phase.processed

    def counts(self, processed: int) -> tuple[int, int]:
        """(successful, failed) among the first `processed` requests."""
        failed = bisect_left(self.failed, processed)
        return processed - failed, failed

    # -- JSON -------------------------------------------------------------------------------------
    def _output(self) -> dict[str, Any] | None:
        if self.output_file:
            return {"responsesFile": self.output_file}
        if self.inline_output is not None:
            return {"inlinedResponses": {"inlinedResponses": self.inline_output}}
        return None

    def _stats(self, phase: Phase) -> dict[str, str]:
        ok, bad = self.counts(phase.processed)
        stats = {
            "requestCount": self.request_count,
            "successfulRequestCount": ok,
            "failedRequestCount": bad,
            "pendingRequestCount": self.pending(phase),
        }
        # int64 fields are JSON strings, and proto3 JSON leaves zero values out.
        return {k: str(v) for k, v in stats.items() if v}

    def to_operation(self, phase: Phase) -> dict[str, Any]:
        stem = batch_type(self.kind)
        meta: dict[str, Any] = {"@type": TYPE_PREFIX + stem, "model": self.model}
        if self.display_name is not None:
            meta["displayName"] = self.display_name
        if self.input_file:
            meta["inputConfig"] = {"fileName": self.input_file}
        output = self._output() if phase.state == SUCCEEDED else None
        if output:
            meta["output"] = output
        meta["createTime"] = rfc3339(self.created)
        if phase.end_time is not None:
            meta["endTime"] = rfc3339(phase.end_time)
        meta["updateTime"] = rfc3339(phase.update_time)
        meta["batchStats"] = self._stats(phase)
        meta["state"] = phase.state
        meta["name"] = self.name
        if self.priority:
            meta["priority"] = str(self.priority)
        op: dict[str, Any] = {"name": self.name, "metadata": meta}
        if phase.state in FINAL:
            op["done"] = True
        if output:
            op["response"] = {"@type": TYPE_PREFIX + stem + "Output", **output}
        error = self._operation_error(phase.state)
        if error:
            op["error"] = error
        return op

    def _operation_error(self, state: str) -> dict[str, Any] | None:
        if state == FAILED:
            return {"code": RPC_INVALID_ARGUMENT, "message": self.fail_reason or "Batch failed."}
        if state == EXPIRED:
            hours = self.expiry_seconds / 3600
            message = f"Batch expired: it did not complete within {hours:g} hours."
            return {"code": RPC_DEADLINE_EXCEEDED, "message": message}
        if state == CANCELLED:
            return {"code": RPC_CANCELLED, "message": "Batch was cancelled."}
        return None

    def snapshot(self, phase: Phase) -> dict[str, Any]:
        ok, bad = self.counts(phase.processed)
        return {
            "name": self.name,
            "state": phase.state,
            "kind": self.kind,
            "display_name": self.display_name,
            "model": self.model,
            "input_file": self.input_file,
            "inline": self.inline is not None,
            "request_count": self.request_count,
            "successful_count": ok,
            "failed_count": bad,
            "pending_count": self.pending(phase),
            "output_file": self.output_file,
            "create_time": self.created,
            "end_time": phase.end_time,
            "priority": self.priority,
            "est_tokens": self.est_tokens,
        }
