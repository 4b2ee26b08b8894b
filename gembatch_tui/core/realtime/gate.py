"""Provides RateGate: the one place every worker of a real-time run asks before it sends, so the run stays under the
requests-per-minute and input-tokens-per-minute limits, and pauses as a whole when the server says to wait.

Why a sliding window and not a classic token bucket: the service counts requests per minute, and a bucket of
capacity N refilled at N a minute can let 2N through in one minute (a full bucket, then its refill). Here a request
may start only when fewer than `rpm` requests (and fewer than `tpm` estimated input tokens) started in the last
window, which is the bucket whose refill is exactly what left the window. The window is the limit's plus a small
margin, because a request reaches the server a little after it starts here, and not always in the order it
started. A 429 with a retry hint pauses every worker until then (`pause`): the limit is per model, not per worker.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MARGIN_SHARE = 0.1  # of the window, at most MARGIN_MAX seconds
MARGIN_MAX = 2.0


class RateGate:
    """Admits requests under `rpm` requests and `tpm` tokens per `window_s` seconds (None: no such limit)."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.window_s = float(window_s) + min(MARGIN_MAX, MARGIN_SHARE * float(window_s))
        self._clock = clock
        self._starts: deque[tuple[float, int]] = deque()  # (start time, tokens) inside the window
        self._tokens = 0
        self._paused_until = 0.0
        self._cond = threading.Condition()

    def acquire(self, tokens: int, cancel: threading.Event | None = None) -> bool:
        """Wait until a request of `tokens` estimated input tokens may start, and count it. False when `cancel`
        was set meanwhile (nothing is counted then). A request bigger than the whole `tpm` starts alone in an
        empty window, rather than never."""
        with self._cond:
            while True:
                if cancel is not None and cancel.is_set():
                    return False
                now = self._clock()
                wait = self._wait(tokens, now)
                if wait <= 0:
                    self._starts.append((now, tokens))
                    self._tokens += tokens
                    return True
                self._cond.wait(timeout=min(wait, 0.25))  # short steps: cancel and pause() are seen quickly

    def _wait(self, tokens: int, now: float) -> float:
        while self._starts and self._starts[0][0] <= now - self.window_s:
            self._tokens -= self._starts.popleft()[1]
        if now < self._paused_until:
            return self._paused_until - now
        if self.rpm is not None and len(self._starts) >= self.rpm:
            return self._starts[0][0] + self.window_s - now
        if self.tpm is not None and self._starts and self._tokens + tokens > self.tpm:
            return self._starts[0][0] + self.window_s - now
        return 0.0

    def pause(self, seconds: float) -> None:
        """No request starts for `seconds` from now (the server's retryDelay), whichever worker was told."""
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))
            self._cond.notify_all()

    def paused_for(self) -> float:
        """Seconds left of a pause the server asked for (0 when none)."""
        with self._cond:
            return max(0.0, self._paused_until - self._clock())

    def wake(self) -> None:
        """Let waiting workers look at their cancel event now."""
        with self._cond:
            self._cond.notify_all()
