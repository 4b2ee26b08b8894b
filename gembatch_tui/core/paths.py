"""Provides every filesystem location the app uses, resolved lazily so imports never touch the disk."""

from __future__ import annotations

import os
import re
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


def ensure_results_dir(folder: str | os.PathLike[str]) -> Path:
    """Create a results folder (and its parents). One inside the data dir (the fallback for adopted jobs and
    unwritable input dirs, the demo's) is private like the data dir itself (0700, CONTRACTS.md); one beside the
    user's input is made like any folder they make there. Raises OSError (NotADirectoryError for a file)."""
    folder = Path(folder)
    if inside(data_dir(), folder):
        ensure_private_dir(folder)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(folder))
    return folder


# What never goes into a file name made from outside text: path separators, NUL and every control character
# (C0, DEL, C1), and the bidirectional overrides that make a name read differently from what it is.
_UNSAFE_CHARS = re.compile(r"[/\\\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Room for what we add around a component (`.<name>.<8 hex>.partial`, `.<batch id>`) under the usual 255-byte limit.
MAX_COMPONENT_BYTES = 180


class UnsafePath(ValueError):
    """A path built from outside data (a server reply, a store record) would leave its directory."""


def safe_component(text: object, default: str = "unnamed") -> str:
    """One harmless file-name component from any outside string (a batch name or id, a display name, a group id,
    a file name from the server or the store): separators and control characters become `_`, a name of dots
    only (`.`, `..`) or an empty one becomes `default`, and it is cut to MAX_COMPONENT_BYTES of UTF-8.
    An ordinary name (`batch1.jsonl`, `abc123`) comes back unchanged."""
    name = _UNSAFE_CHARS.sub("_", text if isinstance(text, str) else str(text)).strip()
    if len(name.encode("utf-8", "surrogatepass")) > MAX_COMPONENT_BYTES:
        name = name.encode("utf-8", "surrogatepass")[:MAX_COMPONENT_BYTES].decode("utf-8", "ignore").strip()
    if not name or not name.strip("."):
        return default
    return name


def inside(base: str | os.PathLike[str], path: str | os.PathLike[str]) -> bool:
    """True when `path`, with `..` and symbolic links resolved, is `base` or lies under it."""
    real_base = os.path.realpath(base)
    real = os.path.realpath(path)
    return real == real_base or real.startswith(real_base.rstrip(os.sep) + os.sep)


def ensure_inside(base: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """`path` as given when it stays inside `base` (see `inside`); raises UnsafePath naming both otherwise."""
    if not inside(base, path):
        raise UnsafePath(f"{path}: outside {base}; refusing to write there")
    return Path(path)


def own_results_file(recorded: object, target: str | os.PathLike[str]) -> Path | None:
    """The record's `results_file` when a new download may replace it: a plain file name in the very directory
    `target` (where we would write now) is in. None otherwise (absent, not a string, or anywhere else: a record
    is never a reason to write outside our results directory), and the download goes to `target`."""
    if not isinstance(recorded, str) or not recorded:
        return None
    path = Path(recorded)
    if path.name != safe_component(path.name) or not path.is_absolute():
        return None
    if os.path.realpath(path.parent) != os.path.realpath(Path(target).parent):
        return None
    return path


def results_path_for(input_file: str | Path, results_dir: str | Path | None = None, demo: bool = False) -> Path:
    """Where results of `input_file` go: `--results-dir`, else `<input dir>/results/`, else the data dir fallback.
    The file name is the input's, made safe (`safe_component`), so the path always lies in one of those.

    The demo never writes beside a real input: its emulator's made-up answers go under the demo data dir,
    in a folder per input directory (`<data dir>/demo/results/<dir name>-<8 hex>/`), so two inputs of the same
    name in different folders do not overwrite each other's results."""
    input_path = Path(input_file)
    name = safe_component(input_path.name, "results.jsonl")
    if results_dir is not None:
        return Path(results_dir) / name
    if demo:
        return demo_results_dir_for(input_path) / name
    preferred = input_path.parent / "results"
    if _writable_dir_or_creatable(preferred):
        return preferred / name
    return fallback_results_dir(demo) / name


def demo_results_dir_for(input_file: str | Path) -> Path:
    """The demo's results folder for inputs in `input_file`'s directory (see `results_path_for`)."""
    import hashlib

    parent = Path(os.path.abspath(Path(input_file).parent))
    tag = hashlib.sha256(str(parent).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return fallback_results_dir(True) / f"{safe_component(parent.name, 'input')[:40]}-{tag}"


def _writable_dir_or_creatable(path: Path) -> bool:
    if path.is_dir():
        return os.access(path, os.W_OK | os.X_OK)
    if os.path.lexists(path):  # a file (or a dangling link) of that name: no folder can be made there
        return False
    parent = path.parent
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
