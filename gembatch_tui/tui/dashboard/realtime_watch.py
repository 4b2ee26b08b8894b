"""Provides RealtimeWatch, mixed into DashboardScreen: live progress of the real-time jobs that are running, whether
this app runs them or another process does (`gembatch-tui run FILE --realtime`).

Why a watch of its own: the poller leaves real-time jobs alone (no batch job to ask about; poller.needs_poll),
and their run writes its counters to the store about once a second. So while one runs, a worker re-reads the store
every WATCH_EVERY_S (the store answers from its cache while the file is unchanged) and, when a watched record
changed, asks the App to reload (StoreChanged); the table then changes only the cells whose text changed.
Nothing runs when no real-time job runs, so the idle dashboard sends nothing (its budget is < 4 KB a minute);
a record left RUNNING by a process that is gone (killed) is not watched. The timer and the worker are the App's:
a screen under another one that handles a message makes Textual repaint the one on top, and the detail screen
shows the same live record from the App's reload.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from gembatch_tui.core.models import Record, is_realtime, record_key, record_state
from gembatch_tui.tui.dashboard.states import ACTIVE
from gembatch_tui.tui.results.realtime_run import RealtimeRunChanged, runs_of
from gembatch_tui.tui.widgets.safe_text import safe

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.timer import Timer

    from gembatch_tui.tui.host import AppHost

    _Base = Screen[None]
else:
    _Base = object

WATCH_EVERY_S = 1.5
WATCH_GROUP = "realtime-watch"
_IN_MEMORY = ("key_absent",)  # labels the App adds to its copies (never in the store)


def _same(a: Record, b: Record) -> bool:
    return {k: v for k, v in a.items() if k not in _IN_MEMORY} == {k: v for k, v in b.items() if k not in _IN_MEMORY}


def watched_records(records: list[Record], local: set[str]) -> dict[str, Record]:
    """The real-time jobs worth re-reading: running, and run by this app, by a process that may be alive, or about
    to be taken up by one (a record is made a moment before its run claims it with its pid)."""
    from gembatch_tui.core.realtime.control import process_alive

    def live(record: Record) -> bool:
        info = record.get("realtime")
        unclaimed = not isinstance(info, dict) or not isinstance(info.get("pid"), int)
        return record_key(record) in local or unclaimed or process_alive(record)

    return {record_key(r): r for r in records if is_realtime(r) and record_state(r) in ACTIVE and live(r)}


def read_changes(store: Any, watched: dict[str, Record]) -> bool:
    """Whether the store holds another version of a watched record (or lost it). Runs in a worker thread; a store
    that cannot be read now is tried again at the next tick."""
    try:
        records = store.read_all()
    except Exception:  # noqa: BLE001 - a busy or unreadable store: the next tick reads again
        return False
    found = {record_key(r): r for r in records if record_key(r) in watched}
    return any(key not in found or not _same(found[key], old) for key, old in watched.items())


class RealtimeWatch(_Base):
    """Needs the screen's `gapp`; `watch_realtime(records)` after every new read of the store."""

    if TYPE_CHECKING:
        gapp: AppHost

    _rt_timer: Timer | None = None
    _rt_watched: dict[str, Record] | None = None

    def realtime_watch_mount(self) -> None:
        runs_of(self.app).listen(self, ends_only=True)

    def realtime_watch_unmount(self) -> None:
        """The dashboard goes when the app does: runs of this app stop (answered requests are kept)."""
        runs = runs_of(self.app)
        runs.forget(self)
        runs.cancel_all()
        if self._rt_timer is not None:
            self._rt_timer.stop()
            self._rt_timer = None

    def watch_realtime(self, records: list[Record]) -> None:
        """Start the watch when a real-time job runs, stop it when none does (called covered or not)."""
        watched = watched_records(records, runs_of(self.app).running_keys())
        self._rt_watched = watched
        if watched and self._rt_timer is None:
            self._rt_timer = self.app.set_interval(WATCH_EVERY_S, self._realtime_tick, name=WATCH_GROUP)
        elif not watched and self._rt_timer is not None:
            self._rt_timer.stop()
            self._rt_timer = None

    def _realtime_tick(self) -> None:
        watched = self._rt_watched
        if not watched:
            return
        self.app.run_worker(partial(self._realtime_read, dict(watched)), thread=True, group=WATCH_GROUP,
                            exclusive=True, exit_on_error=False, description="read the real-time jobs' progress")

    def _realtime_read(self, watched: dict[str, Record]) -> None:
        from gembatch_tui.tui.messages import StoreChanged

        if read_changes(self.gapp.store, watched):
            self.app.post_message(StoreChanged("real-time progress"))

    def on_realtime_run_changed(self, message: RealtimeRunChanged) -> None:
        """A run of this app ended: say so on the event line (its row shows it already)."""
        status = message.status
        if not status.finished:
            return
        severity = "information" if status.ok and not status.errors else "warning"
        if not status.ok:
            severity = "error"
        self.gapp.record_event(safe(status.line()), title="Real-time run", severity=severity)


__all__ = ["WATCH_EVERY_S", "RealtimeWatch", "read_changes", "watched_records"]
