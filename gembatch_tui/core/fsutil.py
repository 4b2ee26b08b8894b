"""Provides the one way files are written so that a reader never sees half of them.

Write to a temporary file in the target's directory, flush and fsync it, then `os.replace` it over the
target; on any failure the temporary file is removed and the target is left as it was.
"""

from __future__ import annotations

import os
import stat
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_writer(
    target: str | os.PathLike[str], *, binary: bool = False, mode: int = 0o600, **open_kwargs: Any
) -> Iterator[IO[Any]]:
    """`with atomic_writer(path) as fh: fh.write(...)`: the file appears complete at `path`, or not at all.

    A `path` that is a device, a pipe or a socket (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written to in
    place: replacing it would put a regular file where the device was (as root, /dev/null itself)."""
    target = Path(target)
    try:
        kind = os.stat(target).st_mode
    except OSError:  # not there yet (or unreadable: the replace below reports it)
        kind = stat.S_IFREG
    if not (stat.S_ISREG(kind) or stat.S_ISDIR(kind)):
        with open(target, "wb" if binary else "w", **open_kwargs) as fh:
            yield fh
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename in `path` durable (best effort: some file systems refuse a directory fsync)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def move_into_place(src: str | os.PathLike[str], target: str | os.PathLike[str], *, overwrite: bool) -> bool:
    """Rename `src` to `target`. Without `overwrite` an existing `target` is never replaced, even by a rename
    racing with ours (a hard link is an atomic create-if-absent): False then, and `src` is left as it was."""
    if overwrite:
        os.replace(src, target)
        return True
    try:
        os.link(src, target)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: the check and the rename are then two steps
        if os.path.lexists(target):
            return False
        os.replace(src, target)
        return True
    os.unlink(src)
    return True


def place_beside(src: Path, target: Path, alternative: Path, *, ours: bool) -> Path:
    """Move a finished file into place without ever replacing another job's file: `target` (replaced only when
    it is `ours`), else `alternative`, else `alternative` with a random suffix. Returns where it went."""
    candidates = [target, alternative, alternative.with_name(f"{alternative.stem}-{uuid.uuid4().hex[:8]}{alternative.suffix}")]
    for i, candidate in enumerate(dict.fromkeys(candidates)):
        if move_into_place(src, candidate, overwrite=ours and i == 0):
            fsync_dir(candidate.parent)
            return candidate
    raise FileExistsError(f"{target}: every name for it was taken while it was written")


def regular_file(path: str | os.PathLike[str]) -> tuple[str | None, str, int]:
    """Whether `path` is a regular file we can stat: (None, "", size), or (what is wrong, the OS's words, 0) with
    what in "missing", "inaccessible", "directory", "special"; callers say it in their own words."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing", "", 0
    except OSError as exc:
        return "inaccessible", str(exc.strerror or exc), 0
    if stat.S_ISDIR(st.st_mode):
        return "directory", "", 0
    if not stat.S_ISREG(st.st_mode):
        return "special", "", 0
    return None, "", st.st_size


def file_version(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """(inode, mtime_ns, size) of a file, as the job store keys its cache: every store write replaces the file, so
    the same version means nobody wrote since. None when it cannot be looked at."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
