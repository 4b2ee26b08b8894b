"""Issue 15 point 11 with Pilot: every marked file is listed, the confirm dialog says what is sent, skipped and
refused (and fits 80x24), the preview follows a re-rooted tree, backspace goes up, tab completes a path, and R
in the results browser opens the submit screen with its retry file marked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.pilot_support import screen_text
from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, wait_until

from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.submit.confirm import ConfirmSubmit
from gembatch_tui.tui.submit.log import SubmitLog
from gembatch_tui.tui.submit.screen import SubmitScreen


def preview_title(screen: SubmitScreen) -> str:
    return text_of(screen.query_one("#preview-title"))


def dialog_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(text_of(w) for w in app.screen.query("Static"))


def marked_rows(screen: SubmitScreen) -> list[str]:
    marked = screen.marked_list
    return [str(marked.get_option_at_index(i).prompt) for i in range(marked.option_count)]


async def type_path(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    await pilot.press("slash")
    field = screen.query_one("#path")
    field.value = ""
    await pilot.press(*text, "enter")


async def test_marks_by_glob_are_listed_and_unmarked_from_the_list(data_dir: Path, make_host) -> None:
    more = data_dir / "more"
    more.mkdir()
    shutil.copyfile(data_dir / "basic.jsonl", more / "x.jsonl")
    app = make_host(None, data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        assert not screen.marked_list.display or screen.marked_list.has_class("-empty")  # hidden while empty
        await type_path(pilot, "more/*.jsonl")  # a folder the tree does not show open
        await wait_until(pilot, lambda: len(screen.picker.marked) == 1, what="the glob mark")
        await type_path(pilot, "b*.jsonl")
        await wait_until(pilot, lambda: len(screen.picker.marked) == 3, what="the second glob")
        assert marked_rows(screen) == ["x.jsonl  more/", "basic.jsonl", "broken.jsonl"]
        assert screen.marked_list.border_title == "Marked (3)"
        assert "x.jsonl  more/" in screen_text(app)  # on screen at 80x24, not only in the widget

        screen.picker.focus()
        await pilot.press("m")  # the key that goes to the list
        assert screen.focused is screen.marked_list
        await wait_until(pilot, lambda: preview_title(screen) == "more/x.jsonl", what="the preview of x.jsonl")
        await pilot.press("down")  # basic.jsonl
        await wait_until(pilot, lambda: preview_title(screen) == "basic.jsonl")
        await pilot.press("delete")
        await wait_until(pilot, lambda: len(screen.picker.marked) == 2)
        assert [p.name for p in screen.picker.marked] == ["x.jsonl", "broken.jsonl"]
        assert screen.marked_list.border_title == "Marked (2)"
        assert screen.marked_list.highlighted_path == (data_dir / "broken.jsonl").resolve()
        await pilot.press("space", "space")  # space unmarks too; the list empties and hides, the tree has focus
        await wait_until(pilot, lambda: not screen.picker.marked)
        assert screen.marked_list.has_class("-empty")
        assert screen.focused is screen.picker


async def test_confirm_names_what_is_sent_skipped_and_refused(data_dir: Path, emulator, make_host) -> None:
    shutil.copyfile(data_dir / "structured-output.jsonl", data_dir / "copy.jsonl")
    app = make_host(emulator, data_dir)
    first = app.service.submit(data_dir.resolve() / "basic.jsonl", model="gemini-2.5-flash")
    assert first.status == "submitted"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await type_path(pilot, "*.jsonl")
        await wait_until(pilot, lambda: len(screen.picker.marked) == 4, what="4 marked")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog")
        shown = dialog_text(app)
        assert "Submit 1 of 4 files?" in shown
        assert "1 to submit · 2 duplicates skipped · 1 refused" in shown
        assert "Will be submitted (1)\n ↑ copy.jsonl  5 requests" in shown  # the glob's order: basic, broken, copy
        assert "Skipped: duplicates (2)" in shown  # one of a job, one of another marked file
        assert f"= basic.jsonl  as {first.batch_name}" in shown  # the service's own duplicate check
        assert "= structured-output.jsonl  same content as copy.jsonl, also marked" in shown
        assert "Refused (1)\n ✗ broken.jsonl  line 2: not valid JSON" in shown and "(+2 more)" in shown
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.has_results and not screen.running, timeout=30, what="the run")
        log = "\n".join(text_of(w) for w in screen.query_one(SubmitLog).query("Static"))
        assert "Done: 2 skipped, 1 refused, 1 submitted" in log  # the run did what the dialog said
        assert f"basic.jsonl  skipped: duplicate of {first.batch_name}" in log
        assert "structured-output.jsonl  skipped: duplicate of" in log
        assert "copy.jsonl  submitted as" in log
        assert len(emulator.batches_snapshot()) == 2


async def test_a_long_confirm_list_scrolls_inside_80x24(tmp_path: Path, make_host) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    line = '{"key": "k", "request": {"contents": [{"parts": [{"text": "n%d"}]}]}}\n'
    for i in range(40):
        (folder / f"input-{i:02d}.jsonl").write_text(line % i)
    app = make_host(None, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await type_path(pilot, "*.jsonl")
        await wait_until(pilot, lambda: len(screen.picker.marked) == 40)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog", timeout=20)
        await pilot.pause()
        dialog = app.screen
        keys = dialog.query_one("#confirm-keys")
        assert keys.region.bottom <= 23  # above the footer: the answer keys stay visible
        scroll = dialog.query_one("#confirm-scroll")
        assert scroll.max_scroll_y > 0 and dialog.focused is scroll
        assert "Will be submitted (40)" in screen_text(app)
        assert "input-39.jsonl" not in screen_text(app)
        await pilot.press("end")
        await wait_until(pilot, lambda: "input-39.jsonl" in screen_text(app), what="the end of the list")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen)


async def test_preview_follows_the_tree_when_it_re_roots(data_dir: Path, make_host) -> None:
    sub = data_dir / "more"
    sub.mkdir()
    (sub / "x.jsonl").write_text((data_dir / "basic.jsonl").read_text())
    app = make_host(None, data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        screen.picker.focus()
        await pilot.press("home")  # the cursor on the root: Textual posts no highlight when the root is replaced
        await wait_until(pilot, lambda: preview_title(screen) == "batches/")
        await type_path(pilot, "more")
        await wait_until(pilot, lambda: screen.picker.path == sub.resolve(), what="the tree to move")
        await wait_until(pilot, lambda: preview_title(screen) == "more/", what="the preview of the new root")
        assert "1 JSONL file" in text_of(screen.query_one("#preview-body"))
        assert "backspace in the tree: the folder above" in text_of(screen.query_one("#preview-body"))
        # and from a file's preview
        await highlight(pilot, screen, "x.jsonl")
        await wait_until(pilot, lambda: preview_title(screen) == "more/x.jsonl")
        await pilot.press("backspace")  # the parent folder, the cursor on the folder just left
        await wait_until(pilot, lambda: screen.picker.path == data_dir.resolve(), what="the parent")
        await wait_until(pilot, lambda: screen.picker.cursor_node is not None
                         and screen.picker.cursor_node.data.path == sub.resolve(), what="the cursor on more/")
        await wait_until(pilot, lambda: preview_title(screen) == "more/", what="the preview of more/")
        assert screen.current is None


async def test_backspace_climbs_above_the_start_folder(data_dir: Path, make_host) -> None:
    app = make_host(None, data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        screen.picker.focus()
        await pilot.press("backspace")
        await wait_until(pilot, lambda: screen.picker.path == data_dir.resolve().parent, what="the parent")
        await wait_until(pilot, lambda: screen.picker.cursor_node is not None
                         and screen.picker.cursor_node.data.path == data_dir.resolve(), what="the cursor")
        assert screen.picker.root_label == str(data_dir.resolve().parent)


async def test_tab_completes_the_path_and_otherwise_moves_on(data_dir: Path, make_host) -> None:
    (data_dir / "more").mkdir()
    app = make_host(None, data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        field = screen.query_one("#path")
        await pilot.press("slash", *"str", "tab")
        await wait_until(pilot, lambda: field.value == "structured-output.jsonl", what="one match completed")
        field.value = ""
        await pilot.press(*"mo", "tab")
        await wait_until(pilot, lambda: field.value == "more/", what="a folder, with its slash")
        field.value = ""
        await pilot.press("b", "tab")  # basic and broken share only the b: the matches are named, then cycled
        await wait_until(pilot, lambda: any("tab cycles 2: basic.jsonl, broken.jsonl" in str(n.message)
                                            for n in app._notifications), what="the matches")
        assert field.value == "b" and screen.focused is field
        await pilot.press("tab")
        assert field.value == "basic.jsonl"
        await pilot.press("tab")
        assert field.value == "broken.jsonl"
        await pilot.press("tab")
        assert field.value == "basic.jsonl"
        field.value = ""
        await pilot.press(*"zzz", "tab")  # nothing to complete: tab is the next pane
        await wait_until(pilot, lambda: screen.focused is screen.query_one("#opt-model"), what="focus to move on")
        assert field.value == "zzz"
        field.focus()
        field.value = ""
        await pilot.press("tab")  # an empty field: the next pane at once
        assert screen.focused is screen.query_one("#opt-model")
        field.focus()
        field.value = "*.jsonl"
        await pilot.press("tab")  # a glob is not completed
        assert screen.focused is screen.query_one("#opt-model")


async def test_a_screen_opened_with_marks_lands_on_the_file(data_dir: Path, make_host) -> None:
    target = data_dir / "structured-output.jsonl"
    app = make_host(None, data_dir, marked=[target])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        assert list(screen.picker.marked) == [target.resolve()]
        assert marked_rows(screen) == ["structured-output.jsonl"]
        await wait_until(pilot, lambda: screen.picker.cursor_node is not None
                         and screen.picker.cursor_node.data.path == target.resolve(), what="the cursor on it")
        await wait_until(pilot, lambda: screen.preview.report is not None, what="its preview")
        assert preview_title(screen) == "structured-output.jsonl"


async def test_r_in_the_results_browser_marks_the_retry_file(tmp_path: Path) -> None:
    from tests.results.results_app import FakeService, ResultsHost
    from tests.results.results_helpers import messy_record

    record = messy_record(tmp_path)
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.add_many([record])
    app = ResultsHost(record, store, FakeService(store))
    retry = Path(record["input_file"]).with_name("messy.retry-1.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.screen.check_action("resubmit", ()), what="the results index")
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, SubmitScreen), what="the submit screen")
        screen = app.screen
        assert [json.loads(x)["key"] for x in retry.read_text(encoding="utf-8").splitlines()] == ["a2", "a3"]
        assert list(screen.picker.marked) == [retry.resolve()]
        await wait_until(pilot, lambda: "messy.retry-1.jsonl" in screen_text(app), what="the list on screen")
        assert screen.marked_list.border_title == "Marked (1)"


async def test_g_and_G_go_to_the_first_and_last_entry_of_the_tree(data_dir: Path, make_host) -> None:  # noqa: ANN001
    app = make_host(None, data_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        screen.picker.focus()
        await pilot.press("G")
        await wait_until(pilot, lambda: screen.picker.cursor_line == screen.picker.last_line > 0, what="the last")
        await pilot.press("g")
        await wait_until(pilot, lambda: screen.picker.cursor_line == 0, what="the first")
