"""Fixtures for the resources tests: a remote world in every category on the emulator (see res_scenario),
a tiny host app (res_host) and helpers that wait for the screen instead of sleeping."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from res_scenario import Scenario, build  # noqa: E402


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    sc = build(tmp_path)
    try:
        yield sc
    finally:
        sc.emulator.stop()


def screen_text(app: Any) -> str:
    """The current screen as plain text, one line per row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)
