"""The command palette finds every action of the current screen and row by name, once each, and none of
Textual's own commands but the theme switch."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette

from gembatch_tui.tui.palette import GembatchCommands
from gembatch_tui.tui.event_log import EventsScreen
from tests.pilot_support import wait_for
from tests.tui.tui_helpers import loaded
from tests.tui_shell.shell_helpers import sample_app


async def titles(app, screen) -> list[str]:  # noqa: ANN001
    provider = GembatchCommands(screen)
    return [hit.text if hasattr(hit, "text") and hit.text else str(hit.display) async for hit in provider.discover()]


def system_titles(app, screen) -> list[str]:  # noqa: ANN001
    return [c.title for c in app.get_system_commands(screen)]


async def test_dashboard_palette_follows_the_row(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        dash = app.screen
        await pilot.press("down", "down", "down")  # the running job
        await wait_for(pilot, lambda: dash.selected() and dash.selected()["batch"]["name"] == "batches/job0001")
        running = await titles(app, dash)
        assert "Cancel job" in running and "Delete job" not in running
        await pilot.press("down")  # a succeeded job
        await wait_for(pilot, lambda: dash.selected()["batch"]["name"] == "batches/job0010")
        done = await titles(app, dash)
        for wanted in ("Delete job", "Results: browse the job's answers", "Export results (JSONL or CSV)",
                       "Usage and cost: tokens and price of every job", "Clean up remote files and jobs",
                       "Remote resources (files and jobs of this key)", "Submit files", "Poll now", "Event log",
                       "Help: keys of this screen", "Quit"):
            assert wanted in done, (wanted, done)
        assert "Cancel job" not in done
        assert len(done) == len(set(done))  # no duplicates
        # the table's own keys (cursor up, page down...) are keys of every list, not actions of this app
        moving = {"Cursor up", "Cursor down", "Page up", "Page down", "Home", "End", "Down", "Up", "First job",
                  "Last job"}
        assert not moving & set(done), done
        assert done.index("Delete job") < 4, done  # this app's actions lead, not three pages down
        assert system_titles(app, dash) == ["Theme"] or all("theme" in t.lower() for t in system_titles(app, dash))


async def test_palette_search_finds_the_main_actions(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await pilot.press("down", "down", "down", "down")  # a succeeded job
        provider = GembatchCommands(app.screen)
        for query in ("delete", "results", "export", "usage", "clean", "quit"):
            hits = [h async for h in provider.search(query)]
            assert hits, query
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"usage", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "UsageScreen", what="the usage and cost view")


async def test_other_screens_offer_their_own_keys(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        names = await titles(app, app.screen)
        assert "Back" in names and "Quit" in names and "Cancel job" not in names
