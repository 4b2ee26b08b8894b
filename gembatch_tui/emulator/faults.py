"""Provides error injection: scripted failures (`fail_next`), answers lost after the server acted
(`lose_answer`), and random transient errors (`error_rate`).

All are seeded and thread-safe, so a test that injects faults sees the same sequence every run.
`lose_answer` is what a real network does to a client: the server performs the request (creates the job,
stores the upload), then the answer never arrives whole. The client must find out by looking, not by doing it again.
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


@dataclass
class _LostAnswer:
    method: str
    pattern: re.Pattern[str]
    outcome: int | bytes | str  # an HTTP status, a 200 body to send instead, or "reset"
    remaining: int
    header: tuple[str, str] | None  # (name, substring) the request must carry, e.g. the finalize chunk


RESET = "reset"
"""`lose_answer` outcome: close the connection without answering."""


class Faults:
    def __init__(self, error_rate: float, seed: int) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        self.error_rate = error_rate
        self._rng = random.Random(f"faults:{seed}")
        self._rules: list[_Rule] = []
        self._lost: list[_LostAnswer] = []
        self._lock = threading.Lock()

    def fail_next(self, method: str, path_regex: str, code: int, times: int = 1, message: str | None = None) -> None:
        """Answer the next `times` requests whose method matches (`*` = any) and whose URL path (no query)
        matches `path_regex` (re.search) with an error envelope of HTTP `code`."""
        if not 100 <= int(code) <= 599 or int(code) == 200:
            raise ValueError("code must be an HTTP status other than 200")
        rule = _Rule(method.upper(), re.compile(path_regex), int(code), int(times), message)
        with self._lock:
            self._rules.append(rule)

    def lose_answer(
        self,
        method: str,
        path_regex: str,
        outcome: int | bytes | str = RESET,
        times: int = 1,
        header: tuple[str, str] | None = None,
    ) -> None:
        """Perform the next `times` matching requests, then lose their answers: `"reset"` closes the connection
        without a reply, an int answers that HTTP status's error envelope, bytes answer 200 with that body instead
        (a malformed reply). `header` = (name, substring) narrows the match (e.g. the finalize chunk)."""
        if not (outcome == RESET or isinstance(outcome, bytes) or (isinstance(outcome, int) and 400 <= outcome <= 599)):
            raise ValueError("outcome must be 'reset', an HTTP error status or a 200 body (bytes)")
        rule = _LostAnswer(method.upper(), re.compile(path_regex), outcome, int(times), header)
        with self._lock:
            self._lost.append(rule)

    def lost_answer(self, method: str, path: str, headers: object) -> int | bytes | str | None:
        """The outcome to send instead of the real answer of this request, if a `lose_answer` rule matches."""
        with self._lock:
            for rule in self._lost:
                if rule.remaining <= 0 or rule.method not in ("*", method) or not rule.pattern.search(path):
                    continue
                if rule.header is not None:
                    value = headers.get(rule.header[0]) if hasattr(headers, "get") else None
                    if rule.header[1].lower() not in str(value or "").lower():
                        continue
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._lost.remove(rule)
                return rule.outcome
        return None

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
