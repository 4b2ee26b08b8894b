"""Provides `claim_export_path`: a name for a new export that no existing file has, reserved on disk.

Why: the results browser writes its exports beside the results file under one default name; a second export
(another filter, the same job later) must never replace the first one without a word. The name is reserved by
creating an empty file exclusively (O_EXCL), so two exports at once cannot pick the same one; the export then
replaces that empty placeholder atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_TRIES = 1000


def _numbered(path: Path, n: int) -> Path:
    """`a.export.jsonl` -> `a.export-2.jsonl`."""
    name = path.name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return path.with_name(f"{name}-{n}")
    return path.with_name(f"{stem}-{n}.{ext}")


def claim_export_path(preferred: str | os.PathLike[str]) -> Path:
    """Reserve `preferred`, or the first free `<stem>-2.<ext>`, `-3`...; returns the path now held (an empty
    file, mode 0600). Raises OSError when the folder cannot be written (or a thousand names are taken)."""
    first = Path(preferred)
    for n in range(1, MAX_TRIES + 1):
        candidate = first if n == 1 else _numbered(first, n)
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"{first}: {MAX_TRIES} export names beside it are taken; remove some")


def release(path: str | os.PathLike[str]) -> None:
    """Remove a reserved name whose export failed (only if it is still the empty placeholder)."""
    try:
        if os.path.getsize(path) == 0:
            os.unlink(path)
    except OSError:
        pass


__all__ = ["claim_export_path", "release"]
