"""Text from the server or the store is data: Rich markup and terminal escapes in it show literally and do nothing."""

from __future__ import annotations

from pathlib import Path

from tests.tui.sample_data import fixed_clock, write_store
from tests.tui.tui_helpers import loaded, screen_text, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.poll.poller import PollReport, StateChange
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.table import JobTable
from gembatch_tui.tui.widgets.safe_text import safe

EVIL = "[bold]x[/bold] [@click=app.quit]q[/] \x1b[31mred"
SHOWN = "[bold]x[/bold] [@click=app.quit]q[/] \\x1b[31mred"


def evil_record() -> dict:
    return {
        "id": "evil",
        "input_file": "/data/evil.jsonl",
        "count": 1,
        "batch": {
            "name": "batches/evil",
            "display_name": EVIL,
            "model": "models/[red]m[/red]",
            "state": "JOB_STATE_FAILED",
            "create_time": "2026-11-23T11:00:00Z",
            "end_time": "2026-11-23T11:05:00Z",
        },
        "error": EVIL + "\nsecond line \x07 bell",
        EVIL: EVIL,  # even a field name from another tool
    }


def no_live_links(app) -> bool:  # noqa: ANN001
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            meta = segment.style.meta if segment.style else {}
            if any("click" in str(k) or "click" in str(v) for k, v in meta.items() if k != "offset"):
                return False
    return True


def test_safe_spells_out_control_characters() -> None:
    assert safe(EVIL) == SHOWN
    assert safe("a\tb\nc", multiline=True) == "a\tb\nc"
    assert safe("a\tb\nc") == "a\\x09b\\x0ac"
    assert safe("bidi \u202e override") == "bidi \\u202e override"


async def test_markup_and_escapes_show_literally_and_do_nothing(tmp_path: Path) -> None:
    store = JobStore(write_store(tmp_path / "jobs.jsonl", [evil_record()]))
    app = make_app(Settings(store_path=store.path, bell=False), store=store, service=None, clock=fixed_clock, poll=False)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await wait_for(pilot, loaded(app, 1))
        cell = app.screen.query_one(JobTable).get_row("evil")[1]
        assert cell.plain == SHOWN and not cell.spans
        assert SHOWN in screen_text(app)
        assert "[red]m[/red]" in screen_text(app)
        assert no_live_links(app)
        await pilot.click(JobTable, offset=(20, 1))  # clicking the name must not quit
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        text = screen_text(app)
        assert text.count(SHOWN) >= 3  # the name, the last error and the recorded fields
        assert "second line \\x07 bell" in text
        assert "\x1b" not in text and "\x07" not in text
        assert no_live_links(app)
        # the event about the job (on the dashboard's event line) shows its name literally too
        report = PollReport(changes=[StateChange("evil", "batches/evil", EVIL, "JOB_STATE_RUNNING", "JOB_STATE_FAILED")])
        app._announce(report)
        await pilot.pause()
        assert any(SHOWN in e.message for e in app.events)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Job finished" in screen_text(app), what="the event line")
        assert "[@click=app.quit]q[/]" in screen_text(app).split("Job finished")[1]
        assert no_live_links(app)
    assert app.return_code in (None, 0)
