"""`Batches.wait` polls like `poll --watch`: while it runs, the store's folder says so (core/poll/presence.py), and
the app shows "another poller is active: Batches.wait (library) (pid N)"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui import Batches
from gembatch_tui.core.poll import presence
from gembatch_tui.emulator import Emulator

from .conftest import KEY, write_input


@pytest.fixture
def batches(emulator: Emulator) -> Iterator[Batches]:
    b = Batches(api_key=KEY, base_url=emulator.url)
    yield b
    b.close()


def test_wait_announces_itself_to_other_pollers_while_it_runs(batches: Batches, tmp_path: Path) -> None:
    [sub] = batches.submit([write_input(tmp_path / "in" / "w.jsonl", 1)], model="gemini-2.5-flash")
    seen: list[list[str]] = []
    batches.wait(sub.jobs, timeout=60, interval=0.2,
                 progress=lambda _jobs: seen.append([p.command for p in presence.others(batches.store_path)]))
    assert seen and all(commands == ["Batches.wait (library)"] for commands in seen)
    assert presence.others(batches.store_path) == []  # gone once the wait returned
