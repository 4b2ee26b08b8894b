from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator
from tests.manual_clock import ManualClock
from tests.server.support import KEY, Server, start_server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    """Jobs take 60 s of the manual clock: pending, then running after 30 s, finished when the test says."""
    with Emulator(api_key=KEY, job_seconds=60, clock=clock) as emu:
        yield emu


@pytest.fixture
def server(tmp_path: Path, emulator: Emulator) -> Iterator[Server]:
    """The service on a free port against the emulator, with no background polling (tests poll through /poll)."""
    srv = start_server(tmp_path / "home", emulator.url, "--poll-interval", "0", "--max-upload", "64K")
    try:
        yield srv
    finally:
        srv.stop()
