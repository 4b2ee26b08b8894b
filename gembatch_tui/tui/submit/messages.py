"""Provides the messages the submit screen's workers post (past tense: each reports what happened).

Workers never touch widgets; they post one of these and the screen draws it on the UI thread. Progress
messages replace a queued one for the same file, so a fast upload cannot flood the message queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.message import Message

from gembatch_tui.core.submit.cost_cap import CostEstimate, CostPolicy
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.validate import ValidationReport
from gembatch_tui.tui.submit.paths import Expansion, FolderListing
from gembatch_tui.tui.submit.plan import SubmitPlan
from gembatch_tui.tui.submit.run import FileResult


class FileChecked(Message):
    """Validation of one file finished; `duplicate` names the job it was already submitted as, if any."""

    def __init__(self, path: Path, report: ValidationReport, duplicate: str | None, for_preview: bool,
                 estimate: CostEstimate | None = None) -> None:
        super().__init__()
        self.path = path
        self.report = report
        self.duplicate = duplicate
        self.for_preview = for_preview
        self.estimate = estimate
        """The whole cost for the model the check was asked for (None: not estimated: invalid, or no prices yet)."""


class CheckProgressed(Message):
    """Bytes of the previewed file read so far."""

    def __init__(self, path: Path, done: int, total: int) -> None:
        super().__init__()
        self.path = path
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CheckProgressed) and message.path == self.path


class FolderListed(Message):
    """A folder was listed, to preview it (`mark=False`) or to mark its JSONL files (`mark=True`); `requested` is
    the path as asked for (the listing's own path is resolved)."""

    def __init__(self, listing: FolderListing, mark: bool, requested: Path | None = None) -> None:
        super().__init__()
        self.listing = listing
        self.mark = mark
        self.requested = requested if requested is not None else listing.path


class PlanBuilt(Message):
    """Every marked file was sorted into submitted, skipped or refused (None: the check was cancelled)."""

    def __init__(self, plan: SubmitPlan | None) -> None:
        super().__init__()
        self.plan = plan


class PathExpanded(Message):
    """The path field's text was resolved into a folder, files, or a message saying why not."""

    def __init__(self, expansion: Expansion) -> None:
        super().__init__()
        self.expansion = expansion


class PricesLoaded(Message):
    """The price table and the per-job limits (which decide when a file is split) were read from the config."""

    def __init__(self, prices: dict, error: str | None, limits: JobLimits | None = None,  # type: ignore[type-arg]
                 policy: CostPolicy | None = None) -> None:
        super().__init__()
        self.prices = prices
        self.error = error
        self.limits = limits
        self.policy = policy
        """The cost cap, prices and output assumptions the service submits under (core/submit/cost_cap)."""


class SubmitStarted(Message):
    """The run began checking (then uploading) file number `index`."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index


class UploadProgressed(Message):
    def __init__(self, index: int, done: int, total: int) -> None:
        super().__init__()
        self.index = index
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UploadProgressed) and message.index == self.index


class FileSubmitted(Message):
    """One file's outcome (submitted, skipped, refused, error or cancelled)."""

    def __init__(self, result: FileResult) -> None:
        super().__init__()
        self.result = result


class SubmitFinished(Message):
    """The run ended; `cancelled` says whether escape stopped it."""

    def __init__(self, results: list[FileResult], cancelled: bool) -> None:
        super().__init__()
        self.results = results
        self.cancelled = cancelled


class PrepareColumnsRead(Message):
    """The table to prepare was opened: its columns (CSV/TSV; None for JSON records) or why it cannot be read."""

    def __init__(self, path: Path, columns: list[str] | None, problem: str | None) -> None:
        super().__init__()
        self.path = path
        self.columns = columns
        self.problem = problem


class PrepareProgressed(Message):
    """Rows of the table prepared so far."""

    def __init__(self, path: Path, rows: int) -> None:
        super().__init__()
        self.path = path
        self.rows = rows

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PrepareProgressed) and message.path == self.path


class PrepareFinished(Message):
    """The prepare run ended: `result` (core/prepare PrepareResult) when the batch file was written, else the
    `problems` to show (nothing was written), or `cancelled`."""

    def __init__(self, request: Any, result: Any = None, problems: list[str] | None = None,
                 cancelled: bool = False) -> None:
        super().__init__()
        self.request = request
        self.result = result
        self.problems = problems or []
        self.cancelled = cancelled


__all__ = [
    "CheckProgressed",
    "PrepareColumnsRead",
    "PrepareFinished",
    "PrepareProgressed",
    "FileChecked",
    "FileSubmitted",
    "FolderListed",
    "PathExpanded",
    "PlanBuilt",
    "PricesLoaded",
    "SubmitFinished",
    "SubmitStarted",
    "UploadProgressed",
]
