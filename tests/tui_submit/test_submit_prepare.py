"""The prepare step of the submit screen, keyboard only at 80x24, against the real emulator and service: a table
picked in the tree is prepared (as `gembatch-tui prepare` does) in a worker, its `<name>.batch.jsonl` is marked,
and ctrl+s submits it; problems show as lines, never a traceback, and nothing is written then."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, wait_until
from tests.tui_submit.test_submit_flow import confirm, log_text, preview_text

from gembatch_tui.core.submit.cost_cap import CostPolicy
from gembatch_tui.tui.dialogs.prepare import PrepareDialog


def _articles(folder: Path, n: int = 30) -> Path:
    path = folder / "articles.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "title", "body"])
        for i in range(n):
            writer.writerow([f"art-{i}", f"Title [b]{i}[/b]", f"Body of article {i}"])
    return path


async def _type(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press(ch if ch.isalnum() else {" ": "space", "{": "left_curly_bracket", "}": "right_curly_bracket",
                                                     ":": "colon", "_": "underscore", ".": "full_stop",
                                                     "-": "minus"}[ch])


async def test_a_picked_csv_is_prepared_marked_and_submitted(data_dir: Path, emulator, make_host) -> None:
    table = _articles(data_dir)
    app = make_host(emulator, data_dir)
    app.service.cost_policy = CostPolicy()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "articles.csv")
        await wait_until(pilot, lambda: "A table, not a batch file" in preview_text(screen), what="the table's preview")
        assert screen.check_action("prepare", ()) is True  # P in the footer, for a table only
        screen.picker.set_marks([table])  # marked before it was prepared (a path typed, `a`): its batch file replaces it
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PrepareDialog), what="the prepare dialog")
        dialog = app.screen
        assert "Columns: id, title, body" in text_of(dialog.query_one("#prepare-columns"))
        await _type(pilot, "Summarise {titel}")  # a column that is not there: said in the dialog, nothing run
        await pilot.press("enter")
        await wait_until(pilot, lambda: "no column 'titel'" in text_of(dialog.query_one("#prepare-error")))
        assert isinstance(app.screen, PrepareDialog)
        dialog.query_one("#prepare-template").value = ""
        await _type(pilot, "Summarise {title}: {body}")
        await pilot.press("tab")
        await _type(pilot, "id")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen and not screen.preparing, timeout=20, what="the prepare")
        batch = data_dir / "articles.batch.jsonl"
        assert batch.is_file() and (data_dir / "articles.batch.map.jsonl").is_file()
        assert list(screen.picker.marked) == [batch]
        await wait_until(pilot, lambda: "✓ Ready to submit" in preview_text(screen), what="the batch file's preview")
        assert "30 requests" in preview_text(screen)
        first = json.loads(batch.read_text().splitlines()[0])
        assert first["key"] == "art-0"
        assert first["request"]["contents"][0]["parts"][0]["text"] == "Summarise Title [b]0[/b]: Body of article 0"

        await confirm(pilot, screen)
        await wait_until(pilot, lambda: screen.has_results and not screen.running, timeout=30, what="the run")
        assert "Done: 1 submitted" in log_text(screen)
    [record] = app.store.read_all()
    assert record["input_file"] == str(batch) and record["count"] == 30
    assert [b["name"] for b in emulator.batches_snapshot()] == [record["batch"]["name"]]
    assert table.is_file()


async def test_a_json_list_with_a_schema_and_a_bad_row(data_dir: Path, make_host) -> None:
    rows = [{"id": "a", "text": "one"}, {"id": "b"}]  # the second has no 'text': named with its line
    (data_dir / "records.json").write_text(json.dumps(rows, indent=1))
    (data_dir / "answer.schema.json").write_text(json.dumps(
        {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}))
    app = make_host(None, data_dir)
    app.service.cost_policy = CostPolicy()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "records.json")
        await pilot.press("P")
        await wait_until(pilot, lambda: isinstance(app.screen, PrepareDialog), what="the prepare dialog")
        dialog = app.screen
        assert "Records of a JSON list" in text_of(dialog.query_one("#prepare-columns"))
        dialog.query_one("#prepare-template").value = "Label {text}"
        dialog.query_one("#prepare-id-column").value = "id"
        dialog.query_one("#prepare-schema").value = "answer.schema.json"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen and not screen.preparing, timeout=20, what="the prepare")
        shown = preview_text(screen)
        assert "Not prepared (nothing was written)" in shown and "records.json:" in shown and "'text'" in shown
        assert not (data_dir / "records.batch.jsonl").exists() and not screen.picker.marked

        rows[1]["text"] = "two"
        (data_dir / "records.json").write_text(json.dumps(rows, indent=1))
        await pilot.press("P")  # opens again with what was typed
        await wait_until(pilot, lambda: isinstance(app.screen, PrepareDialog), what="the prepare dialog")
        assert app.screen.query_one("#prepare-schema").value == "answer.schema.json"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen and not screen.preparing and screen.picker.marked,
                         timeout=20, what="the prepare")
    line = json.loads((data_dir / "records.batch.jsonl").read_text().splitlines()[1])
    assert line["key"] == "b" and line["request"]["generationConfig"]["responseJsonSchema"]["required"] == ["label"]


async def test_escape_closes_the_dialog_and_writes_nothing(data_dir: Path, make_host) -> None:
    _articles(data_dir, 3)
    app = make_host(None, data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "articles.csv")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PrepareDialog), what="the prepare dialog")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        assert not (data_dir / "articles.batch.jsonl").exists() and not screen.preparing


def test_prepare_dialog_snapshot(data_dir: Path, make_host, snap_compare) -> None:
    """The dialog at 80x24: the columns, four fields, the replace box, the keys."""
    _articles(data_dir, 3)
    app = make_host(None, data_dir)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "articles.csv")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, PrepareDialog))
        await _type(pilot, "Summarise {title}")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_a_marked_table_is_refused_with_the_way_to_prepare_it(data_dir: Path, make_host) -> None:
    from gembatch_tui.tui.submit.confirm import ConfirmSubmit
    from tests.tui_submit.test_submit_flow import dialog_text

    _articles(data_dir, 3)
    app = make_host(None, data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "articles.csv")
        await pilot.press("space", "ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog")
        assert "a table, not a batch file: enter (or P) on it prepares one to submit" in dialog_text(app)


def test_the_run_refuses_a_table_in_the_dialogs_words(data_dir: Path) -> None:
    """The run (after y) says what the confirm dialog said of a table, not its first line's JSON error; a JSONL
    file with a bad line keeps its own FILE:LINE problems."""
    import threading

    from gembatch_tui.tui.submit.model import ReportCache
    from gembatch_tui.tui.submit.run import REFUSED, TABLE_REFUSAL, SubmitRequest, submit_files

    table = _articles(data_dir, 3)
    broken = data_dir / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    results = submit_files(None, SubmitRequest([table, broken], "gemini-2.5-flash"), ReportCache(),
                           threading.Event())
    assert [r.status for r in results] == [REFUSED, REFUSED]
    assert results[0].reasons == [TABLE_REFUSAL]
    assert results[1].reasons != [TABLE_REFUSAL] and "line 1" in results[1].reasons[0]
