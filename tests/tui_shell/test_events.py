"""Events never cover the work: finished jobs and saved results go to the one-line event line and the event log
(E), never to toasts; no toast is shown over an open dialog (a warning or error waits until it closes); poll
errors read cause first, stay on the job's detail, and a rejected key stops the polling."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.tui.app_messages import PollFinished
from gembatch_tui.core.poll.poller import PollReport, StateChange
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.event_log import EventsScreen
from gembatch_tui.tui.widgets.event_line import EventLine
from tests.pilot_support import screen_text, wait_for
from tests.tui.tui_helpers import loaded
from tests.tui_shell.shell_helpers import sample_app

KEY_401 = "get batches/job0001: not authenticated (401): check GOOGLE_API_KEY / GEMINI_API_KEY"
REFUSED = "get batches/job0002: cannot reach http://127.0.0.1:9 (connection refused)"


def finished(*names: str) -> PollReport:
    return PollReport(changes=[StateChange(n, f"batches/{n}", f"{n}.jsonl", "JOB_STATE_RUNNING",
                                           "JOB_STATE_SUCCEEDED") for n in names])


async def test_finished_jobs_are_events_not_toasts(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, loaded(app))
        app._announce(finished("alpha", "beta"))
        await pilot.pause()
        assert not app._notifications
        line = app.screen.query_one(EventLine)
        assert line.latest is not None and "beta.jsonl: succeeded" in line.latest.message
        assert "Job finished: beta.jsonl: succeeded" in screen_text(app).splitlines()[-2]
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen), what="the event log")
        await wait_for(pilot, lambda: "alpha.jsonl: succeeded" in screen_text(app), what="both events")
        assert "beta.jsonl: succeeded" in screen_text(app)
        await pilot.press("q")  # back, not quit
        await wait_for(pilot, lambda: not isinstance(app.screen, EventsScreen))
        assert app.return_code is None


async def test_no_toast_over_an_open_dialog(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, loaded(app))
        await pilot.press("down", "c")  # the pending job on the second row
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the cancel question")
        app.notify("something went wrong", severity="error", title="Poll failed")
        app.notify("exporting", title="Results")
        app._announce(finished("gamma"))
        await pilot.pause()
        assert not app._notifications  # nothing over the dialog
        assert [e.title for e in app.events][-3:] == ["Poll failed", "Results", "Job finished"]
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        await wait_for(pilot, lambda: len(app._notifications) == 1, what="the held error")
        assert next(iter(app._notifications)).message == "something went wrong"


async def test_toasts_up_when_a_dialog_opens_are_taken_down_and_an_error_comes_back_after(tmp_path: Path) -> None:
    """A toast raised just before a question would sit over its y/n line: the dialog opens clear (both are in the
    log), and the error among them is shown again once the dialog closes."""
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, loaded(app))
        app.notify("download failed for gamma", severity="error", title="Results", timeout=60)
        app.notify("exported 5 rows", title="Results", timeout=60)
        await wait_for(pilot, lambda: len(app._notifications) == 2, what="both toasts")
        await pilot.press("down", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the cancel question")
        await pilot.pause()
        assert not app._notifications
        assert not list(app.screen.query("Toast"))  # the event line under the dialog still says the latest
        assert [e.message for e in app.events][-2:] == ["download failed for gamma", "exported 5 rows"]
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        await wait_for(pilot, lambda: len(app._notifications) == 1, what="the error back")
        assert [n.message for n in app._notifications] == ["download failed for gamma"]


async def test_a_rejected_key_stops_polling_and_says_what_to_fix(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, loaded(app))
        app._poll_enabled = True  # after the first load: no real pass is scheduled
        app.schedule.started()
        app.post_message(PollFinished(PollReport(polled=2, errors=[KEY_401, KEY_401.replace("0001", "0002")]),
                                      app.records, changed=False))
        await wait_for(pilot, lambda: app.poll_blocked, what="polling stopped")
        assert app._poll_timer is None and app.schedule.next_due is None
        status = str(app.poll_status_text())
        assert status.startswith("✖ polling stopped · API key rejected: set a valid GEMINI_API_KEY")
        toast = next(iter(app._notifications))
        assert toast.title == "API key rejected: polling stopped"
        assert "not authenticated (401)" in toast.message and toast.message.index("401") < toast.message.index("get ")


async def test_a_poll_error_reads_cause_first_and_stays_on_the_job(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, loaded(app))
        app._poll_enabled = True
        app.schedule.started()
        app.post_message(PollFinished(PollReport(polled=1, errors=[REFUSED]), app.records, changed=False))
        await wait_for(pilot, lambda: app.schedule.failures == 1, what="the failed pass")
        assert app.schedule.last_error.startswith("cannot reach http://127.0.0.1:9 (connection refused)")
        assert app.events[-1].message == "cannot reach http://127.0.0.1:9 (connection refused) · get batches/job0002"
        assert not app.poll_blocked  # transient: backing off goes on
        await pilot.press("down", "enter")  # the pending job, rec0002 (batches/job0002)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail")
        text = screen_text(app)
        assert "cannot reach http://127.0.0.1:9 (connection refused)" in text
        assert "Last error" in text
