"""Provides what a submission reports (SubmitOutcome) and the port through which groups and waves submit.

Why a port: the service submits groups and waves, and they in turn submit their parts through the service; with
this Protocol between them, the arrows point one way (service -> groups -> waves -> outcome), not in a circle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gembatch_tui.core.submit.limits import JobLimits
    from gembatch_tui.core.store import JobStore


@dataclass
class SubmitOutcome:
    path: Path
    status: str  # "submitted", "queued", "skipped", "error", "cancelled"
    batch_name: str | None = None
    request_count: int = 0
    message: str = ""
    problems: list[str] | None = None
    state: str | None = None  # the new job's state, when one was created
    parts: int = 0  # >0: the input became a group of this many jobs
    batch_names: list[str] = field(default_factory=list)  # every job created (groups)
    queued: int = 0  # parts (or the file) left waiting locally
    group_id: str | None = None
    bad_input: bool = False  # an "error" the user's input caused (an unknown model): nothing was sent

    def line(self) -> str:
        group = f" in {self.parts} parts" if self.parts else ""
        waiting = f"; {self.queued} queued, submitted by `poll` as the enqueued-token budget allows" if self.queued else ""
        if self.status == "submitted":
            names = ", ".join(self.batch_names or [self.batch_name or "?"])
            return f"submitted {names} ({self.request_count} requests{group}{waiting})"
        if self.status == "queued":
            why = f": {self.message}" if self.message else ""
            return f"queued ({self.request_count} requests{group}; submitted by `poll` when it can){why}"
        if self.status == "skipped":
            return f"skipped (already submitted as {self.batch_name})"
        if self.status == "cancelled":
            return "cancelled (nothing left on the server)"
        return f"error: {self.message}"


class Submitter(Protocol):
    """What groups and waves need of the service: the store, the limits, the clock, and submitting one record."""

    store: JobStore
    clock: Callable[[], float]

    @property
    def limits(self) -> JobLimits: ...

    def parts_root(self) -> Path: ...

    def dispatch(
        self, key: str, *, progress: Callable[[int, int], None] | None = None, cancel: threading.Event | None = None
    ) -> SubmitOutcome: ...
