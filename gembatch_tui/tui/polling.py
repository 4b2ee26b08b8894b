"""Provides PollOwner, mixed into the App: it owns the poller, its timers and what a finished poll announces.

Why it is its own module: polling is the App's one long-running duty, with rules of its own:
- one pass at a time (never two): a poll due while one runs is run right after it;
- the timer is re-armed when a pass finishes; the wait doubles after a failure (up to 5 min, see PollSchedule);
- it keeps running while a dialog or another screen is open;
- a pass that takes longer than SLOW_POLL_S shows "polling…"; download progress is throttled to one message
  every DOWNLOAD_PROGRESS_EVERY_S; jobs that finished and results saved are events (the event line and the
  log, events.py), never toasts; results that could not be saved are error toasts;
- errors are worded cause first (app_errors.py); each job's last poll error is kept in `poll_errors` for its
  detail screen; a pass in which every call failed on the key (400 API key/401/403) is not transient: polling
  stops (no backing off) and says what to fix, until `r` tries again;
- other processes polling the same store (a `poll --watch` run as a service, another app) are named on the status
  line, "another poller is active: poll --watch (pid N), last pass 20 s ago", and as an event when one comes or
  goes (core/poll/presence.py; this app announces itself there too). The app keeps polling: that is safe, every
  download holds its job's lock (core/poll/download_lock.py), so no results are fetched twice.
The App's `on_worker_state_changed` routes a failed poll worker back here (`_poll_failed`, `_after_poll`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.signal import Signal
from textual.timer import Timer

from gembatch_tui.tui.errors import KEY_FIX, KEY_REJECTED, all_key_rejected, cause_first, job_of
from gembatch_tui.tui.app_messages import DownloadProgressed, PollFinished
from gembatch_tui.core.models import Record, is_final, short_state
from gembatch_tui.tui.widgets.safe_text import safe
from gembatch_tui.tui.widgets.status_line import PollSchedule

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


class OtherPollersSeen(Message):
    """The live pollers of this store other than this app (core/poll/presence.Poller), oldest first."""

    def __init__(self, pollers: list[Any]) -> None:
        super().__init__()
        self.pollers = pollers


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
        self._force_poll = False  # set by r (poll_now): the next pass asks about every unfinished job
        self._ticks = 0
        self._last_progress = 0.0
        self.poll_errors: dict[str, tuple[datetime, str]] = {}
        """Each job's last poll error (cause first) and when it happened; gone once a pass polls it cleanly."""
        self.poll_blocked = ""
        """Why polling stopped (the key was rejected); empty while it runs. `r` clears it and tries once."""
        # How screens hear of the poller (they subscribe; the poller never looks for them in the screen stack).
        self.poll_status_changed: Signal[Any] = Signal(self, "poll-status")  # type: ignore[arg-type]
        """The status line's new text (poll_status_text)."""
        self.durations_ticked: Signal[datetime] = Signal(self, "durations")  # type: ignore[arg-type]
        """Running jobs' durations may have moved: the time now."""
        self.poll_errors_changed: Signal[None] = Signal(self, "poll-errors")  # type: ignore[arg-type]
        """`poll_errors` changed."""
        self.poll_passed: Signal[None] = Signal(self, "poll-passed")  # type: ignore[arg-type]
        """A poll pass ended (`r`, or the timer), whether or not the store changed."""
        self.other_pollers: list[Any] = []
        """Other processes polling this store now (core/poll/presence.Poller), as last read."""
        self._presence: Any = None  # this app's own presence file, written by the first poll worker

    if TYPE_CHECKING:

        def _set_records(self, records: list[Record]) -> None: ...  # the App's: store and publish the records

        def record_event(self, message: str, *, title: str = "", severity: str = "information") -> Any: ...

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
            if getattr(self, "missing_key", False):
                self.notify("No API key: this is your store read-only. Set GEMINI_API_KEY or GOOGLE_API_KEY and "
                            "start again", severity="warning", markup=False)
            else:
                self.notify("No service to poll: this app was started without one", severity="warning")
            return
        self.poll_blocked = ""
        if not self._poll_enabled:
            return
        self._force_poll = True  # the user asked: every unfinished job, due by the schedule or not
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
        from gembatch_tui.core.poll.poller import poll_once

        from gembatch_tui.core.poll.presence import Presence

        force, self._force_poll = self._force_poll, False
        if self._presence is None:
            self._presence = Presence(self.store.path, "the app").start()
        report = poll_once(self.service, progress=self._download_progress, force=force)
        self._presence.passed()
        records = self.store.read_all()
        getattr(self, "label_absent_keys", lambda _records: None)(records)  # jobs of a key that is not set
        # Compared here, off the UI thread: a poll that changed nothing must not redraw anything.
        self.post_message(PollFinished(report, records, changed=records != self.records))
        self._look_for_pollers()

    # ----------------------------------------------------------------- other pollers of this store
    def _look_for_pollers(self) -> None:
        """Read the store's presence files (from a worker thread) and post who else polls."""
        from gembatch_tui.core.poll.presence import others

        own = self._presence.path if self._presence is not None else None
        self.post_message(OtherPollersSeen(others(self.store.path, exclude=own)))

    @work(thread=True, exclusive=True, group="presence", exit_on_error=False, description="look for other pollers")
    def _pollers_worker(self) -> None:
        self._look_for_pollers()

    def on_other_pollers_seen(self, message: OtherPollersSeen) -> None:
        def ident(p: Any) -> tuple[str, int, str]:
            return (p.host, p.pid, p.command)

        before = {ident(p): p for p in self.other_pollers}
        now = {ident(p): p for p in message.pollers}
        for key, poller in now.items():
            if key not in before:
                self.record_event(f"another poller is active: {poller.describe()}; this app keeps polling too (each "
                                  "download holds its job's lock, so nothing is fetched twice)", title="Pollers")
        for key, poller in before.items():
            if key not in now:
                self.record_event(f"{poller.command} (pid {poller.pid}) stopped polling", title="Pollers")
        self.other_pollers = message.pollers
        self.show_poll_status()

    def other_pollers_text(self) -> str:
        """`another poller is active: poll --watch (pid 4242), last pass 20 s ago`; empty when there is none."""
        if not self.other_pollers:
            return ""
        described = "; ".join(p.describe() for p in self.other_pollers)
        if len(self.other_pollers) == 1:
            return f"another poller is active: {described}"
        return f"{len(self.other_pollers)} other pollers are active: {described}"

    def stop_presence(self) -> None:
        """The app stops polling (it quits): its presence file goes."""
        if self._presence is not None:
            self._presence.stop()

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
        self._note_job_errors(report.errors, total_failure)
        if total_failure and all_key_rejected(report.errors):
            self.schedule.failed(self.clock(), cause_first(report.errors[0]))
            self._block_polling(report.errors[0])
        elif total_failure:
            self._poll_failed(report.errors[0])
        else:
            self.schedule.succeeded(self.clock())
            for error in report.errors:  # some jobs failed, the others were polled: not a failed pass
                self.record_event(cause_first(error), title="Poll", severity="warning")
        if message.changed:
            self._set_records(message.records)
        self._announce(report)
        self._after_poll()
        self.poll_passed.publish(None)

    def _note_job_errors(self, errors: list[str], total_failure: bool) -> None:
        """Keep each job's last poll error for its detail screen; a clean pass clears the others."""
        now = self.clock()
        named = {job: (now, cause_first(e)) for e in errors if (job := job_of(e))}
        if not total_failure:
            self.poll_errors = {k: v for k, v in self.poll_errors.items() if k in named}
        self.poll_errors.update(named)
        self.poll_errors_changed.publish(None)

    def _block_polling(self, error: str) -> None:
        """The key was refused on every call: retrying on a timer cannot help; say what to fix, once."""
        self.poll_blocked = f"{KEY_REJECTED}: {KEY_FIX}"
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self.schedule.next_due = None
        self.notify(f"{KEY_FIX}.\n{cause_first(error)}", title=f"{KEY_REJECTED}: polling stopped",
                    severity="error", markup=False, timeout=30)

    def _poll_failed(self, error: str) -> None:
        first = self.schedule.failures == 0
        text = cause_first(error)
        self.schedule.failed(self.clock(), text)
        if first:
            self.notify(text, title="Poll failed", severity="error", markup=False)
        else:
            self.record_event(text, title=f"Poll failed {self.schedule.failures}×", severity="error")

    def poll_soon(self, within: float = 2.0) -> None:
        """After an action changed a job: poll within `within` s (or at the usual time, if that is sooner). During
        a poll, right after it: that pass may have read the store before the change, and a timer set now would be
        replaced by the usual interval when the pass ends (a part R queued waited a whole interval for the next
        one)."""
        if not self._poll_enabled:
            return
        if self.schedule.running:
            self._poll_again = True
        else:
            self.schedule_poll(min(self.schedule.delay(), within))

    def _after_poll(self) -> None:
        if self.poll_blocked:
            self._poll_again = False
            self.show_poll_status()
            return
        again, self._poll_again = self._poll_again, False
        self.schedule_poll(0.2 if again else self.schedule.delay())

    def _announce(self, report: Any) -> None:
        """Events (and one bell) for jobs that reached a final state and results saved; a toast only for
        results that could not be saved (that needs the user now)."""
        finals = [c for c in report.changes if is_final(c.new)]
        for c in finals:
            severity = "information" if short_state(c.new) == "SUCCEEDED" else "warning"
            self.record_event(f"{safe(c.label)}: {short_state(c.new).lower()}", title="Job finished", severity=severity)
        if finals:
            self._notify_finished([(c.label, short_state(c.new).lower()) for c in finals])
        for d in report.downloads:
            if d.ok:
                self.record_event(f"{safe(d.path)} ({safe(d.message)})", title="Results saved")
        for run in getattr(report, "hooks", ()):  # on_finish (core/poll/finish_hooks.py): a failure is never retried
            self.record_event(f"{safe(run.name)}: {safe(run.message)}", title="on_finish",
                              severity="information" if run.ok else "error")
        failed = [d for d in report.downloads if not d.ok]
        for d in failed:
            self.record_event(cause_first(f"{safe(d.name)}: {safe(d.message)}"), title="Results not saved",
                              severity="error")
        if failed and not self.schedule.failures:  # a failed pass has said so already: one toast per cause
            more = f" (+{len(failed) - 1} more: E shows them)" if len(failed) > 1 else ""
            self.notify(cause_first(f"{safe(failed[0].name)}: {safe(failed[0].message)}") + more,
                        title="Results not saved", severity="error", markup=False)

    def _notify_finished(self, finished: list[tuple[str, str]]) -> None:
        """Tell the terminal that jobs finished, as config `notify` says (tui/notify.py): a desktop notification by
        OSC 9 or OSC 777 (written through the driver, like the bell, so it reaches the terminal over SSH and, by
        the DCS passthrough, through tmux), and the bell unless `notify` is none or `bell` is off."""
        from gembatch_tui.tui import notify

        mode = getattr(self.settings, "notify", "bell")
        if mode == "none":
            return
        if mode in notify.KINDS and not self.is_headless and self._driver is not None:
            text = notify.sequence(mode, notify.TITLE, notify.finished_text(finished), tmux=notify.inside_tmux())
            self._driver.write(text)
        if self.settings.bell:
            self.bell()

    def _tick(self) -> None:
        self._ticks += 1
        if not self.schedule.running:  # a pass looks for other pollers at its end
            self._pollers_worker()
        self.show_poll_status()
        if self._ticks % DURATION_TICKS == 0:
            self.jobs_tick()

    def jobs_tick(self) -> None:
        self.durations_ticked.publish(self.clock())

    def show_poll_status(self) -> None:
        """Repaint the poll part of the status line (it repaints nothing when its text is unchanged)."""
        self.poll_status_changed.publish(self.poll_status_text())

    def poll_status_text(self) -> Any:
        from rich.text import Text

        if self.service is None and getattr(self, "missing_key", False):
            return Text("read-only: no API key (GEMINI_API_KEY / GOOGLE_API_KEY); nothing is polled", style="yellow",
                        end="")
        if self.service is None:
            return Text("offline: no service configured; showing the store only", style="dim", end="")
        if not self._poll_enabled:
            return Text("polling is off", style="dim", end="")
        if self.poll_blocked:
            return Text(f"✖ polling stopped · {self.poll_blocked}", style="bold red", end="")
        others = self.other_pollers_text()
        if others:  # first: at 80 columns the line's end is cut
            return Text.assemble((safe(others), "yellow"), " · ", self.schedule.describe(), end="")
        return self.schedule.describe()


__all__ = ["DOWNLOAD_PROGRESS_EVERY_S", "DURATION_TICKS", "SLOW_POLL_S", "SUMMARY_FROM", "TICK_S", "OtherPollersSeen",
           "PollOwner"]
