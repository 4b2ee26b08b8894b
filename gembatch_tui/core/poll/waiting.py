"""Provides the wait for named jobs: poll only them until each is final and its results are in, or time runs out.

The one loop behind `poll JOB...` and `submit --wait` (the one-command runs of the scripts people come from).
It polls through `poller.poll_once(only=...)`, so the store's lock, the download rules and the verification are
exactly those of every other poll; a job that is still running when the time is up keeps running on the server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gembatch_tui.core.poll import poller
from gembatch_tui.core.models import Record, record_key
from gembatch_tui.core.submit import waves
from gembatch_tui.core.submit.service import BatchService


@dataclass
class WaitResult:
    unfinished: list[Record] = field(default_factory=list)  # not final when the time ran out
    failed: bool = False  # the last pass had errors or a download that failed
    timed_out: bool = False


def wait_for(
    service: BatchService,
    keys: frozenset[str] | None,
    *,
    interval_s: float,
    timeout_s: float | None = None,
    on_report: Callable[[poller.PollReport], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    first_pause_s: float | None = None,
) -> WaitResult:
    """Poll the jobs `keys` (None: every job) every `interval_s` until none is active; `on_report` sees every
    pass. Only the last pass's errors count: an earlier one's are retried by the next. With `first_pause_s`, the
    pauses start there and double up to `interval_s` (a job just submitted may end in seconds: `submit --wait` on a
    small file should not sit out a whole interval after it)."""
    deadline = None if timeout_s is None else clock() + timeout_s
    first = True
    step = interval_s if first_pause_s is None else min(first_pause_s, interval_s)
    while True:
        # Named jobs are asked about every pass; all of them (`poll`): every job on the first pass, then as the
        # per-job schedule says (poll_schedule: a job hours old need not be asked every pass).
        report = poller.poll_once(service, only=keys, force=first)
        first = False
        if on_report is not None:
            on_report(report)
        if report.active == 0:
            return WaitResult(failed=report.failed)
        now = clock()
        if deadline is not None and now >= deadline:
            left = [r for r in service.store.read_all()  # what the pass counted as active, nothing else
                    if (keys is None or record_key(r) in keys) and (poller.needs_poll(r) or waves.is_queued(r))]
            return WaitResult(unfinished=left, failed=True, timed_out=True)
        pause = step if deadline is None else max(0.0, min(step, deadline - now))
        step = min(step * 2, interval_s)
        sleep(pause)
