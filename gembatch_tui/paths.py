"""Provides every filesystem location the app uses, resolved lazily so imports never touch the disk."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "gembatch-tui"
HOME_ENV = "GEMBATCH_TUI_HOME"


def data_dir() -> Path:
    """`$GEMBATCH_TUI_HOME` when set, else platformdirs' user data dir (not created here)."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def cache_dir() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser() / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME)


def config_file() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser() / "config.json"
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.json"


def default_store_path(demo: bool = False) -> Path:
    base = data_dir()
    return (base / "demo" / "jobs.jsonl") if demo else (base / "jobs.jsonl")


def fallback_results_dir(demo: bool = False) -> Path:
    base = data_dir()
    return (base / "demo" / "results") if demo else (base / "results")


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700 for the directories we create."""
    path = Path(path)
    if not path.exists():
        old = os.umask(0o077)
        try:
            path.mkdir(parents=True, exist_ok=True)
        finally:
            os.umask(old)
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
    return path


def results_path_for(input_file: str | Path, results_dir: str | Path | None = None, demo: bool = False) -> Path:
    """Where results of `input_file` go: `--results-dir`, else `<input dir>/results/`, else the data dir fallback."""
    input_path = Path(input_file)
    if results_dir is not None:
        return Path(results_dir) / input_path.name
    preferred = input_path.parent / "results"
    if _writable_dir_or_creatable(preferred):
        return preferred / input_path.name
    return fallback_results_dir(demo) / input_path.name


def _writable_dir_or_creatable(path: Path) -> bool:
    if path.is_dir():
        return os.access(path, os.W_OK | os.X_OK)
    parent = path.parent
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
