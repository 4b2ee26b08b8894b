"""Provides the interactive endpoint `POST /{v}/models/{model}:generateContent` with a per-minute request limit.

Why: the real-time fallback (core/realtime) must be tested over HTTP with the real SDK, rate limits included.
An answer is the same synthetic GenerateContentResponse a batch result line carries (results.generate_response),
so a real-time run's results look like a batch's. A request the service would reject is answered 400
INVALID_ARGUMENT, as the real endpoint does.

The limit (`rpm`, per model, as the real quota `GenerateRequestsPerMinutePerProjectPerModel`) is a sliding window
of `window_s` seconds (60; tests shorten it, a test knob): a request that would be one more than `rpm` in the
last window is answered 429 RESOURCE_EXHAUSTED with the real envelope's QuotaFailure, Help and RetryInfo details,
`retryDelay` being the wait until the oldest counted request leaves the window. Every arrival (answered or not)
is logged in `calls`, so a test can measure from the server's side what a client really sent.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .catalog import GENERATE, KNOWN_MODELS
from .errors import ApiError, invalid_argument, model_not_found
from .results import check_request, generate_response
from .synth import prompt_text

QUOTA_ID = "GenerateRequestsPerMinutePerProjectPerModel"
QUOTA_METRIC = "generativelanguage.googleapis.com/generate_content_requests"
RATE_LIMIT_DOCS = "https://ai.google.dev/gemini-api/docs/rate-limits"


@dataclass(frozen=True)
class Call:
    """One generateContent request as the emulator saw it arrive."""

    at: float  # arrival time by the emulator's clock
    model: str  # the model id, without `models/`
    prompt: str  # the request's text (its first 200 characters), to tell which request it was
    status: int  # the HTTP status it was answered with


class Realtime:
    """The state of the interactive endpoint: the limit's window per model, the answer counter and the call log."""

    def __init__(self, rpm: int | None, window_s: float, clock: Callable[[], float] = time.time, seed: int = 0):
        if rpm is not None and rpm <= 0:
            raise ValueError("rpm must be a positive number of requests")
        if not window_s > 0:
            raise ValueError("the rate window must be a positive number of seconds")
        self.rpm = rpm
        self.window_s = float(window_s)
        self.clock = clock
        self.seed = seed
        self.calls: list[Call] = []
        self._admitted: dict[str, deque[float]] = {}
        self._count = 0
        self._lock = threading.Lock()

    def admit(self, model: str, now: float) -> float | None:
        """None when the request fits the limit (and is counted), else the seconds until it would."""
        if self.rpm is None:
            return None
        with self._lock:
            times = self._admitted.setdefault(model, deque())
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) < self.rpm:
                times.append(now)
                return None
            return max(0.001, times[0] + self.window_s - now)

    def log(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def next_index(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def exhausted(self, model: str, delay: float) -> ApiError:
        """The real 429 of a per-minute quota, with the wait in RetryInfo (whole seconds, as the service sends
        them, or milliseconds under a shortened test window)."""
        retry = f"{math.ceil(delay)}s" if self.window_s >= 60 else f"{delay:.3f}s"
        return ApiError(
            429,
            f"You exceeded your current quota, please check your plan and billing details. Quota exceeded for "
            f"metric: {QUOTA_METRIC}, limit: {self.rpm}, model: {model}\nPlease retry in {delay:.1f}s.",
            details=[
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                 "violations": [{"quotaMetric": QUOTA_METRIC, "quotaId": QUOTA_ID,
                                 "quotaDimensions": {"location": "global", "model": model},
                                 "quotaValue": str(self.rpm)}]},
                {"@type": "type.googleapis.com/google.rpc.Help",
                 "links": [{"description": "Learn more about Gemini API quotas", "url": RATE_LIMIT_DOCS}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry},
            ],
        )


def answer(realtime: Realtime, model_path: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
    """The GenerateContentResponse for one request, or an ApiError (404 unknown model, 429 over the limit, 400 a
    request the service rejects). The call is logged whatever the answer."""
    collection, _, model_id = model_path.partition("/")
    now = realtime.clock()
    text = prompt_text(body)[:200] if isinstance(body, dict) else ""
    status = 200
    try:
        info = KNOWN_MODELS.get(model_id) if collection == "models" else None
        if info is None or info.kind != GENERATE:
            raise model_not_found(model_path, version, "generateContent")
        delay = realtime.admit(model_id, now)
        if delay is not None:
            raise realtime.exhausted(model_id, delay)
        problem = check_request(body, GENERATE)
        if problem is not None:
            raise invalid_argument(problem.replace("'request'", "'*'"))
        return generate_response(body, f"models/{model_id}", realtime.seed, realtime.next_index())
    except ApiError as exc:
        status = exc.code
        raise
    finally:
        realtime.log(Call(now, model_id, text, status))
