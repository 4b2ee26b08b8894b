"""Snapshots of the submit screen (they supplement the behavioural tests, never replace them).

The files live in `<tmp>/batches`; the screen shows paths relative to that folder, so no personal or random
path reaches the picture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.tui_submit.submit_helpers import highlight, submit_screen, wait_until


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
@pytest.mark.parametrize("name", ["basic.jsonl", "broken.jsonl"], ids=["valid", "invalid"])
def test_submit_screen_snapshot(data_dir: Path, make_host, snap_compare, name: str, size: tuple[int, int]) -> None:
    app = make_host(None, data_dir)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "structured-output.jsonl")
        await pilot.press("space")  # one marked file, so the totals line has numbers
        await highlight(pilot, screen, name)
        await wait_until(pilot, lambda: screen.preview.report is not None and screen.preview.report.path.name == name)
        await wait_until(pilot, lambda: "checking" not in str(screen.query_one("#totals").content))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
