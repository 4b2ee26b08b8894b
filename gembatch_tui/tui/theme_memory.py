"""Provides `remember_theme(app)`: the theme picked in the palette survives a restart (core/ui_prefs.py's file).

At start the remembered theme is applied (an unknown name or a bad file: an event line that says so, and the
default theme); after that every theme change is saved, half a second after the last one (the palette's theme
picker changes the theme as the highlight moves), in a thread worker: a slow disk never stalls the screen.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import App

from gembatch_tui.core import ui_prefs

SAVE_AFTER_S = 0.5


def remember_theme(app: App[Any]) -> None:
    """Apply the remembered theme now and save the theme whenever it changes (call once, from on_mount)."""
    settings = getattr(app, "settings", None)
    path = ui_prefs.prefs_path(getattr(settings, "config_path", None))
    data, problem = ui_prefs.load_prefs(path)
    name, bad = ui_prefs.theme_of(data)
    problem = problem or bad
    if name is not None:
        if name in app.available_themes:
            app.theme = name
        else:
            problem = f"the remembered theme {name!r} is not installed; using {app.theme!r} ({path})"
    if problem:
        app.call_after_refresh(_event, app, problem)  # once the event line is on screen
    keeper = _ThemeKeeper(app, path, app.theme)
    app.theme_changed_signal.subscribe(app, keeper.changed)


def _event(app: App[Any], text: str) -> None:
    record = getattr(app, "record_event", None)
    if callable(record):
        record(text, title="Theme", severity="warning")
    else:
        app.notify(text, title="Theme", severity="warning", markup=False)


class _ThemeKeeper:
    """Saves the app's theme a moment after it last changed."""

    def __init__(self, app: App[Any], path: Any, saved: str) -> None:
        self.app, self.path, self.saved = app, path, saved
        self._timer: Any = None

    def changed(self, _theme: Any) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.app.set_timer(SAVE_AFTER_S, self._save, name="save theme")

    def _save(self) -> None:
        self._timer = None
        name = self.app.theme
        if name != self.saved:
            self.saved = name
            _save_worker(self.app, self.path, name)


@work(thread=True, group="theme", exit_on_error=False, description="remember the theme")
def _save_worker(app: App[Any], path: Any, name: str) -> None:
    try:
        ui_prefs.save_pref(path, "theme", name)
    except OSError as exc:
        app.call_from_thread(_event, app, f"the theme is not remembered: {exc.strerror or exc} ({path})")


__all__ = ["SAVE_AFTER_S", "remember_theme"]
