"""Snapshots of the dashboard, the detail screen and the delete dialog at 80x24 and 120x36.

Fixed data (sample_data), a fixed clock, UTC, and no poll timer, so every run draws the same screen.
Supplements only: each feature shown here also has a behavioural test. Regenerate after looking:
`pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

from pathlib import Path

import pytest
from tests.tui.sample_data import GROUP_ID, fixed_clock, group_records, sample_records, write_results_files, write_store
from tests.tui.tui_helpers import footer_keys, loaded, offline_service, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dialogs.delete import DeleteDialog
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.groups import group_key
from gembatch_tui.tui.dashboard.table import JobTable

SIZES = [(80, 24), (120, 36)]


def sample_app(store: JobStore) -> Any:
    # The service is never called: the poll timer is off. It only makes cancel and delete available.
    return make_app(Settings(store_path=store.path, bell=False), store=store, service=offline_service(store),
                    clock=fixed_clock, poll=False)


def go_to(key: str, *keys: str, screen: type | None = None, rows: int = 11) -> Any:
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(pilot, loaded(app, rows))
        table = app.screen.query_one(JobTable)
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press(*keys)
        if screen is not None:
            await wait_for(pilot, lambda: isinstance(app.screen, screen))
        await wait_for(pilot, lambda: footer_keys(app), what="the footer")
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
class TestDashboard:
    def test_dashboard(self, snap_compare: Any, sample_store: JobStore, size: tuple[int, int]) -> None:
        assert snap_compare(sample_app(sample_store), terminal_size=size, run_before=go_to("rec0001"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
class TestDetail:
    def test_detail(self, snap_compare: Any, sample_store: JobStore, size: tuple[int, int]) -> None:
        assert snap_compare(
            sample_app(sample_store), terminal_size=size, run_before=go_to("rec0003", "enter", screen=DetailScreen)
        )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
class TestDeleteDialog:
    def test_delete_dialog(self, snap_compare: Any, sample_store: JobStore, size: tuple[int, int]) -> None:
        assert snap_compare(
            sample_app(sample_store), terminal_size=size, run_before=go_to("rec0004", "d", screen=DeleteDialog)
        )


class TestGroups:
    def test_expanded_group(self, snap_compare: Any, tmp_path: Path) -> None:
        """The sample jobs and a split input, its group row expanded to its 3 parts (the cursor on the group)."""
        write_results_files()
        store = JobStore(write_store(tmp_path / "groups" / "jobs.jsonl", sample_records() + group_records()))

        async def run_before(pilot: Any) -> None:
            await go_to(group_key(GROUP_ID), "space", rows=12)(pilot)
            await wait_for(pilot, loaded(pilot.app, 15), what="the parts")
            await pilot.pause()

        assert snap_compare(sample_app(store), terminal_size=(80, 24), run_before=run_before)
