"""ResultsScreen with Pilot: rows, detail, filters, paging, export, resubmit, usage caching, snapshots."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.results.results_app import FakeService, ResultsHost
from tests.results.results_helpers import HOSTILE, copy_example, write_jsonl
from textual.widgets import DataTable

from tests import pilot_support
from tests.pilot_support import screen_text  # noqa: F401 - used by the tests here
from gembatch_tui.core.results.export import read_export
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.results.screen import PAGE_SIZE, ResultsScreen


async def wait_for(pilot: Any, predicate: Callable[[], Any], what: str = "", timeout: float = 10.0) -> Any:
    return await pilot_support.wait_for(pilot, predicate, timeout, what)


def notified(app: Any, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


def results_screen(app: Any) -> ResultsScreen:
    return next(s for s in app.screen_stack if isinstance(s, ResultsScreen))


def shown_keys(app: Any) -> list[str]:
    screen = results_screen(app)
    return [row.key for row in screen._shown]


def table_rows(app: Any) -> int:
    return results_screen(app).query_one("#results-table", DataTable).row_count


async def ready(pilot: Any, rows: int | None = None) -> ResultsScreen:
    screen = results_screen(pilot.app)
    await wait_for(pilot, lambda: screen.index is not None and (rows is None or table_rows(pilot.app) == rows) and (
        rows == 0 or screen.detail_row is not None), f"{rows} rows")
    await pilot.pause(0.1)
    return screen


def store_with(tmp_path: Path, *records: dict[str, Any]) -> JobStore:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.add_many(list(records))
    return store


async def test_rows_detail_and_literal_model_text(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    store = store_with(tmp_path, messy_job)
    app = ResultsHost(messy_job, store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, 7)
        assert shown_keys(app) == ["a1", "a2", "a3", "a4", "a5", "a6", "zz"]
        text = screen_text(app)
        assert "7 rows: 4 ok, 1 error, 1 missing, 1 unexpected" in text
        assert "21 in · 36 out · 5 thinking · 3 cached" in text and "1 response without usage" in text
        assert "? missing" in text and "! unexpected" in text and "✖ error" in text
        # markup and escape codes in an answer are shown, never obeyed
        assert "[bold]loud[/bold] [@click=app.quit]quit[/] \\x1b[31mred\\x1b[0m" in text
        assert "Answer" in text and "Request" in text
        await pilot.press("down")
        await wait_for(pilot, lambda: "RESOURCE_EXHAUSTED: Resource exhausted" in screen_text(app).split("─" * 20)[-1])
        await pilot.press("j", "j", "j")  # a5: JSON answer pretty-printed
        await wait_for(pilot, lambda: '"b": 1,' in screen_text(app))
        assert app.is_running  # the [@click=app.quit] link did nothing


async def test_errors_only_and_text_filter(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    app = ResultsHost(messy_job, store_with(tmp_path, messy_job))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, 7)
        await pilot.press("e")
        await wait_for(pilot, lambda: shown_keys(app) == ["a2", "a3", "zz"], "errors only")
        assert "errors only" in screen_text(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: len(shown_keys(app)) == 7)
        await pilot.press("slash", *"penguins", "enter")
        await wait_for(pilot, lambda: shown_keys(app) == ["a4"], "text filter")
        assert "matching “penguins”" in screen_text(app)
        await pilot.press("e")  # both filters together
        await wait_for(pilot, lambda: shown_keys(app) == [] and "no rows" in screen_text(app))
        await pilot.press("escape")  # clears the filters first
        await wait_for(pilot, lambda: len(shown_keys(app)) == 7)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not any(isinstance(s, ResultsScreen) for s in app.screen_stack))


async def test_paging_a_large_file(tmp_path: Path) -> None:
    n = PAGE_SIZE * 2 + 200
    inp = write_jsonl(tmp_path / "big.jsonl", [{"key": f"k{i:05d}", "request": {"contents": f"q{i}"}} for i in range(n)])
    res = write_jsonl(tmp_path / "results" / "big.jsonl", [
        {"key": f"k{i:05d}", "response": {"candidates": [{"content": {"parts": [{"text": f"answer {i}"}]}}],
                                          "usageMetadata": {"promptTokenCount": 1, "totalTokenCount": 2,
                                                            "candidatesTokenCount": 1}}}
        for i in reversed(range(n))
    ])
    record = {"id": "big", "input_file": str(inp), "results_file": str(res), "batch": {"name": "batches/big"}}
    app = ResultsHost(record, store_with(tmp_path, record))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, PAGE_SIZE)
        assert shown_keys(app)[0] == "k00000" and "1–500 of 1,200  page 1/3" in screen_text(app)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: shown_keys(app)[:1] == ["k00500"])
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: table_rows(app) == 200 and shown_keys(app)[-1] == "k01199")
        assert "1,001–1,200 of 1,200  page 3/3" in screen_text(app)
        assert not screen.check_action("page", (1,))  # no page 4
        await pilot.press("right_square_bracket")
        assert screen.page == 2
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: shown_keys(app)[:1] == ["k00000"])
        # G: the last row of all pages (page 3's last), g: the first row of all pages, from any page
        await pilot.press("G")
        await wait_for(pilot, lambda: screen.page == 2 and table_rows(app) == 200 and "answer 1199" in screen_text(app))
        assert screen.table.cursor_row == 199 and "page 3/3" in screen_text(app)
        await pilot.press("g")
        await wait_for(pilot, lambda: screen.page == 0 and shown_keys(app)[:1] == ["k00000"])
        await wait_for(pilot, lambda: screen.table.cursor_row == 0 and screen.detail_row == screen._shown[0].row)
        await pilot.press("G", "G")  # on the last page already: stays on its last row
        await wait_for(pilot, lambda: screen.page == 2 and screen.table.cursor_row == 199)


async def test_export_jsonl_and_csv(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    app = ResultsHost(messy_job, store_with(tmp_path, messy_job))
    results = Path(messy_job["results_file"])
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, 7)
        await pilot.press("x")
        jsonl = results.with_name("messy.export.jsonl")
        await wait_for(pilot, jsonl.exists, "the JSONL export")
        await pilot.press("X")
        csv = results.with_name("messy.export.csv")
        await wait_for(pilot, csv.exists, "the CSV export")
        for path in (jsonl, csv):
            rows = read_export(path)
            assert [r["key"] for r in rows] == ["a1", "a2", "a3", "a4", "a5", "a6", "zz"]
            assert rows[0]["response_text"] == HOSTILE
        await wait_for(pilot, lambda: notified(app, f"7 rows written to {jsonl}"))


async def test_export_of_a_filter_and_never_over_an_export(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    """x with a filter on writes only its rows, says so, and names the file so; a second x keeps the first file."""
    app = ResultsHost(messy_job, store_with(tmp_path, messy_job))
    results = Path(messy_job["results_file"])
    full = results.with_name("messy.export.jsonl")
    full.write_text("an export made earlier\n")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, 7)
        await pilot.press("x")  # the default name is taken: a new one, and the toast says so
        second = results.with_name("messy.export-2.jsonl")
        await wait_for(pilot, lambda: notified(app, f"7 rows written to {second} (messy.export.jsonl exists"))
        assert full.read_text() == "an export made earlier\n"
        assert len(read_export(second)) == 7
        await pilot.press("e")  # errors only: a2 (error), a6 (missing), zz (unexpected)...
        await wait_for(pilot, lambda: screen.errors_only and table_rows(app) < 7)
        wanted = list(shown_keys(app))
        await pilot.press("x")
        await wait_for(pilot, lambda: notified(app, f"Exporting the {len(wanted)} filtered rows (errors only)"))
        filtered = results.with_name("messy.filtered.export.jsonl")
        await wait_for(pilot, lambda: notified(app, f"{len(wanted)} filtered rows (errors only) written to {filtered}"))
        assert [r["key"] for r in read_export(filtered)] == wanted
        await pilot.press("x")  # the same filtered export again: a new name, never over the first
        again = results.with_name("messy.filtered.export-2.jsonl")
        await wait_for(pilot, again.exists, "a second filtered export")
        assert [r["key"] for r in read_export(filtered)] == wanted


async def test_a_filter_that_matches_nothing_exports_nothing(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    """x with no row selected wrote an empty file named like an export; now it says there is nothing to export."""
    app = ResultsHost(messy_job, store_with(tmp_path, messy_job))
    results = Path(messy_job["results_file"])
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, 7)
        await pilot.press("slash", *"penguins", "enter")
        await wait_for(pilot, lambda: shown_keys(app) == ["a4"], "text filter")
        await pilot.press("e")  # errors only as well: no row
        await wait_for(pilot, lambda: shown_keys(app) == [] and "no rows" in screen_text(app))
        await pilot.press("x")
        await wait_for(pilot, lambda: notified(app, "Nothing to export: no row matches (errors only, matching"))
        await pilot.press("X")
        await pilot.pause()
        assert not [p.name for p in results.parent.iterdir() if ".export" in p.name]


async def test_usage_is_cached_in_the_store(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    store = store_with(tmp_path, messy_job)
    app = ResultsHost(messy_job, store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, 7)
        await wait_for(pilot, lambda: (store.get("rec1") or {}).get("usage"), "usage in the store")
        assert (store.get("rec1") or {})["usage"]["prompt"] == 21
        await wait_for(pilot, lambda: app.store_changes == ["usage"])


async def test_resubmit_through_the_submit_screen_links_the_new_job(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    from gembatch_tui.tui.submit.screen import SubmitScreen

    store = store_with(tmp_path, messy_job)
    app = ResultsHost(messy_job, store, FakeService(store))
    retry = Path(messy_job["input_file"]).with_name("messy.retry-1.jsonl")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, 7)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, SubmitScreen), "the submit screen")
        assert [json.loads(x)["key"] for x in retry.read_text(encoding="utf-8").splitlines()] == ["a2", "a3"]
        assert app.screen.root == retry.parent
        # as if the user submitted the file there
        store.add({"id": "new", "input_file": str(retry), "batch": {"name": "batches/new"}})
        app.pop_screen()
        await wait_for(pilot, lambda: (store.get("new") or {}).get("resubmit_of") == "rec1", "the link")
        assert (store.get("new") or {})["resubmit_of_batch"] == "batches/rec1-batch"


async def test_resubmit_without_a_submit_screen_asks_then_submits(
    tmp_path: Path, messy_job: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gembatch_tui.tui.submit.screen", None)  # import fails
    store = store_with(tmp_path, messy_job)
    service = FakeService(store)
    app = ResultsHost(messy_job, store, service)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, 7)
        await pilot.press("R")
        await wait_for(pilot, lambda: "Resubmit failures?" in screen_text(app), "the question")
        assert "Submit 2 requests" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: service.calls, "the submit")
        call = service.calls[0]
        assert call["path"].name == "messy.retry-1.jsonl" and call["model"] == "models/gemini-2.5-flash"
        assert call["extra"] == {"resubmit_of": "rec1", "resubmit_of_batch": "batches/rec1-batch"}
        await wait_for(pilot, lambda: notified(app, "messy.retry-1.jsonl: submitted batches/retry1 (2 requests)"))


async def test_nothing_to_retry_and_no_results(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    record = copy_example(tmp_path, "basic")
    app = ResultsHost(record, store_with(tmp_path, record), FakeService(JobStore(tmp_path / "s2.jsonl")))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, 5)
        assert not screen.check_action("resubmit", ())
        assert "R Retry" not in screen_text(app)
    bare = dict(messy_job, id="bare", results_file=None, batch={"name": "batches/bare"})
    app = ResultsHost(bare, store_with(tmp_path / "b", bare))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "no results file yet" in screen_text(app))


# ----------------------------------------------------------------------------- snapshots
def _snapshot_app(tmp_path: Path) -> ResultsHost:
    """The messy job under a fixed, non-personal path so the snapshot never shows tmp names."""
    from tests.results.results_helpers import messy_record

    base = Path("/tmp/gembatch-tui-sample/results-snapshot")
    base.mkdir(parents=True, exist_ok=True)
    record = messy_record(base)
    return ResultsHost(record, store_with(tmp_path, record))


async def _settle(pilot: Any) -> None:
    await ready(pilot, 7)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_snapshot(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=size, run_before=_settle)


async def test_inside_the_real_app(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    """With the app's stylesheet and its dashboard underneath; escape goes back to it."""
    from gembatch_tui.tui.app import make_app
    from gembatch_tui.core.config import Settings
    from gembatch_tui.tui.dashboard.screen import DashboardScreen

    store = store_with(tmp_path, messy_job)
    app = make_app(Settings(store_path=store.path, bell=False), store=store, service=None, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.loaded)
        app.push_screen(ResultsScreen(store.get("rec1") or {}))
        await ready(pilot, 7)
        assert "7 rows: 4 ok, 1 error, 1 missing, 1 unexpected" in screen_text(app)
        await wait_for(pilot, lambda: "usage" in (app.record("rec1") or {}), "the app re-read the store")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_the_palette_names_the_results_screens_own_filter(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    """QA pass 4: the palette offered "Filter jobs" for the results screen's / (which filters rows)."""
    from gembatch_tui.tui.palette import screen_commands

    app = ResultsHost(messy_job, store_with(tmp_path, messy_job))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, 7)
        titles = [title for title, _, _ in screen_commands(app, screen)]
        assert "Filter" in titles and "Filter jobs" not in titles, titles
