"""Provides one real-time run from start to end, as a command or a screen's worker does it: the input (or a job's
failed and missing keys) made into a record under the one-process lock, the spending cap asked, and the run.

Why one function: the lock must cover both the choice of the record and its run (two starts of one input would
otherwise both make a run), and the CLI and the app must do exactly the same. What to show is left to the
caller: `on_start` is told the record before the first request goes, `progress` as it goes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gembatch_tui.core.models import Record, record_key
from gembatch_tui.core.realtime.limits import RealtimeLimits
from gembatch_tui.core.realtime.runner import Progress, RealtimeRun, RunOutcome
from gembatch_tui.core.realtime.start import DONE, ERROR, Prepared, exclusive, prepare_file, prepare_retry
from gembatch_tui.core.submit.service import BatchService


@dataclass
class Session:
    prepared: Prepared  # ERROR or DONE: nothing was sent, `outcome` is None
    outcome: RunOutcome | None = None


def run_realtime(
    service: BatchService,
    *,
    file: Path | None = None,
    job: Record | None = None,
    model: str | None,
    limits: RealtimeLimits,
    force: bool = False,
    refuse: Callable[[Path, str], str | None] | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[Prepared], None] | None = None,
    window_s: float = 60.0,
) -> Session:
    """Run the requests of `file`, or the failed and missing keys of `job` (exactly one of the two), with `model`
    (None: the job's; a file needs one). Raises start.Busy when another process starts or runs the same,
    runner.RunBusy when another runs the record, OSError/ValueError when the files fail under it."""
    if (file is None) == (job is None):
        raise ValueError("run_realtime needs a file or a job")
    what = str(Path(file).absolute()) if file is not None else f"job:{record_key(job)}"  # type: ignore[arg-type]
    with exclusive(service.store.path, what):
        if file is not None:
            prepared = prepare_file(service, file, str(model), limits, force=force, refuse=refuse)
        else:
            assert job is not None
            prepared = prepare_retry(service, job, model, limits, refuse=refuse)
        if prepared.status in (ERROR, DONE) or prepared.record is None:
            return Session(prepared)
        if on_start is not None:
            on_start(prepared)
        run = RealtimeRun(service, prepared.record, limits, cancel=cancel, progress=progress, window_s=window_s)
        return Session(prepared, run.run())
