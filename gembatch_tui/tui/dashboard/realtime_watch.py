"""Provides RealtimeWatch, mixed into DashboardScreen: live progress of the real-time jobs that are running, whether
this app runs them or another process does (`gembatch-tui run FILE --realtime`).

Why a watch of its own: the poller leaves real-time jobs alone (no batch job to ask about; poller.needs_poll),
and their run writes its counters to the store about once a second. So while one runs, a worker looks at the store
every WATCH_EVERY_S and, when a watched record changed, asks the App to reload (StoreChanged); the table then
changes only the cells whose text changed. A tick costs one `stat` while the store file is as it was at the last
read that found nothing new (StoreProbe; every store write replaces the file, so its inode, mtime and size say
whether anyone wrote): on a 10,000-job store a re-read still took a lock and copied every record (~7 ms a tick,
tests/bench/bench_realtime_watch.py). After a write the whole file is read (the store has no partial read),
once: the App's reload that follows answers from the same store's cache.
Nothing runs when no real-time job runs, so the idle dashboard sends nothing (its budget is < 4 KB a minute);
a record left RUNNING by a process that is gone (killed) is not watched. The timer and the worker are the App's:
a screen under another one that handles a message makes Textual repaint the one on top, and the detail screen
shows the same live record from the App's reload.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from gembatch_tui.core.fsutil import file_version
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


class StoreProbe:
    """read_changes that reads nothing while the store file is the version its last read found nothing new in.

    Its `changed` runs in the watch's worker (one at a time: the worker is exclusive); `forget` on the UI thread
    when the watched set changes, so the next tick reads (a read that began before it does not set `seen`)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.seen: tuple[int, int, int] | None = None
        """The file version of the last read that found every watched record as the App shows it."""
        self.reads = 0
        self.skips = 0
        self._generation = 0

    def forget(self) -> None:
        self._generation += 1
        self.seen = None

    def changed(self, watched: dict[str, Record]) -> bool:
        generation = self._generation
        version = file_version(self.store.path)  # before the read: a write during it makes the next tick read
        if version is not None and version == self.seen:
            self.skips += 1
            return False
        self.reads += 1
        changed = read_changes(self.store, watched)
        if generation == self._generation:
            # A change is read again next tick (against the App's reloaded records), so a reload that did not
            # happen is not missed.
            self.seen = None if changed else version
        return changed


class RealtimeWatch(_Base):
    """Needs the screen's `gapp`; `watch_realtime(records)` after every new read of the store."""

    if TYPE_CHECKING:
        gapp: AppHost

    _rt_timer: Timer | None = None
    _rt_watched: dict[str, Record] | None = None
    _rt_probe: StoreProbe | None = None

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
        if self._rt_probe is None or self._rt_probe.store is not self.gapp.store:
            self._rt_probe = StoreProbe(self.gapp.store)
        elif set(watched) != set(self._rt_watched or {}):
            self._rt_probe.forget()
        self._rt_watched = watched
        if watched and self._rt_timer is None:
            self._rt_timer = self.app.set_interval(WATCH_EVERY_S, self._realtime_tick, name=WATCH_GROUP)
        elif not watched and self._rt_timer is not None:
            self._rt_timer.stop()
            self._rt_timer = None

    def _realtime_tick(self) -> None:
        watched, probe = self._rt_watched, self._rt_probe
        if not watched or probe is None:
            return
        self.app.run_worker(partial(self._realtime_read, probe, dict(watched)), thread=True, group=WATCH_GROUP,
                            exclusive=True, exit_on_error=False, description="read the real-time jobs' progress")

    def _realtime_read(self, probe: StoreProbe, watched: dict[str, Record]) -> None:
        from gembatch_tui.tui.messages import StoreChanged

        if probe.changed(watched):
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


__all__ = ["WATCH_EVERY_S", "RealtimeWatch", "StoreProbe", "read_changes", "watched_records"]
