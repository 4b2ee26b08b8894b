"""Journeys against the emulator (the real SDK over HTTP, no mocks): a job's life on screen, its
results, cancel and delete through the dialogs, the poller's back-off, and the demo seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.tui_helpers import flat, footer_keys, loaded, open_cancel_dialog, screen_text, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.models import batch_name, normalise_state, record_state
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.dialogs.delete import DeleteDialog
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.table import JobTable


def submit(service: BatchService, path: Path) -> str:
    outcome = service.submit(path, model="gemini-2.5-flash")
    assert outcome.status == "submitted", outcome.message
    assert outcome.batch_name
    return outcome.batch_name


def remote_state(emulator: Any, name: str) -> str | None:
    for job in emulator.batches_snapshot():
        if job.get("name") == name:
            return normalise_state(job.get("state"))
    return None


def row_text(app: Any, key: str) -> str:
    table = app.screen_stack[0].query_one(JobTable) if not isinstance(app.screen, DashboardScreen) else app.screen.query_one(JobTable)
    return " ".join(cell.plain for cell in table.get_row(key))


async def test_job_goes_pending_running_succeeded_and_results_are_saved(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emu_clock: Any
) -> None:
    name = submit(service, batch_file)
    key = store.find_by_batch_name(name)["id"]
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        await wait_for(pilot, lambda: "◌ pending" in row_text(app, key), what="pending")
        emu_clock.advance(0.6)  # past the pending part of the job's 1.5 s
        await pilot.press("r")
        await wait_for(pilot, lambda: "▶ running" in row_text(app, key), what="running")
        emu_clock.advance(2.0)
        await pilot.press("r")
        await wait_for(pilot, lambda: "✔ succeeded" in row_text(app, key), what="succeeded")
        await wait_for(pilot, lambda: "saved" in row_text(app, key), what="results saved")
        assert "3/3" in row_text(app, key)
        rec = store.get(key)
        results = Path(rec["results_file"])
        assert results.is_file() and len(results.read_text().splitlines()) == 3
        # the cursor stayed on the job, and the event line (not a toast) named it
        assert app.screen.query_one(JobTable).selected_key == key
        assert any("succeeded" in e.message for e in app.events)
        assert not any("succeeded" in str(n.message) for n in app._notifications)


async def test_cancel_through_the_dialog(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emulator: Any
) -> None:
    name = submit(service, batch_file)
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_cancel_dialog(pilot, app)
        text = screen_text(app)
        assert "Cancel this job?" in text and name in text and "cannot be resumed" in text
        await pilot.press("n")  # no: nothing happens
        assert isinstance(app.screen, DashboardScreen)
        assert remote_state(emulator, name) == "JOB_STATE_PENDING"
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: record_state(store.find_by_batch_name(name)) == "JOB_STATE_CANCELLED")
        assert remote_state(emulator, name) == "JOB_STATE_CANCELLED"
        key = store.find_by_batch_name(name)["id"]
        await wait_for(pilot, lambda: "⊘ cancelled" in row_text(app, key))
        # a cancelled job cannot be cancelled again, but can be deleted
        await wait_for(pilot, lambda: "c" not in footer_keys(app) and "d" in footer_keys(app))


async def test_delete_remote_job_files_and_record(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emulator: Any, emu_clock: Any
) -> None:
    name = submit(service, batch_file)
    key = store.find_by_batch_name(name)["id"]
    emu_clock.advance(5)
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        await wait_for(pilot, lambda: "saved" in row_text(app, key), what="results saved")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog))
        plan = flat(screen_text(app)).split("Will delete:")[1]
        assert f"remote batch job {name}" in plan and "uploaded input file" in plan and "remote results file" in plan
        assert "local record" in plan  # the CLI's default too: the results are on disk, nothing is left to protect
        files = (store.get(key)["uploaded_file_name"], store.get(key)["batch"]["dest"]["file_name"])
        await pilot.press("y")
        await wait_for(pilot, lambda: store.get(key) is None, what="record removed")
        assert remote_state(emulator, name) is None  # the job is gone on the server
        assert not set(files) & {f.get("name") for f in emulator.files_snapshot()}  # and so are its files
        await wait_for(pilot, loaded(app, 0))
        assert Path(service.results_target({"input_file": str(batch_file)})).is_file()  # results stay on disk


async def test_delete_of_unsaved_results_needs_a_second_yes(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emulator: Any, emu_clock: Any
) -> None:
    name = submit(service, batch_file)
    key = store.find_by_batch_name(name)["id"]
    emu_clock.advance(5)
    # the app polls with downloads off, so the job is SUCCEEDED with its results only on the server
    from gembatch_tui.core.poll.poller import poll_once

    poll_once(service, download=False)
    assert record_state(store.get(key)) == "JOB_STATE_SUCCEEDED"
    output = store.get(key)["batch"]["dest"]["file_name"]
    app = make_app(settings, store=store, service=service, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        assert "pending" in row_text(app, key)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog))
        assert "not downloaded" in screen_text(app)
        await pilot.press("o")  # tick the output file: the one copy of the results
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        text = flat(screen_text(app))
        assert "are NOT saved on this computer" in text and output in text
        await pilot.press("n")  # declined: back in the delete dialog, nothing deleted
        assert isinstance(app.screen, DeleteDialog)
        assert remote_state(emulator, name) == "JOB_STATE_SUCCEEDED"
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: (store.get(key) or {}).get("remote_deleted", {}).get("output"), what="output deleted")
        assert output not in {f.get("name") for f in emulator.files_snapshot()}
        assert remote_state(emulator, name) is None


async def test_detail_screen_cancel_and_follow(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path
) -> None:
    name = submit(service, batch_file)
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert name in screen_text(app)
        await wait_for(pilot, lambda: "c" in footer_keys(app) and "d" not in footer_keys(app))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and "cancelled" in screen_text(app))
        await wait_for(pilot, lambda: "d" in footer_keys(app) and "c" not in footer_keys(app))


async def test_poll_errors_back_off_and_say_so(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emulator: Any
) -> None:
    submit(service, batch_file)
    settings.poll_interval = 5.0
    emulator.fail_next("GET", r"/batches/", 400, times=2, message="injected failure")
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.schedule.failures == 1, what="first failure")
        assert app.schedule.delay() == 10.0
        await wait_for(pilot, lambda: "poll failed" in screen_text(app))
        assert "backing off" in screen_text(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.schedule.failures == 2, what="second failure")
        assert app.schedule.delay() == 20.0
        await pilot.press("r")
        await wait_for(pilot, lambda: app.schedule.failures == 0 and app.schedule.last_poll is not None)
        assert app.schedule.delay() == 5.0
        assert "poll failed" not in screen_text(app)


async def test_polls_never_overlap(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, monkeypatch: Any
) -> None:
    import threading
    import time

    from gembatch_tui.core.poll import poller

    submit(service, batch_file)
    real = poller.poll_once
    lock = threading.Lock()
    running, most, passes = [0], [0], [0]

    def slow_poll(*args: Any, **kwargs: Any) -> Any:
        with lock:
            running[0] += 1
            passes[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(1.0)
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(poller, "poll_once", slow_poll)
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.schedule.running, what="first poll")
        for _ in range(5):
            await pilot.press("r")
        await wait_for(pilot, lambda: passes[0] == 2 and not app.schedule.running, what="one follow-up pass")
        await pilot.pause(0.6)
        assert passes[0] == 2  # five presses during a pass asked for one more pass, not five
        assert most[0] == 1  # never two at once
        assert "polling…" not in screen_text(app)


async def test_demo_seeds_an_empty_store_and_the_job_moves(tmp_path: Path, service: BatchService, store: JobStore,
                                                           emu_clock: Any) -> None:
    settings = Settings(store_path=store.path, demo=True, poll_interval=0.3, bell=False)
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "DEMO" in screen_text(app)
        await wait_for(pilot, loaded(app, 1), what="demo job submitted")
        rec = store.read_all()[0]
        assert Path(rec["input_file"]).parent.name == "examples"
        assert rec["count"] == 5
        emu_clock.advance(5)
        await wait_for(pilot, lambda: "✔ succeeded" in screen_text(app), what="demo job succeeded")
        assert batch_name(rec)
        store.remove(rec["id"])  # every job deleted later: the demo does not submit its example again
        app.load_jobs()
        await wait_for(pilot, lambda: "No jobs in the store yet" in screen_text(app), what="the empty dashboard")
        assert "submits an example" not in screen_text(app) and "Press s to submit" in screen_text(app)


async def test_polling_goes_on_behind_dialogs_and_rings_once(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emu_clock: Any
) -> None:
    name = submit(service, batch_file)
    settings.poll_interval = 0.3
    settings.bell = True
    app = make_app(settings, store=store, service=service)
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        await pilot.press("enter")  # the detail screen, then help over it
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("f1")
        emu_clock.advance(5)
        await wait_for(pilot, lambda: (store.find_by_batch_name(name) or {}).get("results_verified"),
                       what="results saved while help is open")
        await wait_for(pilot, lambda: bells, what="the bell")  # the store is written before the report arrives
        assert type(app.screen).__name__ == "HelpScreen"
        assert bells == [1]
        await pilot.press("escape")
        await wait_for(pilot, lambda: "saved" in screen_text(app))  # the detail screen followed the store


async def test_a_job_that_finished_while_the_cancel_question_was_open_is_no_error(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emulator: Any, emu_clock: Any
) -> None:
    """`y` after the job ended on the server: the service refuses the cancel (400), the store is told how the job
    ended, and the user is told there was nothing to cancel, as information; it used to be a red error."""
    name = submit(service, batch_file)
    app = make_app(settings, store=store, service=service, poll=False)  # the store still says pending
    async with app.run_test(size=(80, 24)) as pilot:
        await open_cancel_dialog(pilot, app)
        emu_clock.advance(5)  # it succeeds on the server meanwhile
        await pilot.press("y")
        await wait_for(pilot, lambda: any(n.title == "Nothing to cancel" for n in app._notifications),
                       what="the note")
        note = next(n for n in app._notifications if n.title == "Nothing to cancel")
        assert note.severity == "information" and "already SUCCEEDED" in str(note.message)
        assert not any(n.severity == "error" for n in app._notifications)
        assert record_state(store.find_by_batch_name(name)) == "JOB_STATE_SUCCEEDED"
