"""The dashboard's real-time watch ticks every 1.5 s while a real-time job runs: a tick whose store file nobody wrote
since its last read reads nothing (no lock, no record copied), and a write by another process (another JobStore on
the same file) is still seen at the next tick, on the dashboard too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.pilot_support import wait_for
from tests.realtime.test_tui_realtime_pieces import _rt

from gembatch_tui.core.config import Settings
from gembatch_tui.core.models import RUNNING, SUCCEEDED, record_key
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.realtime_watch import StoreProbe
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.table import JobTable


def _store(tmp_path: Path) -> JobStore:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.ensure(write=True)
    store.add_many([_rt("a", RUNNING), *({"id": f"b{i}", "batch": {"name": f"batches/b{i}", "state": RUNNING}}
                                        for i in range(50))])
    return store


def _no_reads(store: JobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any read of the store (or its lock) from now on fails the test."""
    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the store was read on a tick with no change")

    monkeypatch.setattr(store, "read_all", boom)
    monkeypatch.setattr(store, "_locked", boom)


def test_a_tick_with_no_change_reads_nothing_and_a_write_by_another_process_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    other = JobStore(store.path)  # another process's view of the same file
    watched = {"a": store.get("a") or {}}
    probe = StoreProbe(store)
    assert not probe.changed(watched) and (probe.reads, probe.skips) == (1, 0)  # the first tick reads

    with monkeypatch.context() as m:
        _no_reads(store, m)
        for _ in range(3):
            assert not probe.changed(watched)
    assert (probe.reads, probe.skips) == (1, 3)

    other.update("b7", lambda r: r["batch"].update(state=SUCCEEDED))  # not watched: read, nothing new
    assert not probe.changed(watched) and probe.reads == 2
    with monkeypatch.context() as m:
        _no_reads(store, m)
        assert not probe.changed(watched)

    other.update("a", lambda r: r["batch"]["stats"].update(successful_request_count=4))
    assert probe.changed(watched) and probe.reads == 3
    assert probe.changed(watched) and probe.reads == 4  # read again until the App's records have it
    watched = {"a": store.get("a") or {}}  # the App's reload
    assert not probe.changed(watched) and probe.reads == 5
    with monkeypatch.context() as m:
        _no_reads(store, m)
        assert not probe.changed(watched)

    probe.forget()  # the watched set changed: the next tick reads
    assert not probe.changed(watched) and probe.reads == 6


def test_a_store_that_cannot_be_looked_at_is_read_every_tick(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "gone" / "jobs.jsonl")  # no file: no version to skip on
    probe = StoreProbe(store)
    assert probe.changed({"a": _rt("a", RUNNING)})  # the watched record is gone: a change
    assert not probe.changed({}) and not probe.changed({})
    assert probe.skips == 0 and probe.reads == 3


def _row(app: Any, key: str) -> str:
    try:
        return " ".join(cell.plain for cell in app.screen_stack[0].query_one(JobTable).get_row(key))
    except Exception:  # noqa: BLE001 - not shown yet
        return ""


async def test_the_dashboard_ticks_without_reading_and_shows_another_process_write(tmp_path: Path) -> None:
    store = _store(tmp_path)
    key = record_key(store.get("a") or {})
    app = make_app(Settings(store_path=store.path, poll_interval=600.0, bell=False), store=store, service=None,
                   poll=False)
    async with app.run_test(size=(100, 30)) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: " 0/10" in f" {_row(app, key)}", what="the real-time row")
        await wait_for(pilot, lambda: dash._rt_probe is not None and dash._rt_probe.skips >= 2, timeout=15,
                       what="two watch ticks that read nothing")
        probe = dash._rt_probe
        assert probe is not None and probe.reads == 1, (probe.reads, probe.skips)
        JobStore(store.path).update("a", lambda r: r["batch"]["stats"].update(successful_request_count=4,
                                                                             pending_request_count=6))
        await wait_for(pilot, lambda: " 4/10" in f" {_row(app, key)}", timeout=15, what="the new progress")
        # Shown by this watch's read or by the app's store follower (tui/store_follow.py), whichever ticks first:
        # both see the new file version; a later tick of the watch reads it (the version it last read is gone).
        await wait_for(pilot, lambda: probe.reads >= 2, timeout=15, what="the watch reading the new version")
    assert os.path.exists(store.path)
