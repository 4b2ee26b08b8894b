"""The event log shows every event whole at 80 columns: a long path wraps onto the next line, and the scrollbar
that appears once the log is longer than the screen never covers its last character."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.tui.event_log import EventsScreen
from tests.pilot_support import screen_text, wait_for
from tests.tui.tui_helpers import loaded
from tests.tui_shell.shell_helpers import sample_app

PATH = "/tmp/qa/tui-home-1/demo/results/examples-00827e40/demo-requests.export-2.jsonl"


async def test_a_long_path_is_shown_whole_beside_the_scrollbar(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        for i in range(30):  # more lines than the screen: the scrollbar shows
            app.record_event(f"event {i}", title="Poll")
        app.record_event(f"5 rows written to {PATH} (the earlier export was kept)", title="Results")
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await pilot.press("G")
        await wait_for(pilot, lambda: "earlier export was kept" in screen_text(app), what="the last event")
        flat = "".join(line.rstrip("▁▂▃▄▅▆▇█▉▊▋▌▍▎▏▐ ").strip() for line in screen_text(app).splitlines())
        assert PATH in flat, screen_text(app)
