"""Provides the partial results file of a real-time run: the keys already answered, and the writer that appends
one results line per answer, flushed to the OS at once.

Why a line is written the moment its answer arrives: the answer is paid for, so after a kill (even SIGKILL) the
rerun must find it and never send that key again. A flushed write survives the process; a torn last line (the
process died inside a write) is cut off on reopen, and its key is sent again, since its answer was not kept.
The lines are the batch output's: `{"key": ..., "response": {...}}` or `{"key": ..., "error": {...}}`.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


def done_keys(path: Path) -> tuple[set[str], int, int]:
    """(keys answered, of which with an error, bytes kept) of a partial file; a torn last line is cut off first.
    A missing file is empty. Raises OSError when it cannot be read or cut."""
    keys: set[str] = set()
    errors = 0
    try:
        fh = open(path, "rb+")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return keys, 0, 0
    with fh:
        good = 0
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # torn: written by a process that died mid-line
            try:
                obj = json.loads(raw)
            except ValueError:
                break
            if isinstance(obj, dict) and isinstance(obj.get("key"), str):
                keys.add(obj["key"])
                errors += obj.get("error") is not None
            good += len(raw)
        if good != fh.seek(0, os.SEEK_END):
            fh.truncate(good)
    return keys, errors, good


class LineWriter:
    """Appends results lines to the partial file from several threads, each line whole and flushed at once."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._fh = os.fdopen(fd, "ab")
        self._lock = threading.Lock()
        self.ok = 0
        self.errors = 0

    def write(self, key: str, *, response: dict[str, Any] | None = None, error: dict[str, Any] | None = None) -> None:
        line = {"key": key, "response": response} if error is None else {"key": key, "error": error}
        try:
            data = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escaped in the answer: keep it escaped
            data = json.dumps(line, separators=(",", ":")).encode("ascii")
        with self._lock:
            self._fh.write(data + b"\n")
            self._fh.flush()
            if error is None:
                self.ok += 1
            else:
                self.errors += 1

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
