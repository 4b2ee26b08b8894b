"""A cancel or delete that waits on the service is said at once, and a second c or d on the same job is refused
with that reason instead of opening a second dialog (which ran the same delete twice)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.tui.tui_helpers import footer_keys, loaded, open_cancel_dialog, screen_text, wait_for

from gembatch_tui.core.config import Settings
from gembatch_tui.core.models import record_state
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.dialogs.delete import DeleteDialog


def submit(service: BatchService, path: Path) -> str:
    outcome = service.submit(path, model="gemini-2.5-flash")
    assert outcome.status == "submitted", outcome.message
    return outcome.batch_name


def gated_job(service: BatchService, store: JobStore, path: Path, monkeypatch: pytest.MonkeyPatch,
              method: str) -> tuple[str, threading.Event, list[str]]:
    """A submitted job's record key, with `method` of the service's client held (see `gate`)."""
    key = store.find_by_batch_name(submit(service, path))["id"]
    return (key, *gate(monkeypatch, service.client, method))


def gate(monkeypatch: pytest.MonkeyPatch, client: Any, method: str) -> tuple[threading.Event, list[str]]:
    """Hold `client.method` until the returned event is set (a slow service); the list gets one entry a call."""
    release, calls = threading.Event(), []
    real = getattr(client, method)

    def held(*args: Any, **kwargs: Any) -> Any:
        calls.append(method)
        assert release.wait(10), "the test never released the call"
        return real(*args, **kwargs)

    monkeypatch.setattr(client, method, held)
    return release, calls


def messages(app: Any, title: str) -> list[str]:
    return [e.message for e in app.events if e.title == title]


async def test_second_delete_while_the_first_runs_is_refused(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emu_clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = submit(service, batch_file)
    key = store.find_by_batch_name(name)["id"]
    emu_clock.advance(5)
    release, calls = gate(monkeypatch, service.client, "delete_batch")
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        await wait_for(pilot, lambda: "d" in footer_keys(app) and store.get(key).get("results_file"), what="saved")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), what="the delete dialog")
        await pilot.press("y")
        # at once, while the service still holds the delete
        await wait_for(pilot, lambda: "Deleting small.jsonl…" in messages(app, "Delete"), what="deleting said")
        await wait_for(pilot, lambda: "Deleting small.jsonl…" in screen_text(app), what="on the event line")
        await wait_for(pilot, lambda: calls, what="the delete under way")
        await pilot.press("d")
        await wait_for(pilot, lambda: "small.jsonl is already being deleted" in messages(app, "No delete"))
        assert isinstance(app.screen, DashboardScreen)  # no second dialog
        release.set()
        await wait_for(pilot, lambda: store.get(key) is None, what="record removed")
        await wait_for(pilot, lambda: messages(app, "Deleted"), what="the outcome")
        await pilot.press("d")  # the row may linger until the store is read again: still no dialog
        await pilot.pause()
        assert not isinstance(app.screen, DeleteDialog)
        await wait_for(pilot, loaded(app, 0))
        assert len(messages(app, "Deleted")) == 1 and calls == ["delete_batch"]


@pytest.fixture
def gated_cancel(service: BatchService, store: JobStore, settings: Settings, batch_file: Path,
                 monkeypatch: pytest.MonkeyPatch) -> tuple[str, threading.Event, list[str], Any]:
    """A submitted job whose cancel the service holds until released, and the app over its store."""
    key, release, calls = gated_job(service, store, batch_file, monkeypatch, "cancel_batch")
    return key, release, calls, make_app(settings, store=store, service=service)


async def test_second_cancel_while_the_first_runs_is_refused(store: JobStore, gated_cancel: tuple) -> None:
    key, release, calls, app = gated_cancel
    async with app.run_test(size=(80, 24)) as pilot:
        await open_cancel_dialog(pilot, app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "Cancelling small.jsonl…" in messages(app, "Cancel"), what="cancelling said")
        await wait_for(pilot, lambda: calls, what="the cancel under way")
        await pilot.press("c")
        await wait_for(pilot, lambda: "small.jsonl is already being cancelled" in messages(app, "No cancel"))
        assert isinstance(app.screen, DashboardScreen)
        release.set()
        await wait_for(pilot, lambda: record_state(store.get(key)) == "JOB_STATE_CANCELLED", what="cancelled")
        assert calls == ["cancel_batch"]


async def test_detail_screen_refuses_a_second_cancel_with_a_toast(store: JobStore, gated_cancel: tuple) -> None:
    """The detail screen has no event line: what is under way, and the refusal, are toasts there."""
    key, release, calls, app = gated_cancel
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and "c" in footer_keys(app))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: any("Cancelling small.jsonl…" in str(n.message) for n in app._notifications))
        await wait_for(pilot, lambda: calls, what="the cancel under way")
        await pilot.press("c")
        await wait_for(pilot, lambda: any("already being cancelled" in str(n.message) for n in app._notifications))
        assert isinstance(app.screen, DetailScreen)
        release.set()
        await wait_for(pilot, lambda: record_state(store.get(key)) == "JOB_STATE_CANCELLED", what="cancelled")
        assert calls == ["cancel_batch"]
