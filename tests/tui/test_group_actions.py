"""c and d on a split input's group row: one question for every part, against the emulator over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.tui.tui_helpers import footer_keys, loaded, screen_text, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.models import CANCELLED, normalise_state, record_state
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dialogs.delete import DeleteDialog
from gembatch_tui.tui.dashboard.groups import group_key


async def test_cancel_then_delete_a_whole_split_input_from_its_group_row(
    service: BatchService, store: JobStore, settings: Settings, emulator: Any, tmp_path: Path
) -> None:
    src = tmp_path / "input" / "big.jsonl"
    src.parent.mkdir(parents=True)
    src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}})
                           + "\n" for i in range(9)))
    out = service.submit(src, model="gemini-2.5-flash", limits=JobLimits(max_requests_per_job=3))
    assert out.parts == 3 and len(out.batch_names) == 3
    parts_dir = Path(store.read_all()[0]["input_file"]).parent
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, loaded(app, 1))
        dash = app.screen
        assert isinstance(dash, DashboardScreen) and dash.table.selected_key == group_key(out.group_id)
        assert "d" not in footer_keys(app)  # nothing is deleted while parts run

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the cancel question")
        assert "Cancel 3 parts?" in screen_text(app) and "3 part job(s) pending or running" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: all(record_state(r) == CANCELLED for r in store.read_all()), what="cancelled")
        assert {normalise_state(b["state"]) for b in emulator.batches_snapshot()} == {CANCELLED}
        await wait_for(pilot, lambda: any("Cancelled 3 parts" == n.title for n in app._notifications), what="toast")

        await wait_for(pilot, lambda: "d" in footer_keys(app), what="d once every part is final")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), what="the delete dialog")
        text = screen_text(app)
        assert "Delete all 3 parts?" in text and "big.jsonl  3 parts (cancelled)" in text
        # the local records are ticked by default: cancelled parts hold no results to protect
        await wait_for(pilot, lambda: "local record" in screen_text(app) and "[x] local records" in screen_text(app))
        text = screen_text(app)  # counted per kind, so the dialog of a big group still fits 80x24
        assert "• 3 remote batch jobs" in text and "• 3 uploaded input files" in text and "• 3 local records" in text
        await pilot.press("y")
        await wait_for(pilot, lambda: store.read_all() == [], what="every part's record gone")
        assert emulator.batches_snapshot() == []
        assert not parts_dir.exists()
        await wait_for(pilot, lambda: any(e.title == "Deleted" and "deleted 3 remote batch jobs" in e.message
                                          for e in app.events), what="one counted event")
        assert not any(n.title == "Deleted" for n in app._notifications)  # the event line, no toast


def _split_and_finish(service: BatchService, emu_clock: Any, tmp_path: Path) -> tuple[Path, str]:
    """A 9-request input in 3 parts, run to the end and merged (the emulator's clock moved by hand)."""
    from gembatch_tui.core.poll.poller import poll_once

    src = tmp_path / "input" / "whole.jsonl"
    src.parent.mkdir(parents=True)
    src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}})
                           + "\n" for i in range(9)))
    out = service.submit(src, model="gemini-2.5-flash", limits=JobLimits(max_requests_per_job=3))
    assert out.parts == 3
    emu_clock.advance(5)
    for _ in range(3):
        poll_once(service)
    assert all(r.get("group_results_verified") for r in service.store.read_all())
    return src, str(out.group_id)


async def test_v_on_a_group_row_browses_the_merged_results_and_export_takes_the_group(
    service: BatchService, store: JobStore, settings: Settings, emu_clock: Any, tmp_path: Path,
    capsys: Any,
) -> None:
    from gembatch_tui.cli import main as cli
    from gembatch_tui.tui.results.screen import ResultsScreen

    src, gid = _split_and_finish(service, emu_clock, tmp_path)
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, loaded(app, 1))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen), what="the results browser")
        await wait_for(pilot, lambda: "9 rows: 9 ok" in screen_text(app), what="the merged rows joined to the input")
        assert "whole.jsonl (3 parts, merged)" in screen_text(app)
    assert all(not str(r.get("id", "")).startswith("group:") for r in store.read_all())  # nothing written for it

    assert cli.main(["--store", str(store.path), "export", gid[:8]]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["key"] for r in rows] == [f"k{i}" for i in range(9)]  # the original's order, every key once
    assert all(r["status"] == "ok" for r in rows)
    assert cli.main(["--store", str(store.path), "export", str(src)]) == 0  # the original path names it too
    assert len(capsys.readouterr().out.splitlines()) == 9


async def test_v_on_a_group_that_is_not_merged_says_why(
    service: BatchService, store: JobStore, settings: Settings, tmp_path: Path, capsys: Any
) -> None:
    from gembatch_tui.cli import main as cli

    src = tmp_path / "input" / "slow.jsonl"
    src.parent.mkdir(parents=True)
    src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": "q"}]}]}})
                           + "\n" for i in range(4)))
    out = service.submit(src, model="gemini-2.5-flash", limits=JobLimits(max_requests_per_job=2))
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, loaded(app, 1))
        await pilot.press("v")
        await wait_for(pilot, lambda: any("when every part has succeeded (0 of 2 so far)" in str(n.message)
                                          for n in app._notifications), what="why there is nothing to browse")
        assert isinstance(app.screen, DashboardScreen)
    assert cli.main(["--store", str(store.path), "export", str(out.group_id)]) == 2
    assert "0 of 2 so far" in capsys.readouterr().err
