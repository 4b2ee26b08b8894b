"""Provides the real-time runs this app started ("retry these N now, real-time" in the results browser): each one a
thread worker owned by the App, its cancel event, and its latest status, posted to the screens that listen.

Why the App owns the worker: leaving the results browser must not orphan a run that is sending (and paying for)
requests; the dashboard's `c` and the browser's `esc`/`c` reach it here by record key or run id.
Why listeners and not a Signal: a run reports from its worker thread, and a thread may post a message (Textual's
`post_message` is thread-safe) but not publish a Signal. A screen under another one listens for the end only:
a screen below the current one that handles a message makes Textual repaint the current one.
The run itself is core.realtime.session.run_realtime, the CLI's `run JOB --realtime`: the same lock, cap and
record, so the dashboard shows it like any job and `gembatch-tui run` could continue it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from textual.message import Message

from gembatch_tui.core.models import Record, batch_name, record_key

WORKER_GROUP = "realtime-run"


@dataclass(frozen=True)
class RunStatus:
    """Where one run of this app stands (a snapshot: a new one is posted at each change)."""

    run_id: int
    job_key: str
    """The record whose failed and missing keys it sends."""
    key: str | None = None
    """The new real-time record's key, once the run made it."""
    name: str = ""
    """`realtime/ID`, once made."""
    total: int = 0
    done: int = 0
    errors: int = 0
    paused: float = 0.0
    stopping: bool = False
    finished: bool = False
    state: str = ""
    """SUCCEEDED, CANCELLED or FAILED once a run ended; "" when nothing ran."""
    ok: bool = True
    """False when it could not start or stopped on a failure (`message` says why)."""
    message: str = ""
    record: Record | None = None
    """The new record as the store holds it at the end (its results open in the browser)."""

    @property
    def active(self) -> bool:
        return not self.finished

    @property
    def short_name(self) -> str:
        """`realtime/` and the first 8 characters of its id: a prefix every command takes as JOB."""
        if self.name.startswith("realtime/") and self.key:
            return f"realtime/{self.key[:8]}"
        return self.name or "real-time run"

    def line(self) -> str:
        """One line for the results browser and the event line."""
        who = self.short_name
        if not self.finished:
            if self.key is None:
                return f"{who}: starting…"
            paused = f", paused {self.paused:.0f}s by the server" if self.paused >= 1 else ""
            doing = "stopping (answers in flight are kept)" if self.stopping else "sending"
            return f"{who}: {doing}, {self.done:,}/{self.total:,} answered ({self.errors:,} errors){paused}"
        if not self.state:
            return f"{who}: {self.message or 'nothing was sent'}"
        state = self.state.removeprefix("JOB_STATE_").lower()
        pending = max(0, self.total - self.done)
        text = (f"{who}: {state}, {self.done - self.errors:,} ok, {self.errors:,} errors, "
                f"{pending:,} not answered")
        return f"{text}: {self.message}" if self.message else text


class RealtimeRunChanged(Message):
    """A run of this app moved on (progress), or ended (`status.finished`)."""

    def __init__(self, status: RunStatus) -> None:
        super().__init__()
        self.status = status

    def can_replace(self, message: Message) -> bool:  # only the latest progress of a run matters
        return (isinstance(message, RealtimeRunChanged) and message.status.run_id == self.status.run_id
                and not message.status.finished)


class RealtimeRuns:
    """The runs of one App: start, cancel, and who hears of them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._next = 0
        self._status: dict[int, RunStatus] = {}
        self._cancel: dict[int, threading.Event] = {}
        self._listeners: list[tuple[Any, bool]] = []

    # ----------------------------------------------------------------- who hears
    def listen(self, node: Any, *, ends_only: bool = False) -> None:
        """`node` gets RealtimeRunChanged (only for ended runs with `ends_only`) until `forget(node)`."""
        with self._lock:
            self._listeners = [(n, e) for n, e in self._listeners if n is not node] + [(node, ends_only)]

    def forget(self, node: Any) -> None:
        with self._lock:
            self._listeners = [(n, e) for n, e in self._listeners if n is not node]

    def _report(self, run_id: int, **changes: Any) -> RunStatus:
        with self._lock:
            status = self._status[run_id] = replace(self._status[run_id], **changes)
            listeners = list(self._listeners)
        for node, ends_only in listeners:
            if status.finished or not ends_only:
                node.post_message(RealtimeRunChanged(status))
        return status

    # ----------------------------------------------------------------- reading
    def status(self, run_id: int | None) -> RunStatus | None:
        with self._lock:
            return self._status.get(run_id) if run_id is not None else None

    def active_for_job(self, job_key: str) -> RunStatus | None:
        """The run of this app that retries `job_key` now, if any."""
        with self._lock:
            return next((s for s in self._status.values() if s.job_key == job_key and s.active), None)

    def running_keys(self) -> set[str]:
        """Record keys of the real-time jobs this app runs now."""
        with self._lock:
            return {s.key for s in self._status.values() if s.active and s.key}

    # ----------------------------------------------------------------- acting
    def cancel(self, run_id: int | None = None, *, key: str | None = None) -> bool:
        """Ask a run (by id, or by its record key) to stop; True when this app runs it."""
        with self._lock:
            found = next((s for s in self._status.values() if s.active
                          and (s.run_id == run_id or (key is not None and s.key == key))), None)
            event = self._cancel.get(found.run_id) if found is not None else None
        if found is None or event is None:
            return False
        event.set()
        self._report(found.run_id, stopping=True)
        return True

    def cancel_all(self) -> None:
        """The app is closing: every run stops (the answers so far are on disk; the same retry continues it)."""
        with self._lock:
            events = list(self._cancel.values())
        for event in events:
            event.set()

    def start(
        self,
        service: Any,
        job: Record,
        limits: Any,
        *,
        refuse: Callable[[Path, str], str | None] | None = None,
        window_s: float = 60.0,
    ) -> int:
        """Run the failed and missing keys of `job` in a worker of the App; returns the run's id."""
        with self._lock:
            self._next += 1
            run_id = self._next
            self._status[run_id] = RunStatus(run_id, record_key(job))
            self._cancel[run_id] = threading.Event()
        self.app.run_worker(lambda: self._run(run_id, service, job, limits, refuse, window_s), thread=True,
                            group=WORKER_GROUP, exit_on_error=False, description="run the failed requests in real time")
        return run_id

    def _run(self, run_id: int, service: Any, job: Record, limits: Any,
             refuse: Callable[[Path, str], str | None] | None, window_s: float) -> None:
        """The worker: core.realtime.session.run_realtime, its progress and its end reported; the store re-read."""
        from gembatch_tui.core.errors import ServiceError
        from gembatch_tui.core.realtime.runner import RunBusy
        from gembatch_tui.core.realtime.session import run_realtime
        from gembatch_tui.core.realtime.start import ERROR, Busy
        from gembatch_tui.core.store import StoreError
        from gembatch_tui.tui.messages import StoreChanged

        cancel = self._cancel[run_id]

        def on_start(prepared: Any) -> None:
            record = prepared.record
            self._report(run_id, key=record_key(record), name=batch_name(record) or "",
                         total=int(record.get("count") or 0))
            self.app.post_message(StoreChanged("real-time run started"))  # its row appears on the dashboard

        def progress(p: Any) -> None:
            self._report(run_id, total=p.total, done=p.done, errors=p.errors, paused=p.paused)

        try:
            session = run_realtime(service, job=job, model=None, limits=limits, refuse=refuse, cancel=cancel,
                                   progress=progress, on_start=on_start, window_s=window_s)
        except (Busy, RunBusy, ServiceError, StoreError, OSError, ValueError) as exc:
            self._report(run_id, finished=True, ok=False, message=str(exc) or type(exc).__name__)
            self.app.post_message(StoreChanged("real-time run ended"))
            return
        except BaseException as exc:
            self._report(run_id, finished=True, ok=False, message=f"{type(exc).__name__}: {exc}")
            raise  # the App's one place for failures says so too
        finally:
            with self._lock:
                self._cancel.pop(run_id, None)
        prepared, outcome = session.prepared, session.outcome
        if outcome is None:  # nothing to run, or refused before anything was sent
            self._report(run_id, finished=True, ok=prepared.status != ERROR, message=prepared.message)
            return
        record = service.store.get(outcome.record_key)
        self._report(run_id, finished=True, key=outcome.record_key, name=outcome.name, state=outcome.state,
                     total=outcome.total, done=outcome.ok + outcome.errors, errors=outcome.errors,
                     ok=not outcome.message, message=outcome.message, record=record, stopping=False)
        self.app.post_message(StoreChanged("real-time run ended"))


def runs_of(app: Any) -> RealtimeRuns:
    """The App's runs, made on first use (kept on the App, so every screen finds the same ones)."""
    runs = getattr(app, "_gembatch_realtime_runs", None)
    if runs is None:
        runs = RealtimeRuns(app)
        app._gembatch_realtime_runs = runs
    return runs


__all__ = ["WORKER_GROUP", "RealtimeRunChanged", "RealtimeRuns", "RunStatus", "runs_of"]
