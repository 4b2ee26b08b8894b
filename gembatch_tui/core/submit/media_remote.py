"""Provides the Files API checks behind `[[FILE:...]]` media: is an upload still there, and waiting until ACTIVE.

Why: a batch request that names a file which is gone (deleted, or past its 48 h) or not ACTIVE fails. The Files
API keeps video (and some audio and PDF) PROCESSING for a while after the upload, and a cached URI may name a
file that was deleted since. Both are asked with files.get, a few files at a time (one paged files.list when
there are more than LIST_FROM).

- 403 or 404 means the file is gone (the Files API answers 403 for a file that does not exist): re-upload.
- Any other failure (429, 5xx after the client's retries, no connection) fails the submission with a transient
  ServiceError: re-uploading blindly while the service struggles would only leave duplicate files behind.
- `wait_active` polls with a backoff (0.5 s doubling to 5 s), stops at once when `cancel` is set (Cancelled),
  and gives up after `timeout_s` (10 min by default). A FAILED file raises UnusableUpload.

Messages are one line, name the local file, and carry the server's text as data (control characters removed).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from gembatch_tui.core.errors import Cancelled, ServiceError

ACTIVE, PROCESSING, FAILED, GONE = "ACTIVE", "PROCESSING", "FAILED", "GONE"
CHECK_WORKERS = 8
LIST_FROM = 100
"""More files to check than this: one paged files.list (100 a page) instead of a files.get each."""
GONE_CODES = frozenset({403, 404})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")

T = TypeVar("T")
R = TypeVar("R")
Names = dict[str, str]  # Files API name ("files/ID") -> the local path it was uploaded from (for messages)


@dataclass(frozen=True)
class Remote:
    """What the Files API says about one file now."""

    state: str  # ACTIVE, PROCESSING, FAILED or GONE
    error: str = ""  # the server's message for a FAILED file


class UnusableUpload(ServiceError):
    """The Files API could not process an upload (FAILED), or it vanished: its cache entry must go."""

    def __init__(self, message: str, file_name: str) -> None:
        super().__init__(message)
        self.file_name = file_name


@dataclass(frozen=True)
class WaitPolicy:
    """How long and how often `wait_active` polls; `clock` and `sleep` are injectable for tests."""

    timeout_s: float = 600.0
    first_delay_s: float = 0.5
    max_delay_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] | None = None  # None: wait on the cancel event, so a cancel ends it at once


def one_line(text: Any, limit: int = 300) -> str:
    """Server text made safe for a one-line message: no control characters or runs of blanks, bounded."""
    flat = " ".join(_CONTROL.sub(" ", str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def remote_of(raw: dict[str, Any]) -> Remote:
    """A File's JSON as a Remote. A missing or unspecified state counts as ACTIVE: never wait for a state
    the server does not report."""
    state = str(raw.get("state") or "").upper()
    if state == FAILED:
        error = raw.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return Remote(FAILED, one_line(message or ""))
    return Remote(PROCESSING if state == PROCESSING else ACTIVE)


def _get(client: Any, name: str, path: str) -> Remote:
    try:
        return remote_of(client.get_file(name))
    except ServiceError as exc:
        if exc.code in GONE_CODES:
            return Remote(GONE)
        raise ServiceError(f"referenced file {path}: cannot check its upload {name}: {one_line(exc, 400)}",
                           code=exc.code, transient=exc.transient) from None


def _by_listing(client: Any, names: Names, cancel: threading.Event | None) -> dict[str, Remote]:
    found: dict[str, Remote] = {}
    try:
        for raw in client.iter_files(100):
            if cancel is not None and cancel.is_set():
                raise Cancelled("media check cancelled")
            name = str(raw.get("name") or "")
            if name in names:
                found[name] = remote_of(raw)
                if len(found) == len(names):
                    break
    except ServiceError as exc:
        raise ServiceError(f"cannot check {len(names)} uploaded media files: {one_line(exc, 400)}",
                           code=exc.code, transient=exc.transient) from None
    return {name: found.get(name, Remote(GONE)) for name in names}


def check(
    client: Any,
    names: Names,
    *,
    cancel: threading.Event | None = None,
    workers: int = CHECK_WORKERS,
    list_from: int = LIST_FROM,
) -> dict[str, Remote]:
    """Where each file stands now; raises ServiceError for anything but "gone" (see the module docstring)."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("media check cancelled")
    if not names:
        return {}
    if len(names) > list_from:
        return _by_listing(client, names, cancel)
    items = list(names.items())
    found = map_all(lambda item: _get(client, *item), items, workers=workers, thread_name="media-check")
    return {name: remote for (name, _path), remote in zip(items, found)}


def map_all(fn: Callable[[T], R], items: list[T], *, workers: int, thread_name: str) -> list[R]:
    """`fn` over `items`, a few at a time, results in order; the first exception cancels what has not started
    and is raised (one failed upload or check fails the submission without waiting for the rest)."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(max(1, workers), len(items)), thread_name_prefix=thread_name) as pool:
        futures = [pool.submit(fn, item) for item in items]
        finished, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        error = next((f.exception() for f in finished if f.exception() is not None), None)
        if error is not None:
            for f in futures:
                f.cancel()
            raise error
        return [f.result() for f in futures]


def _span(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def wait_active(
    client: Any,
    names: Names,
    *,
    policy: WaitPolicy | None = None,
    cancel: threading.Event | None = None,
    list_from: int = LIST_FROM,
) -> None:
    """Return once every file in `names` is ACTIVE. Raises UnusableUpload (FAILED or gone), ServiceError
    (timeout, or the service failing) or Cancelled."""
    policy = policy or WaitPolicy()
    pending = dict(names)
    deadline = policy.clock() + policy.timeout_s
    delay = policy.first_delay_s
    while True:
        for name, remote in check(client, pending, cancel=cancel, list_from=list_from).items():
            path = pending[name]
            if remote.state == FAILED:
                why = f": {remote.error}" if remote.error else ""
                raise UnusableUpload(f"referenced file {path}: the Files API could not process it "
                                     f"({name} FAILED){why}", name)
            if remote.state == GONE:
                raise UnusableUpload(f"referenced file {path}: its upload {name} vanished from the Files API "
                                     "while it was being processed; submit again", name)
            if remote.state == ACTIVE:
                del pending[name]
        if not pending:
            return
        left = deadline - policy.clock()
        if left <= 0:
            name, path = next(iter(pending.items()))
            more = f" (and {len(pending) - 1} more files)" if len(pending) > 1 else ""
            raise ServiceError(f"referenced file {path}: still PROCESSING on the Files API ({name}) after "
                               f"{_span(policy.timeout_s)}{more}; try again later", transient=True)
        pause = min(delay, left)
        if policy.sleep is not None:
            policy.sleep(pause)
        elif cancel is not None:
            cancel.wait(pause)
        else:
            time.sleep(pause)
        if cancel is not None and cancel.is_set():
            raise Cancelled("waiting for media processing cancelled")
        delay = min(delay * 2, policy.max_delay_s)
