"""A theme picked in the palette survives a restart (issue 15, point 13): saved to ui.json (0600) beside the
config, applied at the next start; a bad file or an unknown theme is an event line, never a traceback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.tui.tui_helpers import loaded, screen_text, wait_for

from gembatch_tui.core import paths
from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.tui.app import make_app


def prefs() -> Path:
    return paths.config_file().parent / "ui.json"


async def test_theme_from_the_palette_is_kept_for_the_next_start(service: BatchService, store: JobStore,
                                                                 settings: Settings) -> None:
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        default = app.theme
        assert default != "nord" and not prefs().exists()
        await pilot.press("ctrl+p")
        await pilot.press(*"theme")  # "Theme: change the colours": the theme picker
        await wait_for(pilot, lambda: "it is kept for the next start" in screen_text(app))
        await pilot.press("enter")
        await pilot.pause(0.2)
        await pilot.press(*"nord")
        await wait_for(pilot, lambda: "nord" in screen_text(app).lower())
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "nord", what="the theme picked")
        await wait_for(pilot, lambda: prefs().exists() and json.loads(prefs().read_text()).get("theme") == "nord",
                       what="the theme saved")
        assert stat.S_IMODE(os.stat(prefs()).st_mode) == 0o600
    again = make_app(settings, store=store, service=service)
    async with again.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(again))
        assert again.theme == "nord"


async def test_a_bad_file_or_unknown_theme_is_said_and_ignored(service: BatchService, store: JobStore,
                                                               settings: Settings) -> None:
    prefs().parent.mkdir(parents=True, exist_ok=True)
    for content, said in (("{not json", "ui.json ignored: not JSON"),
                          ('{"theme": "no-such-theme"}', "the remembered theme 'no-such-theme' is not installed"),
                          ('["nord"]', "ui.json ignored: not a JSON object"),
                          ('{"theme": 7}', "ui.json: the remembered theme 7 is not a theme")):
        prefs().write_text(content)
        app = make_app(settings, store=store, service=service)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, loaded(app))
            # in the event log (the event line shows the latest event: a poller's note may follow this one)
            await wait_for(pilot, lambda: any(said in e.message for e in app.events), what=said)
            assert app.theme == "textual-dark"
        assert prefs().read_text() == content  # never rewritten unless the user picks a theme
