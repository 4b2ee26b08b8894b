"""Pilot tests of the submit screen against the real emulator, service and store (no SDK mocks)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, wait_until

from gembatch_tui.core.models import batch_name
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.messages import JobsSubmitted, StoreChanged
from gembatch_tui.tui.submit.file_preview import FilePreview
from gembatch_tui.tui.submit.confirm import ConfirmSubmit
from gembatch_tui.tui.submit.log import SubmitLog
from gembatch_tui.tui.submit.screen import SubmitScreen


def log_text(screen) -> str:  # type: ignore[no-untyped-def]
    log = screen.query_one(SubmitLog)
    return "\n".join(text_of(w) for w in log.query("Static"))


def dialog_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(text_of(w) for w in app.screen.query("Static"))


def preview_text(screen) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(text_of(w) for w in screen.query_one(FilePreview).query("Static"))


async def confirm(pilot, screen) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmSubmit), what="the confirm dialog")
    await pilot.press("y")
    await wait_until(pilot, lambda: pilot.app.screen is screen, what="the dialog to close")


async def marked_basic(pilot):  # type: ignore[no-untyped-def]
    """The submit screen with basic.jsonl marked."""
    screen = await submit_screen(pilot)
    await highlight(pilot, screen, "basic.jsonl")
    await pilot.press("space")
    return screen


def slow_host(emulator_factory, make_host, data_dir: Path, latency_ms: int):  # type: ignore[no-untyped-def]
    """(app, emulator) where every answer takes `latency_ms`, the SDK imported already, so a key lands in the run."""
    emulator = emulator_factory(latency_ms=latency_ms)
    app = make_host(emulator, data_dir)
    assert app.service.client.sdk is not None
    return app, emulator


async def test_submit_two_good_files_and_refuse_the_broken_one(data_dir: Path, emulator, make_host) -> None:
    app = make_host(emulator, data_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "basic.jsonl")  # tree order: basic, broken, structured-output
        await pilot.press("space", "space", "space")  # space marks and moves down
        assert sorted(p.name for p in screen.picker.marked) == [
            "basic.jsonl", "broken.jsonl", "structured-output.jsonl"]
        totals = screen.query_one("#totals")
        await wait_until(pilot, lambda: "checking" not in text_of(totals), what="the totals")
        assert text_of(totals).startswith("3 marked · 10 requests")
        assert "1 with errors" in text_of(totals)

        await confirm(pilot, screen)
        await wait_until(pilot, lambda: screen.has_results and not screen.running, timeout=30, what="the run")

        shown = log_text(screen)
        assert "Done: 2 submitted, 1 refused" in shown
        assert "broken.jsonl  refused: 3 problems" in shown
        assert "line 2: not valid JSON" in shown
        assert "line 3: duplicate key 'a' (first seen on line 1)" in shown

        records = JobStore(app.store.path).read_all()
        by_file = {Path(r["input_file"]).name: r for r in records}
        assert sorted(by_file) == ["basic.jsonl", "structured-output.jsonl"]
        remote = {b["name"]: b for b in emulator.batches_snapshot()}
        assert sorted(remote) == sorted(r["batch"]["name"] for r in records)
        for name, record in by_file.items():
            assert f"{name}  submitted as {record['batch']['name']} (5 requests)" in shown
            assert record["display_name"] == name
            assert remote[record["batch"]["name"]]["request_count"] == 5
            assert "local_state" not in record
        # the app heard about it at once: a StoreChanged per submitted file, then JobsSubmitted with both names
        submitted = [m for m in app.received if isinstance(m, JobsSubmitted)]
        assert len(submitted) == 1 and sorted(submitted[0].names) == sorted(remote)
        assert sum(isinstance(m, StoreChanged) for m in app.received) >= 2
        # submitted files are unmarked; the refused one stays marked to be fixed
        assert [p.name for p in screen.picker.marked] == ["broken.jsonl"]


async def test_duplicate_is_skipped_then_forced(data_dir: Path, emulator, make_host) -> None:
    app = make_host(emulator, data_dir)

    def runs() -> int:
        return sum(isinstance(m, JobsSubmitted) for m in app.received)

    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "basic.jsonl")
        await pilot.press("space")
        await confirm(pilot, screen)
        await wait_until(pilot, lambda: runs() == 1 and not screen.running, timeout=20)
        assert "basic.jsonl  submitted as" in log_text(screen)
        (first,) = [b["name"] for b in emulator.batches_snapshot()]

        # again: the confirm dialog says it will be skipped and as which job; y sends nothing
        await highlight(pilot, screen, "basic.jsonl")
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog")
        dialog = dialog_text(app)
        assert "Nothing to submit: 1 marked file skipped or refused" in dialog
        assert "0 to submit · 1 duplicate skipped" in dialog
        assert f"= basic.jsonl  as {first}" in dialog
        await pilot.press("y")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmSubmit)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)

        # duplicates: submit again (force); the file is still marked
        screen.query_one("#opt-dups").focus()
        await pilot.press("enter", "down", "enter")
        assert screen.query_one("#opt-dups").value == "force"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog")
        dialog = dialog_text(app)
        assert "Will be submitted (1)" in dialog and "Duplicates: submitted again" in dialog
        assert f"basic.jsonl  5 requests, again (already {first})" in dialog
        await pilot.press("y")
        await wait_until(pilot, lambda: runs() == 2 and not screen.running, timeout=20)
        assert "basic.jsonl  submitted as" in log_text(screen)
        assert len(emulator.batches_snapshot()) == 2
        assert len(JobStore(app.store.path).read_all()) == 2


async def test_options_model_and_display_name_reach_the_job(data_dir: Path, emulator, make_host) -> None:
    app = make_host(emulator, data_dir, model="gemini-2.5-flash")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        model = screen.query_one("#opt-model")
        model.focus()
        await pilot.press("down")  # next model in the catalogue
        assert model.value == "gemini-2.5-flash-lite"
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#opt-name")
        await pilot.press(*"nightly")
        await highlight(pilot, screen, "basic.jsonl")
        await pilot.press("space")
        await confirm(pilot, screen)
        await wait_until(pilot, lambda: screen.has_results and not screen.running, timeout=20)
        (batch,) = emulator.batches_snapshot()
        assert batch["display_name"] == "nightly"
        assert batch["model"].endswith("gemini-2.5-flash-lite")


async def test_escape_during_upload_cancels_cleanly(data_dir: Path, emulator_factory, make_host) -> None:
    app, emulator = slow_host(emulator_factory, make_host, data_dir, 400)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await marked_basic(pilot)
        await confirm(pilot, screen)
        # The file is tiny, so its row says "creating the job…" as soon as its bytes are read; what marks the
        # moment is the server: the upload request has arrived, and its answer is held for 400 ms.
        await wait_until(pilot, lambda: any(p.startswith("/upload/") for _m, p in emulator.request_log),
                         timeout=30, what="the upload request")
        assert screen.running
        await pilot.press("escape")
        await wait_until(pilot, lambda: not screen.running, timeout=20, what="the run to stop")
        assert pilot.app.screen is screen  # escape cancelled the upload; it did not leave the screen
        assert "basic.jsonl  cancelled" in log_text(screen)
        assert JobStore(app.store.path).read_all() == []
        assert emulator.files_snapshot() == []
        assert emulator.batches_snapshot() == []
        paths = [path for _method, path in emulator.request_log]
        assert any(p.startswith("/upload/") for p in paths), paths  # the upload had begun on the server
        assert not any("batchGenerateContent" in p for p in paths)
        await pilot.press("escape")  # now escape goes back
        await wait_until(pilot, lambda: pilot.app.screen is not screen, what="escape to leave")


async def test_escape_while_the_job_is_created_says_it_came_too_late(data_dir: Path, emulator_factory,
                                                                      make_host) -> None:
    """A create is never abandoned: the escape stops the files after it, and the file's line, the run's heading and
    the session's log say the job exists and how to cancel it, instead of "Cancelled"."""
    app, emulator = slow_host(emulator_factory, make_host, data_dir, 1500)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await marked_basic(pilot)
        await confirm(pilot, screen)
        await wait_until(pilot, lambda: any("batchGenerateContent" in p for _m, p in emulator.request_log),
                         timeout=30, what="the create request")  # the server holds its answer for 1.5 s
        await pilot.press("escape")
        await wait_until(pilot, lambda: not screen.running, timeout=20, what="the run to stop")
        shown = log_text(screen)
        jobs = emulator.batches_snapshot()
        assert len(jobs) == 1
        assert "Stopped: 1 submitted" in shown and "Cancelled" not in shown
        assert f"basic.jsonl  submitted as {jobs[0]['name']}" in shown
        assert "the cancel came after its job was created: c on the dashboard cancels the job" in shown
        assert [batch_name(r) for r in JobStore(app.store.path).read_all()] == [jobs[0]["name"]]
        assert app.events == [f"basic.jsonl: submitted as {jobs[0]['name']} (5 requests)"]  # kept in the log


async def test_escape_in_the_path_field_clears_it_and_keeps_the_marks(data_dir: Path, emulator_factory,
                                                                       make_host) -> None:
    """Escape in the path field used to leave the screen, and every marked file with it. Now it clears the field,
    then gives the keys back to the files; only an escape there leaves. During an upload it still cancels it."""
    app, _emulator = slow_host(emulator_factory, make_host, data_dir, 1000)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await marked_basic(pilot)
        field = screen.query_one("#path")
        await pilot.press("slash", "b", "a")
        assert field.has_focus and field.value == "ba"
        await pilot.press("escape")
        assert pilot.app.screen is screen and field.value == "" and field.has_focus
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.query_one("#picker").has_focus, what="the files to get the keys")
        assert pilot.app.screen is screen
        assert [p.name for p in screen.picker.marked] == ["basic.jsonl"]
        await confirm(pilot, screen)  # the marks went in: an escape with the field focused cancels the upload
        await wait_until(pilot, lambda: screen.running, what="the run")
        field.focus()
        await pilot.press("escape")
        await wait_until(pilot, lambda: not screen.running, timeout=20, what="the run to stop")
        assert pilot.app.screen is screen and "basic.jsonl  cancelled" in log_text(screen)
        await pilot.press("escape")  # the field is empty and nothing runs: to the files, then away
        await wait_until(pilot, lambda: screen.query_one("#picker").has_focus, what="the files to get the keys")
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is not screen, what="escape to leave")


async def test_escape_in_the_options_goes_to_the_files_and_leaving_keeps_the_marks(data_dir: Path,
                                                                                     make_host) -> None:
    """Escape in the model or name field left the screen and dropped every marked file without a word. Now it
    gives the keys back to the files, as in the path field; leaving from there keeps the marks for the next `s`."""
    app = make_host(None, data_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await marked_basic(pilot)
        for field in ("#opt-model", "#opt-name", "#opt-dups"):
            screen.query_one(field).focus()
            await pilot.pause()
            await pilot.press("escape")
            await wait_until(pilot, lambda: screen.query_one("#picker").has_focus, what=f"the files, from {field}")
            assert pilot.app.screen is screen and [p.name for p in screen.picker.marked] == ["basic.jsonl"]
        await pilot.press("escape")  # from the files: the screen is left, the marks are kept
        await wait_until(pilot, lambda: pilot.app.screen is not screen, what="escape to leave")
        again = SubmitScreen(data_dir)
        await pilot.app.push_screen(again)  # as `s` on the dashboard opens it
        await wait_until(pilot, lambda: bool(again.query("FilePicker")), what="the screen to be composed")
        assert await submit_screen(pilot) is again
        assert again is not screen and [p.name for p in again.picker.marked] == ["basic.jsonl"]
        marked = again.marked_list
        assert any("basic.jsonl" in str(marked.get_option_at_index(i).prompt) for i in range(marked.option_count))


async def test_path_field_glob_and_mark_all(data_dir: Path, make_host) -> None:
    (data_dir / "notes.txt").write_text("not a batch\n")
    app = make_host(None, data_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        await pilot.press("slash")
        assert screen.focused is screen.query_one("#path")
        await pilot.press(*"*.jsonl", "enter")
        await wait_until(pilot, lambda: len(screen.picker.marked) == 3, what="the glob to mark 3 files")
        screen.picker.focus()
        await pilot.press("u")
        assert not screen.picker.marked
        await highlight(pilot, screen, "notes.txt")
        await pilot.press("a")  # every JSONL file of the highlighted file's folder; not notes.txt
        await wait_until(pilot, lambda: len(screen.picker.marked) == 3)
        assert "notes.txt" not in {p.name for p in screen.picker.marked}
        await pilot.press("a")  # all marked already: a unmarks them
        await wait_until(pilot, lambda: not screen.picker.marked)
        # a folder typed in the path field becomes the tree's root
        sub = data_dir / "more"
        sub.mkdir()
        (sub / "x.jsonl").write_text((data_dir / "basic.jsonl").read_text())
        await pilot.press("slash", *"more", "enter")
        await wait_until(pilot, lambda: screen.picker.path == sub.resolve(), what="the tree to move")
        await wait_until(pilot, lambda: [n.label.plain for n in screen.picker.root.children] == ["x.jsonl"])


async def test_preview_shows_every_problem_with_line_numbers(data_dir: Path, make_host) -> None:
    app = make_host(None, data_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "broken.jsonl")
        # this file's report: under load the preview may still hold the file highlighted before it
        await wait_until(pilot, lambda: screen.preview.report is not None
                         and Path(screen.preview.report.path).name == "broken.jsonl", what="the preview")
        shown = preview_text(screen)
        assert "✗ Cannot be submitted: 3 problems" in shown
        for line in ("line 2: not valid JSON: Expecting property name enclosed in double quotes at column 2",
                     "line 3: 'contents' must be a non-empty list or a string, not empty",
                     "line 3: duplicate key 'a' (first seen on line 1)"):
            assert line in shown
        assert "1  a: fine" in shown  # first lines in readable form
        await highlight(pilot, screen, "basic.jsonl")
        await wait_until(pilot, lambda: "✓ Ready to submit" in preview_text(screen))
        shown = preview_text(screen)
        assert "5 requests · 777 B · ~103 input tokens" in shown
        await wait_until(pilot, lambda: "gemini-2.5-flash: input + output" in preview_text(screen),
                         what="the whole cost")  # the output side too, estimated after the check
        shown = preview_text(screen)
        assert "request_1: What are the main differences" in shown
