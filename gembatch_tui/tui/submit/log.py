"""Provides SubmitLog: runs a submit in a thread worker and shows its progress and outcome, one line per file.

A single progress bar follows the bytes of the upload in flight (files go one after the other); each file's
line turns into its outcome as soon as it is known, with every reason a refused file was refused under it.
The worker only posts messages; FileSubmitted and SubmitFinished bubble on to the screen, which tells the app.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import ProgressBar, Static
from textual.worker import Worker, WorkerState

from gembatch_tui.core.text import format_bytes
from gembatch_tui.tui.submit import messages as msg
from gembatch_tui.tui.submit.model import ReportCache, throttled
from gembatch_tui.tui.submit.run import REFUSED, FileResult, SubmitRequest, submit_files
from gembatch_tui.tui.widgets.safe_text import safe

ICONS = {"submitted": "✓", "queued": "⋯", "skipped": "=", "error": "✗", REFUSED: "✗", "cancelled": "-"}
MAX_REASONS = 20
LATE_NOTE = "the cancel came after its job was created: c on the dashboard cancels the job"


class SubmitLog(VerticalScroll, can_focus=True):
    """The submit run: start it with `run`, stop it with `cancel`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "submit-log--ok",
        "submit-log--error",
        "submit-log--muted",
        "submit-log--warning",
    }

    DEFAULT_CSS = """
    SubmitLog {
        padding: 0 1;
        & > .submit-log--ok { color: $success; }
        & > .submit-log--error { color: $error; }
        & > .submit-log--muted { color: $text-muted; }
        & > .submit-log--warning { color: $warning; }
        #log-title { text-style: bold; }
        #log-current { color: $text-muted; }
        #log-bar { height: 1; }
        &.-idle #log-bar, &.-idle #log-current { display: none; }
        .log-row { width: 1fr; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-idle")
        self._names: list[str] = []
        self._rows: list[Static] = []
        self.results: list[FileResult] = []
        """Outcomes so far, in file order."""
        self.cancel_event = threading.Event()
        """Set by `cancel`; BatchService.submit watches it during the upload."""
        self.running = False
        """A run is in flight."""

    def compose(self) -> ComposeResult:
        yield Static("No submit run yet.", id="log-title", markup=False)
        yield Static("", id="log-current", markup=False)
        yield ProgressBar(total=100, show_eta=False, id="log-bar")

    def _style(self, name: str) -> str:
        return str(self.get_component_rich_style(f"submit-log--{name}", partial=True))

    # ------------------------------------------------------------------ the run
    def run(self, service: Any, request: SubmitRequest, cache: ReportCache, labels: list[str]) -> None:
        """Start submitting `request.paths` (shown as `labels`) in a worker."""
        self.cancel_event = threading.Event()
        self.running = True
        self._start(labels, request.model)
        self._submit(service, request, cache, self.cancel_event)

    def cancel(self) -> bool:
        """Ask the run to stop: the upload in flight is abandoned (and cleaned up), later files are not started. A
        file whose job is being created is not stopped (a create is never abandoned: its answer decides); its line
        then says so (LATE_NOTE)."""
        if not self.running or self.cancel_event.is_set():
            return False
        self.cancel_event.set()
        return True

    @work(thread=True, exclusive=True, group="submit-run", exit_on_error=False, description="submit files")
    def _submit(self, service: Any, request: SubmitRequest, cache: ReportCache, cancel: threading.Event) -> None:
        results = submit_files(
            service, request, cache, cancel,
            on_start=lambda i, _p: self.post_message(msg.SubmitStarted(i)),
            on_progress=throttled(lambda i, d, t: self.post_message(msg.UploadProgressed(i, d, t))),
            on_result=lambda r: self.post_message(msg.FileSubmitted(r)),
        )
        self.post_message(msg.SubmitFinished(results, cancel.is_set()))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "submit-run" and event.state == WorkerState.ERROR:
            self.notify(f"Submit stopped: {event.worker.error}", severity="error")
            self.post_message(msg.SubmitFinished(list(self.results), True))

    def on_submit_started(self, message: msg.SubmitStarted) -> None:
        message.stop()
        i = message.index
        if 0 <= i < len(self._rows):
            name = self._names[i]
            self._rows[i].update(Text.assemble(("› ", self._style("warning")), name, "  starting…"))
            self._current(f"{i + 1}/{len(self._names)} {name}: checking, then uploading")
            self.query_one("#log-bar", ProgressBar).update(total=100, progress=0)

    def on_upload_progressed(self, message: msg.UploadProgressed) -> None:
        message.stop()
        i, done, total = message.index, message.done, message.total
        if not 0 <= i < len(self._rows):
            return
        name = self._names[i]
        pct = 100 * done // total if total else 100
        self.query_one("#log-bar", ProgressBar).update(total=max(total, 1), progress=done)
        if total and done >= total:  # every byte is read: the last are sent, then the job is created
            self._current(f"{i + 1}/{len(self._names)} {name}: {format_bytes(total)} read; finishing the upload, "
                          "then creating the job")
            self._rows[i].update(Text.assemble(("↑ ", self._style("warning")), name, "  creating the job…"))
            return
        self._current(f"{i + 1}/{len(self._names)} {name}: uploading {format_bytes(done)} of {format_bytes(total)}")
        self._rows[i].update(Text.assemble(("↑ ", self._style("warning")), name, f"  uploading {pct}%"))

    def on_file_submitted(self, message: msg.FileSubmitted) -> None:  # bubbles on to the screen
        result = message.result
        self.results.append(result)
        if not 0 <= result.index < len(self._rows):
            return
        ok = result.status in ("submitted", "skipped")
        kind = "ok" if ok else "warning" if result.status == "queued" else "muted" if result.status == "cancelled" else "error"
        style = self._style(kind)
        text = Text.assemble((ICONS.get(result.status, "?") + " ", style), self._names[result.index], "  ")
        text.append(safe(result.summary()), style)
        if self.cancel_event.is_set() and result.status == "submitted":
            text.append(f"\n    {LATE_NOTE}", self._style("warning"))
        shown = result.reasons[:MAX_REASONS] if result.status == REFUSED and len(result.reasons) > 1 else []
        for reason in shown:
            text.append("\n    " + safe(reason), self._style("error"))
        hidden = len(result.reasons) - MAX_REASONS
        if hidden > 0:
            text.append(f"\n    ... {hidden} more (see the preview)", self._style("muted"))
        self._rows[result.index].update(text)

    def on_submit_finished(self, message: msg.SubmitFinished) -> None:  # bubbles on to the screen
        self.running = False
        counts: dict[str, int] = {}
        for result in message.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        parts = [f"{n} {status}" for status, n in counts.items()]
        made = counts.get("submitted", 0) + counts.get("queued", 0)
        head = "Done" if not message.cancelled else "Stopped" if made else "Cancelled"
        self.query_one("#log-title", Static).update(Text(f"{head}: {', '.join(parts) or 'nothing submitted'}"))
        self.add_class("-idle")

    def note(self, heading: str, lines: list[str], ok: bool) -> None:
        """Lines added under the run's outcomes (what the real-time fallback did with its refused files)."""
        style = self._style("ok" if ok else "warning")
        text = Text(safe(heading), style=f"{style} bold")
        for line in lines:
            text.append("\n  " + safe(line), style)
        row = Static(text, classes="log-row", markup=False)
        self._rows.append(row)
        self.mount(row)

    # ------------------------------------------------------------------ drawing
    def _current(self, line: str) -> None:
        self.query_one("#log-current", Static).update(Text(safe(line)))

    def _start(self, names: list[str], model: str) -> None:
        for row in self._rows:
            row.remove()
        self._names = [safe(name) for name in names]  # file names are data: spelt out, never sent raw
        self.results = []
        self.remove_class("-idle")
        n = len(names)
        self.query_one("#log-title", Static).update(Text(f"Submitting {n} file{'s' if n != 1 else ''} to {safe(model)}"))
        self._current("Starting…")
        self.query_one("#log-bar", ProgressBar).update(total=100, progress=0)
        waiting = [Text.assemble(("· ", self._style("muted")), name, ("  waiting", self._style("muted")))
                   for name in names]
        self._rows = [Static(text, classes="log-row", markup=False) for text in waiting]
        self.mount_all(self._rows)


__all__ = ["SubmitLog"]
