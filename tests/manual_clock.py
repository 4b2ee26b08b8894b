"""The emulator clock tests move by hand (`Emulator(clock=...)`), so job states change exactly when a test says."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class ManualClock:
    """Starts at `start` (default: now); `advance(seconds)` moves it; thread-safe, the emulator reads it."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self(), tz=timezone.utc)
