"""Provides the one retry policy for remote calls, and the line between a failure that proves nothing happened
and one whose outcome is unknown.

Why our own and not the SDK's `retry_options`: the SDK retries `batches.create` and the upload start like any
read, so a create whose answer was lost (a 5xx or a reset after the server acted) becomes a second billed job.
Here only idempotent calls are retried blindly; a non-idempotent one that fails ambiguously is resolved by
looking first (see GeminiClient.upload and BatchService._create). A refused connection proves the request never
reached a server: it is reported at once, not retried for a quarter of a minute.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

RETRY_CODES = frozenset({408, 429, 500, 502, 503, 504})
AMBIGUOUS_CODES = frozenset({408, 500, 502, 503, 504})
"""Answers after which the server may or may not have acted (429 and other 4xx say it did not)."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def is_refused(exc: BaseException) -> bool:
    """The connection was refused (or the name did not resolve): the request never reached any server."""
    for cur in _chain(exc):
        if isinstance(cur, ConnectionRefusedError):
            return True
        text = str(cur).lower()
        if "connection refused" in text or "name or service not known" in text or "nodename nor servname" in text:
            return True
    return False


def is_transport_error(exc: BaseException) -> bool:
    """A timeout, a reset or a dropped connection (httpx names them so; the stdlib's ConnectionError too)."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    name = type(exc).__name__
    return any(word in name for word in ("Timeout", "Connect", "Network", "RemoteProtocol", "ReadError", "WriteError"))


def status_code(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else None


def retryable(exc: BaseException) -> bool:
    """Worth another try of an idempotent call: a transient status or a transport failure other than refused."""
    code = status_code(exc)
    if code is not None:
        return code in RETRY_CODES
    return is_transport_error(exc) and not is_refused(exc)


def outcome_unknown(exc: BaseException) -> bool:
    """After this failure of a call that creates something, it may exist: look before trying again.

    A 5xx or 408, a timeout, a reset, or a 200 whose body could not be read. Not a refused connection, a 429 or
    another 4xx: those say nothing was created."""
    code = status_code(exc)
    if code is not None:
        return code in AMBIGUOUS_CODES or code == 200
    if is_refused(exc):
        return False
    if is_transport_error(exc):
        return True
    # A 200 whose body was not what the SDK expects (KeyError 'file', JSON or pydantic errors): it acted.
    return isinstance(exc, (ValueError, KeyError, TypeError, AttributeError))


@dataclass
class RetryPolicy:
    attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def pause(self, attempt: int) -> None:
        """Sleep before try `attempt + 1` (exponential, with jitter, as the SDK's own policy)."""
        delay = min(self.max_delay, self.initial_delay * (2 ** (attempt - 1)))
        self.sleep(delay + random.uniform(0, min(1.0, delay)))

    def call(self, fn: Callable[[], T], *, retry_if: Callable[[BaseException], bool] = retryable) -> T:
        """Run an idempotent call, trying again while `retry_if` says so and attempts remain."""
        attempts = max(1, self.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - re-raised unless retryable
                if attempt == attempts or not retry_if(exc):
                    raise
            self.pause(attempt)
        raise RuntimeError("unreachable")  # pragma: no cover


def url_of(exc: BaseException) -> str | None:
    """`scheme://host:port` of the request an httpx error is about, for a message that names where."""
    for cur in _chain(exc):
        try:
            request: Any = getattr(cur, "request", None)
        except RuntimeError:  # httpx raises when the request is not set
            request = None
        url = getattr(request, "url", None)
        if url is not None:
            scheme = getattr(url, "scheme", "")
            netloc = getattr(url, "netloc", b"")
            netloc = netloc.decode() if isinstance(netloc, bytes) else str(netloc)
            if scheme and netloc:
                return f"{scheme}://{netloc}"
    return None
