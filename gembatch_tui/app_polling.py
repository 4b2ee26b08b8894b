"""Provides PollOwner, mixed into the App: it owns the poller, its timers and what a finished poll announces.

Why it is its own module: polling is the App's one long-running duty, with rules of its own:
- one pass at a time (never two): a poll due while one runs is run right after it;
- the timer is re-armed when a pass finishes; the wait doubles after a failure (up to 5 min, see PollSchedule);
- it keeps running while a dialog or another screen is open;
- a pass that takes longer than SLOW_POLL_S shows "polling…"; download progress is throttled to one message
  every DOWNLOAD_PROGRESS_EVERY_S; jobs that finished become toasts (one summary from SUMMARY_FROM on).
The App's `on_worker_state_changed` routes a failed poll worker back here (`_poll_failed`, `_after_poll`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import work
from textual.timer import Timer

from gembatch_tui.app_messages import DownloadProgressed, PollFinished
from gembatch_tui.core.models import Record, is_final, short_state
from gembatch_tui.widgets.safe_text import safe
from gembatch_tui.widgets.status_line import PollSchedule

if TYPE_CHECKING:
    from textual.app import App

    _AppBase = App[int]
else:
    _AppBase = object

TICK_S = 5.0
"""How often the status line's countdown is re-checked (it repaints only when its coarse text changes)."""
DURATION_TICKS = 6
"""Durations of running jobs are refreshed every this many ticks (30 s)."""
DOWNLOAD_PROGRESS_EVERY_S = 0.25
SLOW_POLL_S = 1.5
"""A poll that takes longer than this shows "polling…"; quicker ones change the status line only once."""
SUMMARY_FROM = 4
"""With this many or more jobs finishing in one poll, one summary toast replaces the individual ones."""


class PollOwner(_AppBase):
    """The poll loop of an App with `service`, `store`, `records`, `settings`, `clock` and `_set_records`."""

    service: Any
    store: Any
    settings: Any
    records: list[Record]
    clock: Callable[[], datetime]

    def _init_poller(self, interval: float, enabled: bool) -> None:
        self.schedule = PollSchedule(interval=max(0.5, float(interval)))
        self._poll_enabled = enabled
        self._poll_timer: Timer | None = None
        self._poll_again = False
        self._ticks = 0
        self._last_progress = 0.0

    if TYPE_CHECKING:

        def _set_records(self, records: list[Record]) -> None: ...  # the App's: store and publish the records

    def schedule_poll(self, delay: float) -> None:
        """Run the next poll in `delay` seconds (replacing any scheduled one)."""
        if not self._poll_enabled:
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
        delay = max(0.01, delay)  # a zero-delay Textual timer divides by zero
        self._poll_timer = self.set_timer(delay, self._poll_due, name="poll")
        self.schedule.next_due = time.monotonic() + delay
        self.show_poll_status()

    def poll_now(self) -> None:
        if self.service is None:
            self.notify("No service to poll: this app was started without one", severity="warning")
            return
        if not self._poll_enabled:
            return
        if self.schedule.running:
            self._poll_again = True
            self.notify("A poll is running; another one follows it", timeout=3)
            return
        self.schedule_poll(0)

    def _poll_due(self) -> None:
        self._poll_timer = None
        if self.schedule.running:
            self._poll_again = True
            return
        self.schedule.started()
        self._last_progress = 0.0
        self.set_timer(SLOW_POLL_S, self._poll_slow)
        self._poll_worker()

    def _poll_slow(self) -> None:
        if self.schedule.running:
            self.schedule.show_running = True
            self.show_poll_status()

    @work(thread=True, group="poll", exit_on_error=False, description="poll unfinished jobs")
    def _poll_worker(self) -> None:
        from gembatch_tui.core.poller import poll_once

        report = poll_once(self.service, progress=self._download_progress)
        records = self.store.read_all()
        # Compared here, off the UI thread: a poll that changed nothing must not redraw anything.
        self.post_message(PollFinished(report, records, changed=records != self.records))

    def _download_progress(self, name: str, done: int, total: int) -> None:
        """Called from the poll worker's thread: throttled, and only ever posts a message."""
        now = time.monotonic()
        if done < total and now - self._last_progress < DOWNLOAD_PROGRESS_EVERY_S:
            return
        self._last_progress = now
        self.post_message(DownloadProgressed(name, done, total))

    def on_download_progressed(self, message: DownloadProgressed) -> None:
        if not self.schedule.running:
            return
        self.schedule.downloading(message.name, message.done, message.total)
        self.show_poll_status()

    def on_poll_finished(self, message: PollFinished) -> None:
        report = message.report
        total_failure = bool(report.errors) and len(report.errors) >= max(1, report.polled)
        if total_failure:
            self._poll_failed(report.errors[0])
        else:
            self.schedule.succeeded(self.clock())
        if message.changed:
            self._set_records(message.records)
        self._announce(report)
        self._after_poll()

    def _poll_failed(self, error: str) -> None:
        first = self.schedule.failures == 0
        self.schedule.failed(self.clock(), error)
        if first:
            self.notify(safe(error), title="Poll failed", severity="error", markup=False)

    def poll_soon(self) -> None:
        """After an action changed a job: poll within 2 s (or at the usual time, if that is sooner)."""
        if self._poll_enabled and not self.schedule.running:
            self.schedule_poll(min(self.schedule.delay(), 2.0))

    def _after_poll(self) -> None:
        again, self._poll_again = self._poll_again, False
        self.schedule_poll(0.2 if again else self.schedule.delay())

    def _announce(self, report: Any) -> None:
        """Toasts (and one bell) for jobs that reached a final state and for results saved or not."""
        finals = [c for c in report.changes if is_final(c.new)]
        if finals:
            if len(finals) >= SUMMARY_FROM:
                by_state: dict[str, int] = {}
                for c in finals:
                    by_state[short_state(c.new).lower()] = by_state.get(short_state(c.new).lower(), 0) + 1
                parts = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items()))
                self.notify(f"{len(finals)} jobs finished: {parts}", title="Jobs finished", markup=False)
            else:
                for c in finals:
                    severity = "information" if short_state(c.new) == "SUCCEEDED" else "warning"
                    self.notify(
                        f"{safe(c.label)}: {short_state(c.new).lower()}",
                        title="Job finished",
                        severity=severity,
                        markup=False,
                    )
            if self.settings.bell:
                self.bell()
        saved = [d for d in report.downloads if d.ok]
        failed = [d for d in report.downloads if not d.ok]
        if len(saved) >= SUMMARY_FROM:
            self.notify(f"results of {len(saved)} jobs saved", title="Results", markup=False)
        else:
            for d in saved:
                self.notify(f"{safe(d.path)} ({safe(d.message)})", title="Results saved", markup=False)
        for d in failed[:SUMMARY_FROM]:
            self.notify(f"{safe(d.name)}: {safe(d.message)}", title="Results not saved", severity="error", markup=False)

    def _tick(self) -> None:
        self._ticks += 1
        self.show_poll_status()
        if self._ticks % DURATION_TICKS == 0:
            self.jobs_tick()

    def jobs_tick(self) -> None:
        from gembatch_tui.screens.dashboard import DashboardScreen

        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.refresh_durations(self.clock())

    def show_poll_status(self) -> None:
        """Repaint the poll part of the status line (it repaints nothing when its text is unchanged)."""
        from gembatch_tui.screens.dashboard import DashboardScreen

        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.show_poll_status(self.poll_status_text())

    def poll_status_text(self) -> Any:
        from rich.text import Text

        if self.service is None:
            return Text("offline: no service configured; showing the store only", style="dim", end="")
        if not self._poll_enabled:
            return Text("polling is off", style="dim", end="")
        return self.schedule.describe()


__all__ = ["DOWNLOAD_PROGRESS_EVERY_S", "DURATION_TICKS", "SLOW_POLL_S", "SUMMARY_FROM", "TICK_S", "PollOwner"]
