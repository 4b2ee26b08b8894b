"""Provides the full-screen app: GembatchApp, its factory `make_app`, and `run(settings)` for the CLI.

The app owns the data and the poller; screens only show it and ask for actions:
- thread workers do every blocking call (store, service) and report by past-tense message; they never
  touch a widget. One `on_worker_state_changed` turns a failed worker into a notification.
- the poller runs one pass at a time (never two), re-arms a timer when it finishes, doubles the wait
  after a failure (up to 5 min), and keeps running while a dialog or another screen is open.
- new records are fanned out to screens with the `jobs_changed` signal.
- after the first read, a worker counts the token usage of results saved without it (`ledger.fill_missing_usage`)
  and, if it recorded any, posts StoreChanged("usage") so totals and details include them.

Demo mode (`--demo`, or no key): `run()` starts the in-process emulator through `open_runtime`, with
jobs that take ~20 s and a 3 s poll. If the demo store is empty at start, a worker writes a
generated 5-request file to `<data dir>/demo/examples/demo-requests.jsonl` and submits it through
`service.submit`, so there is something to watch. Quitting stops whatever `run()` started.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.signal import Signal
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from gembatch_tui.commands_palette import GembatchCommands
from gembatch_tui.config import Settings
from gembatch_tui.core.models import Record, is_final, short_state
from gembatch_tui.core.store import JobStore, record_key
from gembatch_tui.messages import JobsSubmitted, StoreChanged
from gembatch_tui.screens.confirm import JobActions
from gembatch_tui.widgets.safe_text import safe
from gembatch_tui.widgets.status_line import PollSchedule

if TYPE_CHECKING:
    from gembatch_tui.screens.dashboard import DashboardScreen

DEMO_POLL_INTERVAL = 3.0
DEMO_JOB_SECONDS = 20.0
TICK_S = 5.0
"""How often the status line's countdown is re-checked (it repaints only when its coarse text changes)."""
DURATION_TICKS = 6
"""Durations of running jobs are refreshed every this many ticks (30 s)."""
DOWNLOAD_PROGRESS_EVERY_S = 0.25
SLOW_POLL_S = 1.5
"""A poll that takes longer than this shows "polling…"; quicker ones change the status line only once."""
SUMMARY_FROM = 4
"""With this many or more jobs finishing in one poll, one summary toast replaces the individual ones."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# ----------------------------------------------------------------------------- worker reports
class JobsLoaded(Message):
    """The store was read: every record, and how many of its lines could not be parsed."""

    def __init__(self, records: list[Record], problems: int, seq: int) -> None:
        super().__init__()
        self.records, self.problems, self.seq = records, problems, seq


class PollFinished(Message):
    """One poll pass ended: its report and the store as it stands afterwards."""

    def __init__(self, report: Any, records: list[Record], changed: bool = True) -> None:
        super().__init__()
        self.report, self.records, self.changed = report, records, changed


class DownloadProgressed(Message):
    """Bytes of a results file received so far; only the latest one matters."""

    def __init__(self, name: str, done: int, total: int) -> None:
        super().__init__()
        self.name, self.done, self.total = name, done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DownloadProgressed)


class UsageFilled(Message):
    """Token usage was read from results files that had none recorded; `keys` are the records updated."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__()
        self.keys = keys


class DemoSeeded(Message):
    def __init__(self, line: str, ok: bool) -> None:
        super().__init__()
        self.line, self.ok = line, ok


# ----------------------------------------------------------------------------- the app
class GembatchApp(JobActions, App[int]):
    """gembatch-tui: watch, download and clean up Gemini batch jobs (cancel and delete: see JobActions)."""

    CSS_PATH = "app.tcss"
    TITLE = "gembatch-tui"
    COMMANDS = App.COMMANDS | {GembatchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "help", "Help", key_display="?", show=False, id="app.help_alt"),
    ]

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        service: Any | None,
        *,
        clock: Callable[[], datetime] = utc_now,
        poll: bool = True,
        seed_demo: bool = False,
        runtime: Any | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        """Resolved options and config."""
        self.store = store
        """The job store; read and written only from workers."""
        self.service = service
        """The BatchService, or None when there is nothing to talk to (the app then only shows the store)."""
        self.clock = clock
        """Returns the current UTC time; injected so tests and snapshots are reproducible."""
        self.runtime = runtime
        """What `run()` started (the demo emulator); closed when the app exits."""
        self.records: list[Record] = []
        """The store as last read, in file order."""
        self.records_by_key: dict[str, Record] = {}
        self.loaded = False
        """True once the store has been read at least once."""
        self.jobs_changed: Signal[list[Record]] = Signal(self, "jobs-changed")
        """Published with the new record list whenever it was re-read."""
        self.schedule = PollSchedule(interval=max(0.5, float(settings.poll_interval)))
        self._poll_enabled = poll and service is not None
        self._seed_demo = seed_demo
        self._poll_timer: Timer | None = None
        self._poll_again = False
        self._load_seq = 0
        self._applied_seq = -1
        self._ticks = 0
        self._last_progress = 0.0
        self._problems_reported = 0
        self.usage_checked = False
        """True once results saved without usage (by an older version, or the CLI) have been counted, and the
        store re-read if that changed it: the dashboard totals are then final for this start."""
        self._usage_seq = 0
        if settings.demo:
            self.title = "gembatch-tui (demo)"

    # ----------------------------------------------------------------- start and stop
    def get_default_screen(self) -> Screen:
        from gembatch_tui.screens.dashboard import DashboardScreen

        return DashboardScreen()

    def on_mount(self) -> None:
        # Thread workers run on the loop's default executor, and asyncio waits for it on exit: a poll
        # stuck in a slow HTTP call would keep `q` from quitting for minutes. This one does not wait.
        asyncio.get_running_loop().set_default_executor(_NoWaitExecutor(thread_name_prefix="gembatch-io"))
        # Read the store once the first frame is on screen: parsing a big store in a thread competes
        # with the first paint for the interpreter, and the user should see the app at once.
        self.call_after_refresh(self.load_jobs)
        if self._poll_enabled:
            self.set_interval(TICK_S, self._tick)

    def on_unmount(self) -> None:
        if self.runtime is not None:
            self.runtime.close()

    # ----------------------------------------------------------------- data
    def record(self, key: str | None) -> Record | None:
        return self.records_by_key.get(key) if key else None

    def load_jobs(self) -> None:
        """Re-read the store in a worker (a newer read supersedes an older one)."""
        self._load_seq += 1
        self._load_worker(self._load_seq)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, description="read the job store")
    def _load_worker(self, seq: int) -> None:
        records, problems = self.store.read_with_problems()
        if not get_current_worker().is_cancelled:
            self.post_message(JobsLoaded(records, len(problems), seq))

    def on_jobs_loaded(self, message: JobsLoaded) -> None:
        if message.seq < self._applied_seq:
            return
        self._applied_seq = message.seq
        first = not self.loaded
        self._set_records(message.records)
        if message.problems and message.problems != self._problems_reported:
            self._problems_reported = message.problems
            self.notify(
                f"{message.problems} line(s) of the store could not be read; they are kept as they are",
                title="Store",
                severity="warning",
                markup=False,
            )
        if first:
            self._usage_worker(message.records)
            if self._seed_demo and not message.records and self.service is not None:
                self._seed_worker()
            elif self._poll_enabled:
                self.schedule_poll(0.2)

    @work(thread=True, exclusive=True, group="usage", exit_on_error=False, description="count token usage")
    def _usage_worker(self, records: list[Record]) -> None:
        from gembatch_tui.core import ledger

        self.post_message(UsageFilled(ledger.fill_missing_usage(self.store, records)))

    def on_usage_filled(self, message: UsageFilled) -> None:
        if message.keys:
            self._usage_seq = self._load_seq + 1
            self.post_message(StoreChanged("usage"))
        else:
            self.usage_checked = True

    @property
    def usage_settled(self) -> bool:
        """The usage check ran and the records it changed have been read back (for tests and snapshots)."""
        return self.usage_checked or (self._usage_seq > 0 and self._applied_seq >= self._usage_seq)

    def _set_records(self, records: list[Record]) -> None:
        self.records = records
        self.records_by_key = {record_key(r): r for r in records}
        self.loaded = True
        self.jobs_changed.publish(records)

    def on_store_changed(self, message: StoreChanged) -> None:
        self.load_jobs()

    def on_jobs_submitted(self, message: JobsSubmitted) -> None:
        self.load_jobs()
        if self._poll_enabled:
            self.schedule_poll(1.0)

    # ----------------------------------------------------------------- polling
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

    # ----------------------------------------------------------------- demo seed
    @work(thread=True, group="seed", exit_on_error=False, description="submit the demo example")
    def _seed_worker(self) -> None:
        from gembatch_tui import paths

        if self.store.read_all():
            return
        path = write_demo_requests(paths.data_dir() / "demo" / "examples")
        name = f"demo: {len(DEMO_PROMPTS)} requests"
        outcome = self.service.submit(path, model=self.settings.default_model, display_name=name)
        self.post_message(DemoSeeded(outcome.line(), outcome.status == "submitted"))

    def on_demo_seeded(self, message: DemoSeeded) -> None:
        text = (
            f"Submitted a demo job of {len(DEMO_PROMPTS)} requests: watch it go pending → running → succeeded"
            if message.ok
            else f"The demo job was not submitted: {safe(message.line)}"
        )
        self.notify(
            text,
            title="Demo",
            severity="information" if message.ok else "error",
            markup=False,
        )
        self.post_message(JobsSubmitted([]))

    # ----------------------------------------------------------------- actions (used by screens and the palette)
    def action_help(self) -> None:
        from gembatch_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    @property
    def dashboard(self) -> DashboardScreen:
        """The base screen, whatever is pushed over it."""
        return self.screen_stack[0]  # type: ignore[return-value]

    def show_dashboard(self) -> DashboardScreen:
        """Pop every screen above the dashboard (for palette commands that act on it)."""
        try:
            while len(self.screen_stack) > 1:
                self.pop_screen()
        except ScreenStackError:
            pass
        return self.dashboard

    # ----------------------------------------------------------------- failures
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker becomes something the user sees."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        text = safe(str(error) or type(error).__name__)
        group = event.worker.group
        if group == "poll":
            self._poll_failed(text)
            self._after_poll()
        elif group == "load":
            self.notify(text, title="Cannot read the job store", severity="error", markup=False)
        elif group == "usage":
            self.usage_checked = True
            self.notify(text, title="Could not count token usage", severity="warning", markup=False)
        else:
            what = event.worker.description or "a background task"
            self.notify(text, title=f"Could not {what}", severity="error", markup=False)


# ----------------------------------------------------------------------------- helpers
class _NoWaitExecutor(ThreadPoolExecutor):
    """The event loop's executor: shutting down never blocks on a network call still in flight."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


def _exit_now_if_io_pending(code: int) -> None:
    """After the app has restored the terminal: if a worker is still inside a blocking call, leave now.

    Safe for the data: the store is written by atomic rename and results through a partial file that
    is renamed only when complete, so an interrupted write leaves the old state, never half a file.
    """
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if busy:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


DEMO_PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about a terminal window.",
    "List three uses of a batch API.",
    "What is the capital of Australia?",
    "Summarise the rules of chess in one paragraph.",
]


def write_demo_requests(directory: Path) -> Path:
    """Write the demo's 5-request JSONL file (replacing an older one) and return its path."""
    from gembatch_tui import paths

    paths.ensure_private_dir(directory)
    path = directory / "demo-requests.jsonl"
    lines = [
        json.dumps({"key": f"demo-{i}", "request": {"contents": [{"parts": [{"text": prompt}]}]}})
        for i, prompt in enumerate(DEMO_PROMPTS, start=1)
    ]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def make_app(
    settings: Settings,
    *,
    store: JobStore | None = None,
    service: Any | None = None,
    clock: Callable[[], datetime] = utc_now,
    poll: bool = True,
    seed_demo: bool | None = None,
    runtime: Any | None = None,
) -> GembatchApp:
    """Build the app from injected parts: tests pass a tmp store, an emulator-backed service or None,
    a fixed clock and `poll=False`; `run()` passes what `open_runtime` built."""
    return GembatchApp(
        settings,
        store if store is not None else JobStore(settings.store_path),
        service,
        clock=clock,
        poll=poll,
        seed_demo=settings.demo if seed_demo is None else seed_demo,
        runtime=runtime,
    )


def run(settings: Settings) -> int:
    """Open the runtime (starting the demo emulator if asked), run the app, and close what was started."""
    from gembatch_tui.cli import UsageError
    from gembatch_tui.core.errors import ServiceError
    from gembatch_tui.runtime import open_runtime

    if settings.demo:
        settings.poll_interval = DEMO_POLL_INTERVAL
    try:
        runtime = open_runtime(settings, demo_job_seconds=DEMO_JOB_SECONDS)
    except (ServiceError, OSError) as exc:
        raise UsageError(str(exc)) from None
    try:
        app = make_app(settings, store=runtime.store, service=runtime.service, runtime=runtime)
        result = app.run()
    finally:
        runtime.close()
    code = result if isinstance(result, int) else 0
    _exit_now_if_io_pending(code)
    return code


__all__ = ["GembatchApp", "make_app", "run"]
