"""Provides the pollers' presence: each process that polls a store (`poll --watch`, `submit --wait`, the app, the
REST service) keeps a small file in `<store dir>/.pollers/` while it runs, so the others can say who else polls.

Why: a `poll --watch` left running as a service and the app both poll the same store. That is safe (the store's
lock, one download lock per job: download_lock.py), but the user who sees results arrive by themselves, or a pass
that finds nothing to do, should know why. The file says who polls (pid, host, what command), since when, and when
its last pass ended; it is written atomically (a reader never sees half of it) and never holds the key or the
command line (which may carry `--api-key`): the command is a fixed description given by the caller.

A file is stale, and not shown, when its process is gone (same host: child_process.pid_alive; the file is removed
then) or when its heartbeat is older than STALE_BEATS beats (another host, a frozen process, a reused pid). A live
announcer rewrites it every `beat_s` seconds from a daemon thread, so a pass that takes an hour (a 2 GB download)
does not read as dead.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core import paths
from gembatch_tui.core.child_process import pid_alive
from gembatch_tui.core.errors import redact
from gembatch_tui.core.fsutil import atomic_writer

DIR = ".pollers"
BEAT_S = 30.0
"""How often a live poller rewrites its file."""
STALE_BEATS = 3
"""A file whose heartbeat is older than this many of its beats is stale (its writer is gone or frozen)."""
FORGET_AFTER_S = 7 * 24 * 3600.0
"""A stale file this old is removed by any reader (one left by a crash on another host)."""


def presence_dir(store_path: str | os.PathLike[str]) -> Path:
    return Path(store_path).parent / DIR


@dataclass(frozen=True)
class Poller:
    """Another process polling the same store, as its file says."""

    pid: int
    host: str
    command: str
    started: float
    """Wall-clock seconds (time.time()) when it started polling."""
    last_pass: float | None
    """When its last poll pass ended; None before the first one."""
    beat: float
    beat_s: float
    path: Path
    store: str
    """The store file it polls (several stores may share a folder)."""

    def describe(self, now: float | None = None) -> str:
        """`poll --watch (pid 4242), last pass 20 s ago` (`on HOST` when it runs on another machine)."""
        now = time.time() if now is None else now
        where = f"pid {self.pid}" if self.host == socket.gethostname() else f"pid {self.pid} on {self.host}"
        last = "no pass yet" if self.last_pass is None else f"last pass {ago(now - self.last_pass)}"
        return f"{self.command} ({where}), {last}"


def ago(seconds: float) -> str:
    """`just now`, `20 s ago`, `3 min ago`, `2 h ago`: rounded down to 10 s (or minutes, hours), so a line that
    shows it every 5 s changes rarely."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return "just now"
    if seconds < 90:
        return f"{int(seconds // 10) * 10} s ago"
    if seconds < 90 * 60:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


class Presence:
    """This process's announcement: `start()` writes the file and keeps it fresh, `passed()` after each poll pass,
    `stop()` removes it (also on `with` exit). Every failure to write is silent: presence is information, and a
    read-only store folder must not stop a poll."""

    def __init__(self, store_path: str | os.PathLike[str], command: str, *, beat_s: float = BEAT_S) -> None:
        self.store_path = Path(store_path)
        self.command = redact(command)
        self.beat_s = beat_s
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.started = time.time()
        self.last_pass: float | None = None
        name = f"{paths.safe_component(self.store_path.name, 'store')}.{paths.safe_component(self.host, 'host')}"
        self.path = presence_dir(self.store_path) / f"{name}.{self.pid}.{id(self):x}.json"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Presence:
        self._write()
        self._thread = threading.Thread(target=self._beat, name="gembatch-presence", daemon=True)
        self._thread.start()
        return self

    def passed(self) -> None:
        """A poll pass ended now."""
        self.last_pass = time.time()
        self._write()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            try:
                self.path.unlink()
            except OSError:
                pass

    def __enter__(self) -> Presence:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _beat(self) -> None:
        while not self._stop.wait(self.beat_s):
            self._write()

    def _write(self) -> None:
        body = {"pid": self.pid, "host": self.host, "command": self.command, "store": str(self.store_path),
                "started": self.started, "last_pass": self.last_pass, "beat": time.time(), "beat_s": self.beat_s}
        with self._lock:
            if self._stop.is_set():
                return
            try:
                paths.ensure_private_dir(self.path.parent)
                with atomic_writer(self.path) as fh:
                    json.dump(body, fh)
            except OSError:
                pass


def others(store_path: str | os.PathLike[str], *, exclude: Path | None = None,
           now: float | None = None) -> list[Poller]:
    """The live pollers of this store other than `exclude` (the caller's own file), oldest first. Files of a
    process gone from this host are removed on the way."""
    store_path = Path(store_path)
    now = time.time() if now is None else now
    host = socket.gethostname()
    try:
        files = sorted(presence_dir(store_path).glob("*.json"))
    except OSError:
        return []
    found: list[Poller] = []
    for path in files:
        if exclude is not None and path == exclude:
            continue
        poller = _read(path)
        if poller is None or poller.store != str(store_path):
            continue
        if poller.host == host and not pid_alive(poller.pid):
            _forget(path)
            continue
        if now - poller.beat > STALE_BEATS * poller.beat_s:
            if now - poller.beat > FORGET_AFTER_S:
                _forget(path)
            continue
        found.append(poller)
    return sorted(found, key=lambda p: p.started)


def _read(path: Path) -> Poller | None:
    """The file's poller, or None when it is not one (half-written by an older writer, edited, empty)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        last = data.get("last_pass")
        return Poller(pid=int(data["pid"]), host=str(data["host"]), command=str(data["command"]),
                      started=float(data["started"]), last_pass=None if last is None else float(last),
                      beat=float(data["beat"]), beat_s=max(0.1, float(data.get("beat_s") or BEAT_S)), path=path,
                      store=str(data["store"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _forget(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


__all__ = ["BEAT_S", "DIR", "Poller", "Presence", "ago", "others", "presence_dir"]
