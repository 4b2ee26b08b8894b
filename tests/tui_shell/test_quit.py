"""ctrl+q, ctrl+c and the dashboard's q quit at once when nothing is in flight, and ask first during an upload
or a download (quitting would throw the transfer away)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from tests.pilot_support import wait_for
from tests.tui.tui_helpers import loaded
from tests.tui_shell.shell_helpers import sample_app


@pytest.mark.parametrize("key", ["ctrl+q", "ctrl+c", "q"])
async def test_quits_at_once_when_nothing_is_in_flight(tmp_path: Path, key: str) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        await pilot.press(key)
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code == 0


async def _asked_over_an_upload(pilot: Any, app: Any, release: threading.Event, key: str) -> None:
    """The dashboard loaded, an upload held until `release`, `key` pressed: the question is open and names it."""
    await wait_for(pilot, loaded(app))
    app.run_worker(lambda: release.wait(30), thread=True, group="submit-run", exit_on_error=False)
    await wait_for(pilot, lambda: app.transfers_in_flight(), what="the upload")
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
    assert "an upload (submit)" in str(app.screen._body)


@pytest.mark.parametrize("key", ["ctrl+q", "ctrl+c", "q"])
async def test_an_upload_in_flight_asks_first(tmp_path: Path, key: str) -> None:
    app = sample_app(tmp_path)
    release = threading.Event()
    async with app.run_test(size=(80, 24)) as pilot:
        await _asked_over_an_upload(pilot, app, release, key)
        await pilot.press("ctrl+q")  # asking again changes nothing
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog), what="the dialog closed")
        assert app.return_code is None
        await pilot.press(key)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question again")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
        release.set()
    assert app.return_code == 0


async def test_a_results_download_in_flight_asks_first(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app))
        app.schedule.started()
        app.schedule.downloading("batches/job0003", 512, 2048)
        assert app.transfers_in_flight() == ["a results download (25% of 2.0 KiB · batches/job0003)"]
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert app.return_code is None


async def test_the_question_says_so_when_the_upload_ends_while_it_is_open(tmp_path: Path) -> None:
    app = sample_app(tmp_path)
    release = threading.Event()
    async with app.run_test(size=(80, 24)) as pilot:
        await _asked_over_an_upload(pilot, app, release, "ctrl+q")
        release.set()
        await wait_for(pilot, lambda: "Nothing is in flight any more" in str(app.screen._body), what="the refresh")
        body = app.screen.query_one(".dialog-body").render()
        assert "quitting now loses nothing" in str(body)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code == 0
