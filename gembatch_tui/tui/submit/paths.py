"""Provides what the submit screen needs from the file system: folder listings, the path field's expansion and
its tab completion.

Both never raise and never hang: an unreadable folder, a vanished file or a symlink loop becomes a message, and a
glob neither follows symlinked folders under `**` nor runs past GLOB_LIMIT matches or GLOB_SECONDS. They block:
call them from a worker.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gembatch_tui.tui.submit.model import canonical

GLOB_LIMIT = 1000
GLOB_SECONDS = 5.0
COMPLETION_LIMIT = 500
_MAGIC = re.compile(r"[*?[]")


@dataclass
class FolderListing:
    """A folder's JSONL files (canonical paths, sorted) and what else it holds, or why it could not be read."""

    path: Path
    jsonl: list[Path] = field(default_factory=list)
    other_files: int = 0
    folders: int = 0
    error: str | None = None


def list_folder(path: Path, is_jsonl: Callable[[str], bool]) -> FolderListing:
    """List one folder (not recursive, hidden entries skipped); never raises."""
    try:
        folder = Path(os.path.realpath(path))
    except OSError as exc:
        return FolderListing(path, error=f"cannot open this folder: {exc.strerror or exc}")
    out = FolderListing(folder)
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                    is_file = entry.is_file()
                except OSError:
                    is_dir = is_file = False
                if is_dir:
                    out.folders += 1
                elif is_file and is_jsonl(entry.name):
                    out.jsonl.append(folder / entry.name)
                else:
                    out.other_files += 1
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ELOOP:
            reason = "symlink loop"
        out.error = f"cannot read this folder: {reason}"
    out.jsonl.sort(key=lambda p: p.name.lower())
    return out


@dataclass
class Expansion:
    """What a typed path or glob stands for."""

    text: str
    files: list[Path] = field(default_factory=list)
    folder: Path | None = None
    message: str = ""


def expand_path(text: str, base: Path, *, cancel: threading.Event | None = None) -> Expansion:
    """Resolve the path field: a folder (to browse), a file, or a glob (`*`, `?`, `[...]`, `**`) of files.

    Relative paths are taken from `base`. Globs never follow symlinked folders under `**` (no loops), stop at
    GLOB_LIMIT matches or after GLOB_SECONDS, and only regular files count.
    """
    raw = text.strip()
    out = Expansion(raw)
    if not raw:
        out.message = "type a path or a glob such as *.jsonl"
        return out
    expanded = os.path.expanduser(raw)
    full = expanded if os.path.isabs(expanded) else os.path.join(base, expanded)
    if not _MAGIC.search(expanded):
        try:
            os.stat(full)
        except FileNotFoundError:
            out.message = f"{raw}: no such file or folder"
            return out
        except OSError as exc:
            out.message = f"{raw}: {'symlink loop' if exc.errno == errno.ELOOP else exc.strerror or exc}"
            return out
        if os.path.isdir(full):
            out.folder = Path(os.path.realpath(full))
        else:  # a regular file, or something validation will explain (a fifo, a device)
            out.files = [canonical(full)]
        return out
    parts = Path(full).parts
    first = next(i for i, part in enumerate(parts) if _MAGIC.search(part))
    root = Path(*parts[:first])
    pattern = str(Path(*parts[first:]))
    deadline = time.monotonic() + GLOB_SECONDS
    found: list[Path] = []
    try:
        for match in root.glob(pattern):
            if cancel is not None and cancel.is_set():
                break
            if time.monotonic() > deadline:
                out.message = f"stopped after {GLOB_SECONDS:.0f} s; showing the first {len(found)} matches"
                break
            try:
                if not match.is_file():
                    continue
            except OSError:
                continue
            if match.name.startswith("."):
                continue
            found.append(canonical(match))
            if len(found) >= GLOB_LIMIT:
                out.message = f"stopped at {GLOB_LIMIT} matches"
                break
    except (OSError, ValueError, NotImplementedError) as exc:
        out.message = f"{raw}: {exc}"
        return out
    out.files = sorted(dict.fromkeys(found), key=lambda p: str(p).lower())
    if not out.files and not out.message:
        out.message = f"{raw}: no files match"
    return out


@dataclass
class Completion:
    """What tab can make of the path field's text: the entries it may name (folders end in `/`), and the text
    extended as far as they all agree (`value`, equal to `text` when they agree on nothing more)."""

    text: str
    candidates: list[str] = field(default_factory=list)
    value: str = ""
    stem: str = ""
    """The text up to its last `/`: a candidate is `stem + candidate`."""


def complete_path(text: str, base: Path, *, limit: int = COMPLETION_LIMIT) -> Completion:
    """Complete the last part of `text` (relative to `base`, `~` allowed) from the entries of its folder.

    Nothing to complete (no candidates) for an empty text, a glob, an unreadable folder or no match. Hidden
    entries count only when the typed part starts with a dot. Stops after `limit` matches (a huge folder).
    """
    out = Completion(text, value=text)
    if not text.strip() or _MAGIC.search(text):
        return out
    cut = text.rfind("/") + 1
    out.stem, typed = text[:cut], text[cut:]
    folder = os.path.expanduser(out.stem) if out.stem else "."
    folder = folder if os.path.isabs(folder) else os.path.join(base, folder)
    found: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.startswith(typed) or (entry.name.startswith(".") and not typed.startswith(".")):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                found.append(entry.name + ("/" if is_dir else ""))
                if len(found) >= limit:
                    break
    except OSError:
        return out
    out.candidates = sorted(found, key=str.lower)
    if len(out.candidates) == 1:
        out.value = out.stem + out.candidates[0]
    elif out.candidates:
        common = os.path.commonprefix([c.rstrip("/") for c in out.candidates])
        out.value = out.stem + max(common, typed, key=len)
    return out


__all__ = [
    "COMPLETION_LIMIT",
    "GLOB_LIMIT",
    "GLOB_SECONDS",
    "Completion",
    "Expansion",
    "FolderListing",
    "complete_path",
    "expand_path",
    "list_folder",
]
