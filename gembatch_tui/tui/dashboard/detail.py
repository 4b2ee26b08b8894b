"""Provides the job detail screen: every recorded field of one job (detail_sections.py), and its actions.

It follows the store: when a poll changes the job, the screen re-renders only the sections whose text changed;
when the record is deleted, it goes back to the dashboard.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual import work
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label, Static
from textual.worker import Worker

from gembatch_tui.core.models import Record, batch_name, display_name, is_realtime, record_key, record_state
from gembatch_tui.core.submit.retry_parts import can_retry
from gembatch_tui.tui.dashboard.detail_sections import SECTIONS, record_sections
from gembatch_tui.tui.dashboard.reasons import WHAT, reason_not
from gembatch_tui.tui.dashboard.rows import can_cancel, can_delete
from gembatch_tui.tui.widgets.safe_text import safe, safe_text
from gembatch_tui.tui.worker_failures import WorkerFailures

if TYPE_CHECKING:
    from gembatch_tui.tui.host import AppHost


def plain_text(renderable: Any, width: int = 160) -> str:
    """What a renderable shows at `width`, as plain text (to tell whether a repaint would change anything)."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


class PartRetried(Message):
    """A retry of this part ended: the line to show, and whether the part is queued again."""

    def __init__(self, text: str, ok: bool) -> None:
        super().__init__()
        self.text, self.ok = text, ok


class DetailScreen(WorkerFailures, Screen[None]):
    """One job in full; c cancels it, d deletes it, R retries a failed part of a split input, escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("q", "back", "Back", show=False, id="detail.back_q"),
        # Each job key has a hidden "why" twin, live exactly when the key is not: it says why (dashboard/reasons.py),
        # as the dashboard does, instead of ignoring the key.
        Binding("c", "cancel_job", "Cancel job", tooltip="Cancel this pending or running job", id="detail.cancel"),
        Binding("c", "why('cancel_job')", show=False, id="detail.cancel_why"),
        Binding("d", "delete_job", "Delete", tooltip="Delete the job's remote resources and/or record", id="detail.delete"),
        Binding("d", "why('delete_job')", show=False, id="detail.delete_why"),
        Binding("r", "poll_now", "Poll", tooltip="Poll every unfinished job now", id="detail.poll"),
        Binding("r", "why('poll_now')", show=False, id="detail.poll_why"),
        Binding(
            "R", "retry_part", "Retry part", tooltip="Queue this failed, expired or cancelled part again",
            id="detail.retry_part",
        ),
        Binding("R", "why('retry_part')", show=False, id="detail.retry_part_why"),
        Binding(
            "v", "view_results", "Results", tooltip="Browse answers, export, resubmit failures", id="detail.results"
        ),
        Binding("v", "why('view_results')", show=False, id="detail.results_why"),
        Binding("j", "scroll('down')", "Scroll down", show=False, id="detail.down"),
        Binding("k", "scroll('up')", "Scroll up", show=False, id="detail.up"),
        Binding("g", "scroll('home')", "Top", show=False, id="detail.top"),
        Binding("G", "scroll('end')", "Bottom", show=False, id="detail.bottom"),
    ]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        """The record key of the job shown."""
        self._shown: Record | None = None
        self._covered = False
        """Another screen (results) is on top: updates wait for its return (`_missed`)."""
        self._missed = False
        self._texts: dict[int, str] = {}
        """What each section shows, as plain text (a section repaints only when it changes)."""

    @property
    def gapp(self) -> AppHost:
        return self.app  # type: ignore[return-value]

    @property
    def record(self) -> Record | None:
        return self.gapp.record(self.key)

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Label("Job details", id="title")
            yield Static("", id="detail-name", markup=False)
        with VerticalScroll(id="detail-body"):
            yield Static("", id="detail", classes="detail-part", markup=False)  # the summary
            for i in range(1, SECTIONS):
                yield Static("", id=f"detail-{i}", classes="detail-part", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # immediate, and nothing done while another screen (results) covers this one: Textual repaints the screen
        # on top whenever the one below it handles a message (see DashboardScreen._suspended).
        self.gapp.jobs_changed.subscribe(self, self._records_changed, immediate=True)
        self.gapp.durations_ticked.subscribe(self, self.tick_durations, immediate=True)
        self.gapp.poll_errors_changed.subscribe(self, lambda _none: self.poll_error_changed(), immediate=True)
        self._show(self.record)
        self.query_one("#detail-body").focus()

    def on_screen_suspend(self) -> None:
        self._covered = True

    def on_screen_resume(self) -> None:
        self._covered = False
        if self._missed:
            self._missed = False
            self._records_changed(self.gapp.records)
            self.poll_error_changed()
            self.tick_durations(self.gapp.clock())

    def _records_changed(self, records: list[Record]) -> None:
        if self._covered:
            self._missed = True
            return
        rec = self.record
        if rec is None:
            if self.is_current:
                self.notify("The job is no longer in the store", markup=False)
                self.dismiss()
            return
        if rec != self._shown:
            if self._shown is None or record_state(rec) != record_state(self._shown):
                self.refresh_bindings()
            self._show(rec)

    def _show(self, rec: Record | None) -> None:
        self._shown = rec
        if rec is None:
            self._paint([Text("This job is no longer in the store.", end="")] + [None] * (SECTIONS - 1))
            return
        name = f"{display_name(rec)}  {batch_name(rec) or ''}"
        if name != self._texts.get(-1):
            self._texts[-1] = name
            self.query_one("#detail-name", Static).update(safe_text(name), layout=False)
        self._shown_poll_error = self._poll_error(rec)
        self._paint(record_sections(rec, self.gapp.clock(), self._shown_poll_error, run_here=self._run_here(rec)))

    def _run_here(self, rec: Record) -> bool:
        """A real-time job this app runs (its c stops the run's own event)."""
        if not is_realtime(rec):
            return False
        from gembatch_tui.tui.results.realtime_run import runs_of

        return record_key(rec) in runs_of(self.app).running_keys()

    def _paint(self, sections: list[Any]) -> None:
        """Update only the sections whose text changed (each repaint is bytes on the wire: a whole screen is
        ~5 KB at 80x24; a poll that moves only `polled_at` changes the recorded fields, below the fold)."""
        width = max(20, self.query_one("#detail-body").scrollable_content_region.width or 78)
        for i, part in enumerate(sections):
            widget = self.query_one("#detail" if i == 0 else f"#detail-{i}", Static)
            text = plain_text(part, width) if part is not None else ""
            old = self._texts.get(i)
            if text == old:
                continue
            self._texts[i] = text
            # Same height: repaint the section's own lines; a new height moves what is below it (a layout).
            same_height = old is not None and old.count("\n") == text.count("\n") and widget.display
            widget.update(part if part is not None else "", layout=not same_height)
            widget.display = part is not None

    def tick_durations(self, now: datetime) -> None:
        """The app's duration tick (every 30 s): durations, "ago" and "next try in" move; a section repaints only
        when its text changed (relative times move in coarse steps, cells.format_ago), so an open detail screen
        costs a summary and a timeline repaint a minute at most, one every 10 minutes for a job over an hour old."""
        rec = self._shown
        if rec is None or not self.is_mounted:
            return
        if self._covered:
            self._missed = True
            return
        self._paint(record_sections(rec, now, getattr(self, "_shown_poll_error", None), run_here=self._run_here(rec)))

    def _poll_error(self, rec: Record) -> tuple[datetime, str] | None:
        name = batch_name(rec)
        return getattr(self.gapp, "poll_errors", {}).get(name) if name else None

    def poll_error_changed(self) -> None:
        """The app's poll errors changed: repaint only if this job's did."""
        rec = self.record
        if not self.is_mounted or not hasattr(self, "_shown_poll_error"):
            return  # not shown yet: its first paint reads the errors
        if self._covered:
            self._missed = True
            return
        if rec is not None and self._poll_error(rec) != self._shown_poll_error:
            self._show(rec)

    # ----------------------------------------------------------------- keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        rec = self.record
        if action == "why":  # the hidden twin of a job key: live exactly when the key itself is not
            return not self.check_action(str(parameters[0]), ())
        if action == "cancel_job":
            return self.gapp.service is not None and can_cancel(rec)
        if action == "delete_job":
            return self.gapp.service is not None and can_delete(rec)
        if action == "poll_now":
            return self.gapp.service is not None
        if action == "retry_part":
            return self.gapp.service is not None and can_retry(rec)
        if action == "view_results":
            return bool(rec and rec.get("results_file"))
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_why(self, action: str) -> None:
        """A job key that does not apply: say why, in the dashboard's words (a toast: this screen has no event line)."""
        what = "retry_parts" if action == "retry_part" else action  # the dashboard's name for R
        reason = reason_not(what, self.record, service=self.gapp.service is not None,
                            read_only=self.gapp.missing_key)
        self.gapp.say(reason, title=f"No {WHAT.get(what, what)}", severity="warning")

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        {"down": body.scroll_down, "up": body.scroll_up, "home": body.scroll_home, "end": body.scroll_end}[where](
            animate=False, immediate=True
        )

    def action_cancel_job(self) -> None:
        rec = self.record
        if rec is not None and is_realtime(rec):  # no batch job: its run is stopped, in its own words
            from gembatch_tui.tui.dashboard.realtime_cancel import ask_cancel

            ask_cancel(self, rec)
            return
        self.gapp.request_cancel(self.key)

    def action_delete_job(self) -> None:
        self.gapp.request_delete(self.key)

    def action_poll_now(self) -> None:
        self.gapp.poll_now()

    def action_retry_part(self) -> None:
        self._retry_worker(self.key)

    @work(thread=True, exclusive=True, group="detail-retry", exit_on_error=False, description="retry the part")
    def _retry_worker(self, key: str) -> None:
        """Reset the part to queued (store and part file only) when its cost fits the cap; the app's poll then
        submits it."""
        from gembatch_tui.tui.dashboard.part_retry import retry_under_cap
        from gembatch_tui.tui.messages import JobsSubmitted

        found = retry_under_cap(self.gapp.store, self.gapp.service, [key])
        if not found:
            self.post_message(PartRetried("the job is no longer in the store", False))
            return
        outcome = found[0]
        self.post_message(PartRetried(outcome.line() if outcome.ok else outcome.message, outcome.ok))
        if outcome.ok:
            self.app.post_message(JobsSubmitted([]))  # reload, and poll soon: that submits the queued part

    def on_part_retried(self, message: PartRetried) -> None:
        if message.ok:
            self.notify(safe(message.text), title="Retry part", markup=False)
        else:
            self.notify(safe(message.text), title="Cannot retry part", severity="error", markup=False)
        self.refresh_bindings()

    def handle_worker_failure(self, event: Worker.StateChanged) -> bool:
        """A store error in the retry worker names what failed; any other failure goes to the App."""
        if event.worker.group != "detail-retry":
            return False
        error = safe(str(event.worker.error) or type(event.worker.error).__name__)
        self.notify(error, title="Could not retry the part", severity="error", markup=False)
        return True

    def action_view_results(self) -> None:
        from gembatch_tui.tui.results.screen import ResultsScreen

        if self.record is not None:
            self.app.push_screen(ResultsScreen(self.record))
