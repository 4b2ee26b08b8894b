"""Provides the app's remembered choices (the theme), kept in a small JSON file beside the config: `ui.json`.

Why apart from config.json: that file is the user's, written by hand and never rewritten by the app; these are
choices made inside the app (the theme picked in the palette) that should survive a restart. The file is
private (0600, its folder 0700) and written atomically; an unreadable or malformed file is ignored with a
one-line reason, never an exception, so a bad file can never keep the app from starting.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gembatch_tui.core import paths
from gembatch_tui.core.fsutil import atomic_writer

FILE_NAME = "ui.json"
MAX_BYTES = 64 * 1024


def prefs_path(config_path: str | os.PathLike[str] | None = None) -> Path:
    """`ui.json` in the config file's folder (GEMBATCH_TUI_HOME when set)."""
    config = Path(config_path) if config_path else paths.config_file()
    return config.parent / FILE_NAME


def load_prefs(path: Path) -> tuple[dict[str, Any], str]:
    """(the remembered choices, why the file was ignored or ""). A missing file is no choice and no problem."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return {}, f"{FILE_NAME} ignored: larger than {MAX_BYTES // 1024} KiB ({path})"
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, ""
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"{FILE_NAME} ignored: cannot read it: {getattr(exc, 'strerror', None) or exc} ({path})"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return {}, f"{FILE_NAME} ignored: not JSON: {exc} ({path})"
    if not isinstance(data, dict):
        return {}, f"{FILE_NAME} ignored: not a JSON object ({path})"
    return data, ""


def save_pref(path: Path, key: str, value: Any) -> None:
    """Set one choice, keeping the others (and anything unknown) as they were. Raises OSError."""
    data, _problem = load_prefs(path)
    if data.get(key) == value and path.exists():
        return
    data[key] = value
    paths.ensure_private_dir(path.parent)  # the data dir itself under GEMBATCH_TUI_HOME: 0700, parents too
    with atomic_writer(path, mode=0o600, encoding="utf-8") as out:
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def theme_of(data: dict[str, Any]) -> tuple[str | None, str]:
    """(the remembered theme name, or None; why the value was not usable, or "")."""
    theme = data.get("theme")
    if theme is None:
        return None, ""
    if not isinstance(theme, str) or not theme.strip() or len(theme) > 100:
        return None, f"{FILE_NAME}: the remembered theme {theme!r} is not a theme name; using the default"
    return theme.strip(), ""


__all__ = ["FILE_NAME", "load_prefs", "prefs_path", "save_pref", "theme_of"]
