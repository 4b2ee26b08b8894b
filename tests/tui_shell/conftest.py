"""Fixtures for the app-shell tests (no-key start, quitting, events, keys): the TUI tests' environment (an
isolated home in UTC, no key), the one definition in tests/tui/conftest.py."""

from __future__ import annotations

from tests.tui.conftest import _tui_env  # noqa: F401 - an autouse fixture, registered by this import
