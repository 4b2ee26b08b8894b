"""The resources screen driven by keys (Pilot) against the emulator: listing, clean-up, protection,
per-item failures, adopt, cancel all, and server text shown literally."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests import pilot_support
from tests.pilot_support import screen_text

from tests.resources.res_host import HostApp
from tests.resources.res_scenario import NASTY, Scenario
from textual.message import Message

from gembatch_tui.core.models import CANCELLED, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.tui.messages import StoreChanged
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.resources.screen import ResourcesScreen
from gembatch_tui.tui.resources.questions import OutcomeDialog
from gembatch_tui.tui.resources.messages import WorkProgressed


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """The resources screen lists pages from the emulator: allow it a little longer than the default."""
    return await pilot_support.wait_for(pilot, predicate, timeout, what)

SAFE_SET = ("safe_batch", "safe_input", "safe_output", "cancel_batch", "cancel_input")


def screen(app: HostApp) -> ResourcesScreen:
    return next(s for s in app.screen_stack if isinstance(s, ResourcesScreen))


def idle(app: HostApp) -> Any:
    return lambda: (s := screen(app)).inventory is not None and not s.busy and isinstance(app.screen, ResourcesScreen)


async def ask_cancel_all(pilot: Any, app: HostApp) -> None:
    """Once the listing is in: C, until the question for the one active job is up."""
    await wait_for(pilot, idle(app))
    await pilot.press("C")
    await wait_for(pilot, lambda: "Cancel 1 pending or running job" in screen_text(app))
    assert isinstance(app.screen, ConfirmDialog)


def footer_keys(app: HostApp) -> set[str]:
    from textual.widgets._footer import FooterKey

    return {key.key for key in app.screen.query(FooterKey) if not key.has_class("-disabled")}


async def test_lists_both_tabs_with_flags_progress_and_summary(scenario: Scenario) -> None:
    seen: list[Message] = []
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await wait_for(pilot, idle(app), what="the first listing")
        await wait_for(pilot, lambda: "Files 10" in screen_text(app), what="the tab counts")
        text = screen_text(app)
        assert "Jobs 5" in text
        assert "2 active · 5 protected · 5 safe · 5 orphan · 1 expiring" in text
        assert "6.5 KiB of 18.6 GiB (0.0%) · 1 of 100 jobs active" in text
        assert "[bold]x[/bold] [@click=app.quit]q[/] \\x1b[31mred"[:20] in text  # literal, escape spelled out
        assert "4h 59m" in text  # the old upload expires soon
        # Progress messages replace each other (only the latest matters); the last page of jobs always shows.
        assert any(isinstance(m, WorkProgressed) and m.text == "listing jobs: page 1, 5 so far…" for m in seen)
        assert screen(app).check_action("adopt", ()) is False  # adopt only applies on the jobs tab
        await pilot.press("tab")
        await wait_for(pilot, lambda: "succeeded" in screen_text(app), what="the jobs tab")
        text = screen_text(app)
        for word in ("pending", "succeeded", "cancelled", "2.5-flash"):
            assert word in text


async def test_clean_up_selects_exactly_the_safe_set_and_deletes_it(scenario: Scenario) -> None:
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, idle(app))
        before = scenario.remote_names()
        await pilot.press("u")
        assert screen(app).selected == {scenario.names[k] for k in SAFE_SET}
        assert screen(app).filter == "safe"
        await pilot.press("d")
        await wait_for(pilot, lambda: "Will delete 5 remote items" in screen_text(app))
        assert isinstance(app.screen, ConfirmDialog) and "PROTECTED" not in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, idle(app), what="the deletion")
        assert before - scenario.remote_names() == {scenario.names[k] for k in SAFE_SET}
        assert screen(app).selected == set()
        assert any(isinstance(m, StoreChanged) for m in app.received)
        await wait_for(pilot, lambda: "deleted 5 of 5" in screen_text(app))


async def test_protected_rows_need_a_second_confirmation_naming_the_risk(scenario: Scenario) -> None:
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, idle(app))
        before = scenario.remote_names()
        await pilot.press("f", "f")  # all -> active -> protected
        assert screen(app).filter == "protected"
        await pilot.press("a")
        protected_files = {scenario.names[k] for k in ("prot_input", "prot_output", "orphan_output")}
        assert screen(app).selected == protected_files
        await pilot.press("d")
        await wait_for(pilot, lambda: "3 of them PROTECTED" in screen_text(app))
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and "NOT saved" in screen_text(app))
        assert "The only copy of results that are not downloaded" in screen_text(app)
        await pilot.press("n")  # the second question declined: nothing at all is deleted
        await wait_for(pilot, idle(app))
        assert scenario.remote_names() == before
        await wait_for(pilot, lambda: "nothing deleted" in screen_text(app))
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and "NOT saved" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen(app).inventory is not None
                       and not (protected_files & screen(app).inventory.names()), what="the deletion")
        assert before - scenario.remote_names() == protected_files


async def test_deletion_failures_are_reported_per_item(scenario: Scenario) -> None:
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, idle(app))
        bad = scenario.names["safe_input"]
        # Not a 403: for a recorded file, 403 means "already gone" (the Files API's answer for a deleted file).
        scenario.emulator.fail_next("DELETE", rf"/{bad}$", 400, message="delete refused (injected)")
        await pilot.press("u", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, OutcomeDialog), what="the outcome report")
        await wait_for(pilot, lambda: "deletions failed" in screen_text(app))
        text = screen_text(app)
        assert "1 of 5 deletions failed" in text and "Deleted 4 of 5." in text
        assert "✖ uploaded input file " + bad in text and "delete refused (injected)" in text
        assert text.count("✔ ") == 4
        await pilot.press("enter")
        await wait_for(pilot, idle(app))
        assert screen(app).failed.keys() == {bad}
        await wait_for(pilot, lambda: "✖ failed" in screen_text(app) and "1 failed" in screen_text(app))
        assert bad in scenario.remote_names()
        assert screen(app).selected == {bad}  # what failed stays selected, so d tries it again
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: bad not in scenario.remote_names(), what="the retry")


async def test_adopt_a_job_created_outside_the_store(scenario: Scenario) -> None:
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, idle(app))
        await pilot.press("2", "f", "f", "f", "f")  # jobs tab, filter: orphan
        assert screen(app).filter == "orphan" and screen(app).table().row_count == 1
        await wait_for(pilot, lambda: "A" in footer_keys(app), what="the adopt key")
        await pilot.press("A")
        await wait_for(pilot, lambda: scenario.store.find_by_batch_name(scenario.names["orphan_batch"]))
        await wait_for(pilot, idle(app))
        record = scenario.store.find_by_batch_name(scenario.names["orphan_batch"])
        assert record is not None and record["adopted"] is True and record["display_name"] == NASTY
        assert any(isinstance(m, StoreChanged) for m in app.received)
        row = screen(app).inventory.by_name()[scenario.names["orphan_batch"]]
        assert row.in_store and row.flags == {"protected"}
        assert screen(app).table().row_count == 0  # no longer an orphan


async def test_cancel_all_active_jobs_after_confirmation(scenario: Scenario) -> None:
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(100, 30)) as pilot:
        await ask_cancel_all(pilot, app)
        await pilot.press("n")
        await wait_for(pilot, idle(app))
        assert record_state(scenario.service.resolve(scenario.names["active_batch"])) != CANCELLED
        await pilot.press("C", "y")
        await wait_for(pilot, lambda: idle(app)() and screen(app).inventory.summary.active_jobs == 0)
        assert record_state(scenario.service.resolve(scenario.names["active_batch"])) == CANCELLED
        assert screen(app).check_action("cancel_all", ()) is None  # nothing left to cancel


async def test_active_rows_are_never_deleted_and_escape_goes_back(scenario: Scenario) -> None:
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, idle(app))
        await pilot.press("f")  # active
        assert screen(app).table().cursor_item().name == scenario.names["active_input"]
        before = scenario.remote_names()
        await pilot.press("d")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ResourcesScreen)  # no dialog: nothing could be deleted
        assert scenario.remote_names() == before
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ResourcesScreen))


async def test_flags_follow_the_store_when_the_app_reads_it_again(scenario: Scenario) -> None:
    """A poll downloads the protected job's results: its rows turn safe without asking the server again."""
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, idle(app))
        prot = scenario.names["prot_output"]
        assert screen(app).inventory.by_name()[prot].flags == {"protected"}
        assert all(d.ok for d in poll_once(scenario.service).downloads)
        requests = len(scenario.emulator.request_log)
        app.jobs_changed.publish(scenario.store.read_all())
        await wait_for(pilot, lambda: screen(app).inventory.by_name()[prot].flags == {"safe"})
        assert len(scenario.emulator.request_log) == requests
        await pilot.press("u")
        assert {scenario.names[k] for k in ("prot_batch", "prot_input", "prot_output")} <= screen(app).selected


async def test_a_failed_listing_is_reported_and_r_tries_again(scenario: Scenario) -> None:
    scenario.emulator.fail_next("GET", r"/files$", 403, message="listing refused (injected)")
    app = HostApp(scenario.service, scenario.clock.utc)
    notes = lambda: [n for n in app._notifications if n.title == "Could not list remote files and jobs"]  # noqa: E731
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "✖ could not list remote files and jobs" in screen_text(app))
        await wait_for(pilot, notes, what="the notification")
        assert "listing refused (injected)" in notes()[0].message and notes()[0].severity == "error"
        assert screen(app).inventory is None and not screen(app).busy
        await pilot.press("r")
        await wait_for(pilot, idle(app))
        await wait_for(pilot, lambda: "Files 10" in screen_text(app))


async def test_the_status_line_at_80_columns_says_its_message_whole(scenario: Scenario) -> None:
    """At 80x24 the line under the table keeps what `u` did and its key whole; a hint that does not fit is cut
    with an ellipsis, never a sentence in the middle."""
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, idle(app))
        await pilot.press("u")
        await pilot.pause()
        status = screen_text(app).splitlines()[-2].rstrip()
        assert "5 selected · filter: safe · marked what `cleanup` would delete: d deletes it" in status
        assert len(status) <= 80 and status.endswith(("…", "d deletes it")), status
