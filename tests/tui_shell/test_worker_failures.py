"""A worker that fails on a screen is never lost: it reaches the App's one place and becomes an event.

Worker.StateChanged goes to the worker's own screen and does not bubble; before, the dashboard's and the results
screen's workers had no handler at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gembatch_tui.tui.dashboard import screen as dashboard_screen
from tests.pilot_support import wait_for
from tests.tui.tui_helpers import loaded
from tests.tui_shell.shell_helpers import sample_app


async def test_a_failed_dashboard_worker_becomes_an_error_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, loaded(app))

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("view exploded [bold]x[/]")

        monkeypatch.setattr(dashboard_screen, "compute_view", broken)
        await pilot.press("t")  # another state filter: the view is computed again, in a worker
        errors = lambda: [e for e in app.events if e.severity == "error"]  # noqa: E731
        await wait_for(pilot, errors, what="the failure as an event")
        event = errors()[0]
        assert "view exploded [bold]x[/]" in event.message  # shown as data, markup and all
        assert event.title == "Could not sort and filter the jobs"
        assert app.return_code is None  # the app keeps running
