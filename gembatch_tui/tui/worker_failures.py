"""Provides WorkerFailures, mixed into every screen that runs workers: a failed worker the screen does not handle
itself goes to the App's one place for failures (`GembatchApp.worker_failed`), where it becomes an event.

Why: Textual posts Worker.StateChanged to the worker's own node and it does not bubble, so a screen without a
handler lost its workers' exceptions without a word.
"""

from __future__ import annotations

from typing import Any

from textual.worker import Worker, WorkerState


class WorkerFailures:
    """`handle_worker_failure(event) -> bool` may take a failure first; everything else reaches the App."""

    app: Any

    def handle_worker_failure(self, event: Worker.StateChanged) -> bool:
        return False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and not self.handle_worker_failure(event):
            report = getattr(self.app, "worker_failed", None)
            if report is not None:
                report(event.worker)
