"""Provides the screens the dashboard opens only when they are installed (submit, resources): found without
being imported, because importing them costs start-up time and the footer asks at its first paint.

Its own module so that the dashboard, its row actions and the command palette ask one place, and none of them
imports another for it.
"""

from __future__ import annotations

from importlib.util import find_spec

from textual.screen import Screen

MODULES = {"submit": "gembatch_tui.tui.submit.screen", "resources": "gembatch_tui.tui.resources.screen"}
_FOUND: dict[str, bool] = {}


def has_screen(name: str) -> bool:
    """Whether the `submit` / `resources` screen is installed."""
    if name not in _FOUND:
        module = MODULES.get(name)
        _FOUND[name] = module is not None and find_spec(module) is not None
    return _FOUND[name]


def optional_screen(name: str) -> type[Screen] | None:
    """The SubmitScreen / ResourcesScreen class, or None when that screen is not there."""
    if not has_screen(name):
        return None
    try:
        if name == "submit":
            from gembatch_tui.tui.submit.screen import SubmitScreen

            return SubmitScreen
        from gembatch_tui.tui.resources.screen import ResourcesScreen

        return ResourcesScreen
    except ImportError:
        return None
