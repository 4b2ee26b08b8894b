"""With no API key and no --demo the app never opens the demo by itself: it says which key is missing, where the
real store is and how many jobs it holds, and lets the user choose the demo, the store read-only, or quit."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gembatch_tui.core import paths
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.no_key import NoKeyScreen
from tests.pilot_support import screen_text, wait_for
from tests.tui_shell.shell_helpers import sample_app


async def test_the_first_screen_names_the_missing_key_and_the_real_stores_job_count(tmp_path: Path) -> None:
    app = sample_app(tmp_path, service=False, missing_key=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, NoKeyScreen)  # before anything else
        await wait_for(pilot, lambda: "holds 11 jobs" in " ".join(screen_text(app).split()), what="the job count")
        text = " ".join(screen_text(app).split())
        assert "GOOGLE_API_KEY" in text and "GEMINI_API_KEY" in text
        assert "DEMO" not in text and app.settings.demo is False
        assert str(app.store.path) in screen_text(app).replace("\n", "").replace(" ", "").replace("█", "")
        await pilot.press("d")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.next_step == "demo" and app.return_code == 0


async def test_quit_from_the_no_key_screen_exits_2(tmp_path: Path) -> None:
    app = sample_app(tmp_path, service=False, missing_key=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoKeyScreen))
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code == 2 and app.next_step == ""


async def test_browse_shows_the_real_store_read_only(tmp_path: Path) -> None:
    app = sample_app(tmp_path, service=False, missing_key=True)
    before = app.store.path.read_bytes()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoKeyScreen))
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.settled, what="dashboard")
        text = screen_text(app)
        assert "read-only: no API key" in text
        assert "translations-fr" in text
        assert "DEMO" not in text
        await pilot.press("s")  # no submit screen without a key: it says why instead of nothing
        await wait_for(pilot, lambda: "No submit: read-only (no API key)" in screen_text(app), what="the reason")
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.store.path.read_bytes() == before  # nothing written


def test_run_app_without_a_key_does_not_switch_to_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    from gembatch_tui.cli import app_command as app_module
    from gembatch_tui.cli import commands

    seen = {}

    def fake_run(settings, *, missing_key=False):  # noqa: ANN001, ANN202
        seen.update(demo=settings.demo, store=settings.store_path, missing_key=missing_key)
        return 0

    monkeypatch.setattr(app_module, "run", fake_run)
    args = argparse.Namespace(store=None, results_dir=None, api_key=None, demo=False, command=None)
    assert commands.run_app(args) == 0
    assert seen == {"demo": False, "store": paths.default_store_path(demo=False), "missing_key": True}
    assert not paths.default_store_path(demo=True).exists()


async def test_an_empty_store_read_only_does_not_offer_s(tmp_path: Path) -> None:
    from gembatch_tui.core.config import Settings
    from gembatch_tui.core.store import JobStore
    from gembatch_tui.tui.app import make_app

    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    app = make_app(Settings(store_path=store.path, bell=False), store=store, service=None, poll=False,
                   missing_key=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoKeyScreen))
        await pilot.press("b")
        await wait_for(pilot, lambda: "No jobs in the store yet" in screen_text(app), what="the empty dashboard")
        text = " ".join(screen_text(app).split())
        assert "Press s" not in text and "set GEMINI_API_KEY or GOOGLE_API_KEY" in text


def test_the_app_without_a_terminal_says_so_instead_of_drawing_into_a_file(tmp_path: Path) -> None:
    """`gembatch-tui --demo > file` wrote terminal codes into the file and never ended."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, GEMBATCH_TUI_HOME=str(tmp_path / "home"))
    run = subprocess.run([sys.executable, "-m", "gembatch_tui", "--demo"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 2 and run.stdout == "", run
    assert "the full-screen app needs a terminal" in run.stderr and "\x1b" not in run.stderr, run
