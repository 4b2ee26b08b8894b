"""Helpers shared by the Pilot tests of every screen: read the screen as text, wait for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def screen_text(app: Any) -> str:
    """The current screen as plain text, one line per row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Pause until `predicate()` is truthy; fail with the screen's text if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)
