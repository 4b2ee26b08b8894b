"""Provides the submit run without Textual: each marked file is checked, then sent through BatchService.submit.

One code path with the `submit` command: the service validates nothing twice (the screen's report is passed in),
guards duplicates, and removes its record when an upload is cancelled. Blocks: run it in a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.counts import counted
from gembatch_tui.core.errors import redact
from gembatch_tui.core.api.models_catalog import find_model, kind_mismatch
from gembatch_tui.core.submit.cost_cap import CapRefused, CostCap, CostPolicy
from gembatch_tui.core.submit.validate import ValidationCancelled, ValidationReport
from gembatch_tui.tui.submit.model import ReportCache, display_names, problem_lines
from gembatch_tui.tui.submit.prepare_run import is_data_name

REFUSED = "refused"


@dataclass
class FileResult:
    """The outcome of one file of a submit run, ready to show."""

    index: int
    path: Path
    status: str  # submitted, queued, skipped, error, refused, cancelled
    batch_name: str | None = None
    request_count: int = 0
    reasons: list[str] = field(default_factory=list)
    parts: int = 0
    """More than 0: the file was split into this many jobs (one group)."""
    batch_names: list[str] = field(default_factory=list)
    """Every job created now (the parts of a group that were sent at once)."""
    queued: int = 0
    """Parts (or the file) left waiting locally; the poller submits them as the budget allows."""
    group_id: str | None = None

    @property
    def stored(self) -> bool:
        """The run added records to the store (a job, or a group's parts, even when one part failed)."""
        return self.status in ("submitted", "queued") or (self.status == "error" and self.parts > 0)

    def summary(self) -> str:
        n = self.request_count
        if self.status == "submitted" and self.parts:
            sent = len(self.batch_names) or 1
            waiting = f", {self.queued} queued" if self.queued else ""
            return f"split into {self.parts} parts: {sent} submitted{waiting} ({counted(n, 'request')})"
        if self.status == "submitted":
            return f"submitted as {self.batch_name} ({counted(n, 'request')})"
        if self.status == "queued":
            what = f"split into {self.parts} parts, all queued" if self.parts else "queued"
            why = f": {self.reasons[0]}" if self.reasons else ""
            them = "them" if self.parts else "it"
            return f"{what} ({counted(n, 'request')}); the poll submits {them} when it can{why}"
        if self.status == "skipped":
            return f"skipped: duplicate of {self.batch_name}"
        if self.status == "cancelled":
            return "cancelled" + (f": {self.reasons[0]}" if self.reasons else "")
        if self.status == REFUSED:
            if len(self.reasons) == 1:
                return "refused: " + self.reasons[0]
            return f"refused: {len(self.reasons)} problems" if self.reasons else "refused: not a valid batch file"
        error = "error: " + (self.reasons[0] if self.reasons else "unknown error")
        if self.parts:  # the group exists: say what became of the other parts
            error += f" (split into {self.parts} parts: {len(self.batch_names)} submitted, {self.queued} queued)"
        return error


@dataclass
class SubmitRequest:
    """What the user asked for: the files in order, and the options."""

    paths: list[Path]
    model: str
    display_name: str = ""
    force: bool = False


TABLE_REFUSAL = "a table, not a batch file: enter (or P) on it prepares one to submit"


def refusal(report: ValidationReport, model: str) -> list[str]:
    """Why a checked file will be refused (its problems, or a model of the other kind), or [] when it will not.

    One rule for the confirm dialog (plan.py) and the run: a model the catalogue does not know is sent as typed; a
    table (CSV, TSV, JSON list) that does not read as a batch file is named as one, with the way to prepare it, not
    by its first line's JSON error."""
    if not report.ok:
        if is_data_name(Path(report.path).name):
            return [TABLE_REFUSAL]
        return problem_lines(report) or ["not a valid batch file"]
    known = find_model(model)
    mismatch = kind_mismatch(model, report.kind) if known is not None else None
    return [mismatch] if mismatch else []


def submit_files(
    service: Any,
    request: SubmitRequest,
    cache: ReportCache,
    cancel: threading.Event,
    *,
    on_start: Callable[[int, Path], object] | None = None,
    on_progress: Callable[[int, int, int], object] | None = None,
    on_result: Callable[[FileResult], object] | None = None,
) -> list[FileResult]:
    """Validate and submit each file through BatchService.submit, one after the other; never raises.

    A file with problems is refused (its problems are the reasons); after `cancel` is set, the file in flight
    ends as the service leaves it (cancelled, nothing left behind) and the rest are not started.
    """
    results: list[FileResult] = []
    names = display_names(request.display_name, len(request.paths))
    cost_run = _cost_run(service)
    for index, path in enumerate(request.paths):
        result = _submit_one(service, request, cache, cancel, index, path, names[index], on_start, on_progress,
                             cost_run)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _submit_one(
    service: Any,
    request: SubmitRequest,
    cache: ReportCache,
    cancel: threading.Event,
    index: int,
    path: Path,
    name: str | None,
    on_start: Callable[[int, Path], object] | None,
    on_progress: Callable[[int, int, int], object] | None,
    cost_run: CostCap | None = None,
) -> FileResult:
    if cancel.is_set():
        return FileResult(index, path, "cancelled", reasons=["not started"])
    if on_start is not None:
        on_start(index, path)
    try:
        report = cache.validate(path, cancel=cancel)
    except ValidationCancelled:
        return FileResult(index, path, "cancelled", reasons=["not started"])
    why = refusal(report, request.model)
    if why:
        return FileResult(index, path, REFUSED, request_count=report.request_count if report.ok else 0, reasons=why)

    def progress(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(index, done, total)

    try:
        outcome = service.submit(
            path,
            model=request.model,
            display_name=name,
            force=request.force,
            report=report,
            progress=progress,
            cancel=cancel,
            **({"cost_run": cost_run} if cost_run is not None else {}),
        )
    except Exception as exc:  # noqa: BLE001 - one file's failure must not stop the run or crash the app
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return FileResult(index, path, "error", request_count=report.request_count, reasons=[redact(reason)])
    if isinstance(outcome, CapRefused):  # over the cost cap: nothing was created
        return FileResult(index, path, REFUSED, request_count=report.request_count, reasons=[outcome.message])
    reasons: list[str] = []
    if outcome.status == "error":
        reasons = list(outcome.problems or []) or [outcome.message]
    elif outcome.status == "cancelled":
        reasons = ["upload stopped; nothing left on the server"]
    elif outcome.status == "queued" and outcome.message:
        reasons = [outcome.message]
    return FileResult(
        index, path, outcome.status, batch_name=outcome.batch_name, request_count=outcome.request_count or 0,
        reasons=[redact(r) for r in reasons], parts=outcome.parts, batch_names=list(outcome.batch_names),
        queued=outcome.queued, group_id=outcome.group_id,
    )


def _cost_run(service: Any) -> CostCap | None:
    """One cap for the whole run (the service's `max_cost_usd`), so the files count together as in the plan;
    None when the service cannot say (it then holds its own cap per file)."""
    try:
        policy = getattr(service, "cost_policy", None)
    except Exception:  # noqa: BLE001 - a bad config: the service refuses each file and says why
        return None
    return CostCap(policy.cap) if isinstance(policy, CostPolicy) else None


__all__ = ["REFUSED", "FileResult", "SubmitRequest", "refusal", "submit_files"]
