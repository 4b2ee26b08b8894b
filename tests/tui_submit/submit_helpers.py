"""Helpers shared by the submit screen tests: waiting on the app, reading text off widgets, moving the cursor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from gembatch_tui.tui.submit.screen import SubmitScreen


async def wait_until(pilot: Any, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Let the app run until `predicate()` holds (workers report by message, so poll with short pauses)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await pilot.pause(0.02)
    await asyncio.sleep(0)


def text_of(widget: Any) -> str:
    """The plain text a Static shows."""
    content = widget.content
    return content.plain if hasattr(content, "plain") else str(content)


async def submit_screen(pilot: Any) -> SubmitScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SubmitScreen), what="the submit screen")
    screen = pilot.app.screen
    await wait_until(pilot, lambda: len(screen.picker.root.children) > 0, what="the tree to load")
    return screen


def node_line(screen: SubmitScreen, name: str) -> int:
    """The tree line of the first-level entry `name`."""
    for node in screen.picker.root.children:
        if node.data is not None and node.data.path.name == name:
            return node.line
    raise AssertionError(f"{name} is not in the tree")


async def highlight(pilot: Any, screen: SubmitScreen, name: str) -> None:
    """Move the tree cursor to `name` with the keyboard (home, then down), without waiting for an idle CPU."""
    screen.picker.focus()
    await type_keys(pilot, "home", *["down"] * node_line(screen, name))

    def there() -> bool:
        node = screen.picker.cursor_node
        return node is not None and node.data is not None and node.data.path.name == name

    await wait_until(pilot, there, timeout=5, what=f"the cursor on {name}")


async def type_keys(pilot: Any, *keys: str, gap: float = 0.02) -> None:
    """Send keys the way Pilot.press does, without its wait for an idle CPU.

    Pilot.press waits (up to 2 s a key) for the process to go idle, so while a worker thread is busy checking a
    big file it would measure the harness, not the app. This sends each key and only yields briefly.
    """
    from textual import events
    from textual.keys import _character_to_key

    app = pilot.app
    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
        await asyncio.sleep(gap)
