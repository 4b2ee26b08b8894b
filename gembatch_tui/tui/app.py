"""Provides the full-screen app: GembatchApp, its factory `make_app`, and `run(settings)` for the CLI.

The app owns the data and the poller; screens only show it and ask for actions:
- thread workers do every blocking call (store, service) and report by past-tense message (app_messages.py);
  they never touch a widget. One `on_worker_state_changed` turns a failed worker into a notification.
- the poller (PollOwner, polling.py) runs one pass at a time (never two), re-arms a timer when it
  finishes, doubles the wait after a failure (up to 5 min), and keeps running while a dialog or another
  screen is open.
- new records are fanned out to screens with the `jobs_changed` signal.
- after the first read, a worker counts the token usage of results saved without it (`ledger.fill_missing_usage`)
  and, if it recorded any, posts StoreChanged("usage") so totals and details include them.

With no key and no `--demo`, `run()` starts the app on the real store with no service and `missing_key`: the
first screen (NoKeyScreen) says which key is missing, where the store is and how many jobs it holds, and offers
the demo (the app ends and `run()` starts it again in demo mode), the store read-only, or quit (exit 2).
It never opens the demo store by itself. Quitting asks first while an upload or download is in flight
(QuitGuard, quit.py); every notification is an event of the session (EventsOwner, events.py).

Demo mode (`--demo`, or chosen on the no-key screen): `run()` starts the in-process emulator through `open_runtime`, with
jobs that take ~20 s and a 3 s poll. If the demo store is empty at start, a worker (DemoSeeder,
demo_seed.py) writes a generated 5-request file and submits it, so there is something to watch.
Quitting stops whatever `run()` started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState, get_current_worker

from gembatch_tui.tui.events import EventsOwner
from gembatch_tui.tui.app_messages import DownloadProgressed, JobsLoaded, UsageFilled
from gembatch_tui.tui.polling import TICK_S, PollOwner
from gembatch_tui.tui.quit import QuitGuard
from gembatch_tui.tui.store_follow import StoreFollow
from gembatch_tui.tui.palette import GembatchCommands
from gembatch_tui.core.config import Settings
from gembatch_tui.core.models import Record, record_key
from gembatch_tui.core.store import JobStore, StoreError
from gembatch_tui.tui.demo import DEMO_PROMPTS, DemoSeeder, write_demo_requests
from gembatch_tui.tui.io_shutdown import NoWaitExecutor
from gembatch_tui.tui.job_actions import JobActions
from gembatch_tui.tui.messages import JobsSubmitted, StoreChanged
from gembatch_tui.tui.widgets.safe_text import safe

if TYPE_CHECKING:
    from gembatch_tui.tui.dashboard.screen import DashboardScreen


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class GembatchApp(JobActions, QuitGuard, EventsOwner, PollOwner, DemoSeeder, StoreFollow, App[int]):
    """gembatch-tui: watch, download and clean up Gemini batch jobs (cancel and delete: see JobActions)."""

    CSS_PATH = "app.tcss"
    TITLE = "gembatch-tui"
    COMMANDS = {GembatchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "help", "Help", key_display="?", show=False, id="app.help_alt"),
        Binding("E", "events", "Events", show=False, tooltip="Every event of this session", id="app.events"),
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
        missing_key: bool = False,
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
        self._init_poller(settings.poll_interval, poll and service is not None)
        self._seed_demo = seed_demo
        self._load_seq = 0
        self._applied_seq = -1
        self._problems_reported = 0
        self.usage_checked = False
        """True once results saved without usage (by an older version, or the CLI) have been counted, and the
        store re-read if that changed it: the dashboard totals are then final for this start."""
        self._usage_seq = 0
        self._init_events()
        self.missing_key = missing_key
        """Started with no API key and no --demo: the no-key screen comes first, then (if chosen) the store
        read-only: nothing is written, polled or submitted."""
        self.next_step = ""
        """"demo" when the user chose the demo on the no-key screen: `run()` then starts the app again in demo mode."""
        if settings.demo:
            self.title = "gembatch-tui (demo)"
        elif missing_key:
            self.title = "gembatch-tui (read-only: no API key)"
        elif getattr(settings, "profiles", None):  # several keys: the one that submits is on the top line
            self.title = f"gembatch-tui · profile {settings.profile}"

    # ----------------------------------------------------------------- start and stop
    def get_default_screen(self) -> Screen:
        from gembatch_tui.tui.dashboard.screen import DashboardScreen

        return DashboardScreen()

    def on_mount(self) -> None:
        # Thread workers run on the loop's default executor, and asyncio waits for it on exit: a poll
        # stuck in a slow HTTP call would keep `q` from quitting for minutes. This one does not wait.
        asyncio.get_running_loop().set_default_executor(NoWaitExecutor(thread_name_prefix="gembatch-io"))
        # Read the store once the first frame is on screen: parsing a big store in a thread competes
        # with the first paint for the interpreter, and the user should see the app at once.
        self.call_after_refresh(self.load_jobs)
        self.store_follow_start()  # writes by other processes show within seconds, polling or not
        from gembatch_tui.tui.theme_memory import remember_theme

        remember_theme(self)  # the theme picked in the palette last time (ui.json beside the config)
        if self.missing_key:
            self._show_no_key_screen()
        if self._poll_enabled:
            self.set_interval(TICK_S, self._tick)

    def _show_no_key_screen(self) -> None:
        from gembatch_tui.core import paths
        from gembatch_tui.tui.no_key import NoKeyScreen

        path = self.store.path
        screen = NoKeyScreen(str(path), path.exists(), str(paths.default_store_path(demo=True)))
        self.push_screen(screen, self._no_key_answered)

    def _no_key_answered(self, answer: str | None) -> None:
        from gembatch_tui.core.config import MISSING_KEY_MESSAGE

        if answer == "demo":
            self.next_step = "demo"
            self.exit(0)
        elif answer == "browse":
            self.record_event("no API key: nothing is polled or sent; set GEMINI_API_KEY and start again to "
                              "use this store", title="Read-only", severity="warning")
        else:
            self.exit(2, return_code=2, message=MISSING_KEY_MESSAGE)

    def label_absent_keys(self, records: list[Record]) -> None:
        """Jobs of a key that is not set (core/keys.py) get `key_absent` in these in-memory records, for the row
        and the detail; every read of the store for the screens goes through here, so reads compare equal."""
        ring = getattr(self.runtime, "key_ring", None)
        if ring is not None and not self.missing_key:
            from gembatch_tui.core.keys import label_absent

            label_absent(records, ring())

    def switch_profile(self, name: str) -> None:
        """The palette's 'Profile: NAME': the app starts again with that profile's key (cli/app_command.run)."""
        self.next_step = f"profile:{name}"
        self.exit(0)

    def on_unmount(self) -> None:
        self.stop_presence()  # this app no longer polls: `poll --watch` and other apps stop naming it
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
        try:
            records, problems = self.store.read_with_problems()
        except Exception:
            self.store_follow_retry()  # the store follow asks again at its next tick
            raise
        self.label_absent_keys(records)
        if not get_current_worker().is_cancelled:
            first = str(getattr(problems[0], "message", "") or problems[0]) if problems else ""
            self.post_message(JobsLoaded(records, len(problems), seq, first))

    def on_jobs_loaded(self, message: JobsLoaded) -> None:
        if message.seq < self._applied_seq:
            return
        self._applied_seq = message.seq
        first = not self.loaded
        self._set_records(message.records)
        if message.problems and message.problems != self._problems_reported:
            self._problems_reported = message.problems
            more = f" (+{message.problems - 1} more)" if message.problems > 1 else ""
            self.notify(
                f"{message.first_problem or 'a line of the store could not be read'}{more}; "
                "skipped lines are kept as they are",
                title="Store",
                severity="warning",
                markup=False,
            )
        if first and self.missing_key:  # read-only: no usage write-back, no demo, no poll
            self.usage_checked = True
            return
        if first:
            for warning in getattr(self.settings, "warnings", []):  # a misspelt config key, once per start
                self.notify(warning, title="Config", severity="warning", markup=False)
            self._usage_worker(message.records)
            if self._seed_demo and not message.records and self.service is not None:
                self._seed_worker()
            elif self._poll_enabled:
                self.schedule_poll(0.2)

    @work(thread=True, exclusive=True, group="usage", exit_on_error=False, description="count token usage")
    def _usage_worker(self, records: list[Record]) -> None:
        from gembatch_tui.core.results import ledger

        try:
            filled = ledger.fill_missing_usage(self.store, records)
        except StoreError:  # a read-only store: the usage is counted again next time, nothing is lost
            filled = []
        self.post_message(UsageFilled(filled))

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
        self.poll_soon(within=1.0)

    # ----------------------------------------------------------------- actions (used by screens and the palette)
    def action_events(self) -> None:
        from gembatch_tui.tui.event_log import EventsScreen

        if not isinstance(self.screen, EventsScreen):
            self.push_screen(EventsScreen())

    def get_system_commands(self, screen: Screen) -> Any:
        """Of Textual's own palette commands only the theme switch: Quit, Keys and Help are ours already."""
        for command in super().get_system_commands(screen):
            if "theme" in command.title.lower():
                yield command

    def action_help(self) -> None:
        from gembatch_tui.tui.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(first=type(self.screen)))

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
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        """A worker failed that nobody nearer handled (screens forward theirs: tui/worker_failures.py)."""
        error = worker.error
        what = worker.description or "a background task"
        self.notify(safe(str(error) or type(error).__name__), title=f"Could not {what}", severity="error",
                    markup=False)


def make_app(
    settings: Settings,
    *,
    store: JobStore | None = None,
    service: Any | None = None,
    clock: Callable[[], datetime] = utc_now,
    poll: bool = True,
    seed_demo: bool | None = None,
    runtime: Any | None = None,
    missing_key: bool = False,
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
        missing_key=missing_key,
    )


__all__ = ["DEMO_PROMPTS", "DownloadProgressed", "GembatchApp", "make_app", "utc_now", "write_demo_requests"]
