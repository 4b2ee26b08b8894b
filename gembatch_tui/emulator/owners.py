"""Provides per-key visibility, as the real service has it: a batch or file made with one API key is not there
for another key (a batch answers 404, a file 403), and listings show only the caller's own.

Only an emulator started with several keys (`api_keys`) scopes; with one key (or any key) everything is the
caller's. Keys are kept as a short hash (`label`), which is also what the per-key request log records, so tests can
tell which key made which call without the key sitting in a log. Ownership lives in memory: an emulator started
again over a persistent state dir has forgotten it, and every key then sees the earlier jobs.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from .errors import file_not_found, not_found


def label(key: str) -> str:
    """What the emulator keeps of a key: 12 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


class Owners:
    """Which key (its label) made each batch and file; uploads remember the key that started them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, str] = {}
        self._sessions: dict[str, str] = {}

    def claim(self, name: str, caller: str) -> None:
        with self._lock:
            self._by_name.setdefault(name, caller)

    def owner(self, name: str) -> str | None:
        with self._lock:
            return self._by_name.get(name)

    def start_upload(self, upload_id: str, caller: str) -> None:
        with self._lock:
            self._sessions[upload_id] = caller

    def upload_owner(self, upload_id: str) -> str | None:
        with self._lock:
            return self._sessions.get(upload_id)

    def check(self, name: str, caller: str) -> None:
        """Raise what the service answers another key: 404 for a batch, 403 for a file."""
        owner = self.owner(name)
        if owner is not None and owner != caller:
            if name.startswith("files/"):
                raise file_not_found(name.split("/", 1)[1])
            raise not_found()

    def visible(self, items: list[dict[str, Any]], caller: str) -> list[dict[str, Any]]:
        return [it for it in items if self.owner(str(it.get("name") or "")) in (None, caller)]

    def claim_output(self, operation: dict[str, Any], caller: str) -> None:
        """A finished batch's results file is its owner's."""
        out = (operation.get("response") or {}).get("responsesFile")
        if isinstance(out, str) and out:
            self.claim(out, self.owner(str(operation.get("name") or "")) or caller)


