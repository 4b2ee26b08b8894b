"""Provides RealtimeRuns, mixed into DashboardScreen: the real-time runs this app started live as long as the
dashboard does, and the end of each is said on the event line.

Why no store watch of its own: a run writes its counters to the store about once a second, and the App follows
the store file (tui/store_follow.py: one `stat` every 2 s, a reload when anyone wrote it), so a run's row and
detail move whether this app runs it or another process does (`gembatch-tui run FILE --realtime`). The poller
leaves real-time jobs alone (no batch job to ask about; poller.needs_poll).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gembatch_tui.tui.results.realtime_run import RealtimeRunChanged, runs_of
from gembatch_tui.tui.widgets.safe_text import safe

if TYPE_CHECKING:
    from textual.screen import Screen

    from gembatch_tui.tui.host import AppHost

    _Base = Screen[None]
else:
    _Base = object


class RealtimeRuns(_Base):
    """Needs the screen's `gapp`; `realtime_runs_mount()` and `realtime_runs_unmount()` from the screen's own."""

    if TYPE_CHECKING:
        gapp: AppHost

    def realtime_runs_mount(self) -> None:
        runs_of(self.app).listen(self, ends_only=True)

    def realtime_runs_unmount(self) -> None:
        """The dashboard goes when the app does: runs of this app stop (answered requests are kept)."""
        runs = runs_of(self.app)
        runs.forget(self)
        runs.cancel_all()

    def on_realtime_run_changed(self, message: RealtimeRunChanged) -> None:
        """A run of this app ended: say so on the event line (its row shows it already)."""
        status = message.status
        if not status.finished:
            return
        severity = "information" if status.ok and not status.errors else "warning"
        if not status.ok:
            severity = "error"
        self.gapp.record_event(safe(status.line()), title="Real-time run", severity=severity)


__all__ = ["RealtimeRuns"]
