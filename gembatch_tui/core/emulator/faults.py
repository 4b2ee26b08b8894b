"""Provides error injection: scripted failures (`fail_next`) and random transient errors (`error_rate`).

Both are seeded and thread-safe, so a test that injects faults sees the same sequence every run.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

from .errors import TRANSIENT_CODES, ApiError, transient


@dataclass
class _Rule:
    method: str
    pattern: re.Pattern[str]
    code: int
    remaining: int
    message: str | None


class Faults:
    def __init__(self, error_rate: float, seed: int) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        self.error_rate = error_rate
        self._rng = random.Random(f"faults:{seed}")
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def fail_next(self, method: str, path_regex: str, code: int, times: int = 1, message: str | None = None) -> None:
        """Answer the next `times` requests whose method matches (`*` = any) and whose URL path (no query)
        matches `path_regex` (re.search) with an error envelope of HTTP `code`."""
        if not 100 <= int(code) <= 599 or int(code) == 200:
            raise ValueError("code must be an HTTP status other than 200")
        rule = _Rule(method.upper(), re.compile(path_regex), int(code), int(times), message)
        with self._lock:
            self._rules.append(rule)

    def scripted(self, method: str, path: str) -> ApiError | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and rule.method in ("*", method) and rule.pattern.search(path):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return ApiError(rule.code, rule.message)
        return None

    def random_transient(self) -> ApiError | None:
        if self.error_rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.error_rate:
                return None
            code = self._rng.choice(TRANSIENT_CODES)
        return transient(code)
