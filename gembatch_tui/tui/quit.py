"""Provides QuitGuard, mixed into the App: `ctrl+q`, `ctrl+c`, the dashboard's `q` and the palette's Quit all
come here, and quitting while an upload or a download is in flight asks first.

Why it is its own module: quitting throws away whatever a worker thread is sending or receiving (a GB upload
must start again), so every way out goes through one question. With nothing in flight it quits at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.worker import WorkerState

if TYPE_CHECKING:
    from textual.app import App

    _AppBase = App[int]
else:
    _AppBase = object

TRANSFER_GROUPS = {
    "submit-run": "an upload (submit)",
    "seed": "an upload (the demo example)",
    "results-action": "a results export or resubmit",
    "dashboard-retry": "an upload (retried parts)",
    "detail-retry": "an upload (retried part)",
    "resources-act": "a change to remote resources",
    "realtime-run": "a real-time run (answers in flight are lost; the rest are kept and t continues it)",
}
"""Worker groups whose work is lost (or left half done) when the app quits, and how the question names them."""


QUESTION_REFRESH_S = 1.0
"""How often the open quit question looks again at what is in flight."""


def _in_flight_text(busy: list[str]) -> Text:
    """The quit question's body: what quitting would stop, or that nothing would be lost any more."""
    body = Text(end="")
    if not busy:
        body.append("Nothing is in flight any more: ", style="bold")
        body.append("quitting now loses nothing.")
        return body
    body.append("In flight: ")
    body.append(", ".join(busy), style="bold")
    body.append(".\n\nQuitting stops it now: an upload is thrown away and has to start again; a download "
                "starts again at the next poll (no half file is kept).")
    return body


class QuitGuard(_AppBase):
    """Needs the App's `workers` and, from PollOwner, `schedule` (its `download` names a results download)."""

    _quit_question_open = False

    def transfers_in_flight(self) -> list[str]:
        """What quitting now would interrupt, one phrase each (empty: nothing, quit at once)."""
        out: list[str] = []
        for worker in self.workers:
            what = TRANSFER_GROUPS.get(worker.group)
            if what and worker.state in (WorkerState.PENDING, WorkerState.RUNNING) and what not in out:
                out.append(what)
        schedule: Any = getattr(self, "schedule", None)
        if schedule is not None and schedule.running and schedule.download:
            out.append(f"a results download ({schedule.download})")
        return out

    def request_quit(self) -> None:
        """Quit, or ask first when something is in flight (once: a second ctrl+q while asking changes nothing)."""
        from gembatch_tui.tui.dialogs.confirm import ConfirmDialog

        busy = self.transfers_in_flight()
        if not busy:
            self.exit()
            return
        if self._quit_question_open:
            return
        dialog = ConfirmDialog("Quit while work is in flight?", _in_flight_text(busy), "quit anyway", danger=True)
        self._quit_question_open = True
        shown = [busy]

        def refresh() -> None:
            """The work finishes, or more starts, while the question is open: the question says so."""
            now = self.transfers_in_flight()
            if now != shown[0]:
                shown[0] = now
                dialog.set_body(_in_flight_text(now))

        timer = self.set_interval(QUESTION_REFRESH_S, refresh)

        def answered(yes: bool | None) -> None:
            timer.stop()
            self._quit_question_open = False
            if yes:
                self.exit()

        self.push_screen(dialog, answered)

    async def action_quit(self) -> None:
        """ctrl+q (Textual's binding) and the palette: quit, asking first when something is in flight."""
        self.request_quit()

    def action_help_quit(self) -> None:
        """ctrl+c: the same as ctrl+q (Textual's own only says which key quits)."""
        self.request_quit()


__all__ = ["TRANSFER_GROUPS", "QuitGuard"]
