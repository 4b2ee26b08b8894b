"""Snapshots of both tabs at 80x24 and 120x36, from a fixed inventory (no server, fixed clock)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.resources.res_canned import FIXED_NOW, canned, fixed_clock
from tests.resources.res_host import HostApp

from gembatch_tui.core.cleanup import flags
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore


def canned_app(tmp_path: Path) -> HostApp:
    files, batches, records = canned()
    inventory = flags.classify(files, batches, records, FIXED_NOW)
    # Never called: the screen is given its inventory, and nothing listens on port 9.
    service = BatchService(JobStore(tmp_path / "jobs.jsonl"), GeminiClient("test-key", base_url="http://127.0.0.1:9"))
    return HostApp(service, fixed_clock, inventory=inventory, records=records)


class TestResourcesSnapshots:
    @pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
    def test_files_tab(self, snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # noqa: ANN001
        assert snap_compare(canned_app(tmp_path), terminal_size=size, press=["down", "space"])

    @pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
    def test_jobs_tab(self, snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # noqa: ANN001
        assert snap_compare(canned_app(tmp_path), terminal_size=size, press=["tab", "f"])
