"""Provides the cache of uploaded media files, so the same image is uploaded once and its URI reused.

One JSON file, `<cache dir>/media-uris.json`: `{"version": 1, "entries": {KEY: ENTRY}}`. KEY is the file's
absolute path, size, mtime (ns) and sha256, plus the account scope (a digest of the API base URL and key, so an
emulator's URIs are never offered to the real service, nor one project's to another). ENTRY records the
upload: `file_name`, `uri`, `mime_type`, `expiration_time`, `uploaded_at`.

- An entry is reused while its file has more than REUSE_MARGIN_S (1 h) left before the Files API's 48 h expiry,
  so a job created with it still finds the file.
- Writes take a filelock beside the file, re-read under it, prune expired entries and replace the file
  atomically (temporary file + fsync + os.replace). A cache that cannot be read is treated as empty, never fatal.
- An entry is only a hint: the uploader checks the file still exists and is ACTIVE before using it
  (media_remote.py), and `forget`s it when the file is gone or FAILED.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from gembatch_tui.core import paths
from gembatch_tui.core.fsutil import atomic_writer
from gembatch_tui.core.models import parse_time

CACHE_NAME = "media-uris.json"
REUSE_MARGIN_S = 3600.0
LOCK_TIMEOUT_S = 30.0
_HASH_BLOCK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            sha.update(block)
    return sha.hexdigest()


@dataclass(frozen=True)
class MediaFile:
    """A local file as the cache identifies it."""

    path: str
    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> MediaFile:
        """Stat and hash `path` (OSError when it cannot be read)."""
        st = os.stat(path)
        return cls(os.fspath(path), st.st_size, st.st_mtime_ns, file_sha256(path))

    def key(self, scope: str) -> str:
        return "\x1f".join((scope, self.path, str(self.size), str(self.mtime_ns), self.sha256))


@dataclass(frozen=True)
class Uploaded:
    """A file on the Files API."""

    file_name: str
    uri: str
    mime_type: str
    expiration_time: str | None  # RFC 3339; None when the service did not say (then assume 48 h)
    state: str = ""  # as the upload answered (PROCESSING, ACTIVE, ...); never cached: it changes


class MediaCache:
    """Blocking file I/O: use from workers."""

    def __init__(self, path: str | os.PathLike[str], clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S, mode=0o600)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        entries = data.get("entries") if isinstance(data, dict) else None
        return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}

    def _expiry(self, entry: dict[str, Any]) -> float:
        when = parse_time(entry.get("expiration_time"))
        if when is not None:
            return when.timestamp()
        uploaded = parse_time(entry.get("uploaded_at"))
        return (uploaded.timestamp() if uploaded else 0.0) + 48 * 3600

    def lookup(self, files: Iterable[MediaFile], scope: str) -> dict[MediaFile, Uploaded]:
        """The files that have a reusable upload (more than REUSE_MARGIN_S before expiry)."""
        entries = self._read()
        now = self.clock()
        found: dict[MediaFile, Uploaded] = {}
        for media in files:
            entry = entries.get(media.key(scope))
            if entry and self._expiry(entry) - now > REUSE_MARGIN_S and entry.get("uri"):
                found[media] = Uploaded(
                    str(entry.get("file_name") or ""), str(entry["uri"]), str(entry.get("mime_type") or ""),
                    entry.get("expiration_time"),
                )
        return found

    def store(self, uploads: dict[MediaFile, Uploaded], scope: str) -> None:
        """Record new uploads and prune expired entries, under the lock; errors are ignored (it is a cache)."""
        try:
            paths.ensure_private_dir(self.path.parent)  # the cache dir is the data dir's under GEMBATCH_TUI_HOME
            with self._lock:
                entries = self._read()
                now = self.clock()
                uploaded_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
                for media, up in uploads.items():
                    entries[media.key(scope)] = {
                        "path": media.path, "size": media.size, "mtime_ns": media.mtime_ns, "sha256": media.sha256,
                        "file_name": up.file_name, "uri": up.uri, "mime_type": up.mime_type,
                        "expiration_time": up.expiration_time, "uploaded_at": uploaded_at,
                    }
                live = {k: v for k, v in entries.items() if self._expiry(v) > now}
                self._write({"version": 1, "entries": live})
        except (OSError, Timeout):
            pass

    def forget(self, files: Iterable[MediaFile], scope: str) -> None:
        """Drop the entries of `files` (their upload is gone or FAILED), under the lock; errors are ignored."""
        keys = {media.key(scope) for media in files}
        if not keys:
            return
        try:
            with self._lock:
                entries = self._read()
                if keys & entries.keys():
                    self._write({"version": 1, "entries": {k: v for k, v in entries.items() if k not in keys}})
        except (OSError, Timeout):
            pass

    def _write(self, data: dict[str, Any]) -> None:
        with atomic_writer(self.path, encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))

    def entries(self) -> dict[str, dict[str, Any]]:
        """Every stored entry (for tests and diagnostics)."""
        return self._read()
