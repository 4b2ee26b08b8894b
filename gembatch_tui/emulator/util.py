"""Provides small shared helpers: RFC 3339 timestamps, seeded resource ids, JSON encoding and list pagination.

Pagination tokens encode the creation sequence number of the last item served, so a page boundary stays
stable when items are deleted between page fetches, and a page is never empty while a token is offered.
"""

from __future__ import annotations

import base64
import bisect
import json
import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from .errors import invalid_argument

T = TypeVar("T")

LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def rfc3339(ts: float, digits: int = 9) -> str:
    """`2025-12-10T18:27:01.407650525Z` style; `digits` fractional digits (the API uses 9 for batches, 6 for files)."""
    whole = int(ts // 1)
    nanos = int(round((ts - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    base = datetime.fromtimestamp(whole, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if digits <= 0:
        return base + "Z"
    frac = f"{nanos:09d}"[:digits]
    return f"{base}.{frac}Z"


def dumps_api(obj: Any) -> bytes:
    """API answers are pretty-printed with two spaces, as Google front ends do."""
    return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def dumps_line(obj: Any) -> str:
    """Result-file lines are compact, one JSON object per line."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class IdGenerator:
    """Thread-safe source of resource ids. Seeded, so a run with the same seed names things the same way;
    `stream` > 0 picks another sequence for the same seed (a persistent emulator's later starts, so ids never
    repeat across restarts); `seed=None` draws from the OS's randomness (`secrets`-grade, never repeats)."""

    def __init__(self, seed: int | None, stream: int = 0) -> None:
        if seed is None:
            self._rng: random.Random = random.SystemRandom()
        elif stream:
            self._rng = random.Random(f"ids:{seed}:start-{stream}")
        else:
            self._rng = random.Random(f"ids:{seed}")
        self._lock = threading.Lock()

    def _pick(self, alphabet: str, n: int) -> str:
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(n))

    def file_id(self) -> str:
        return self._pick(LOWER_ALNUM, 12)

    def batch_id(self) -> str:
        return self._pick(LOWER_ALNUM, 40)

    def upload_id(self) -> str:
        return "AAD" + self._pick(URLSAFE, 69)


def _encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not raw.startswith("seq:"):
            raise ValueError(raw)
        return int(raw[4:])
    except (ValueError, UnicodeDecodeError):
        raise invalid_argument("Invalid page token.") from None


def parse_page_size(raw: str | None, max_size: int = MAX_PAGE_SIZE, reject_over: bool = False) -> int:
    """The page size asked for; over `max_size` it is clamped (AIP-158), or refused with 400 when `reject_over`
    (a service that does so: clients must cope with both)."""
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"") from None
    if size <= 0:
        return DEFAULT_PAGE_SIZE
    if size > max_size and reject_over:
        raise invalid_argument(f"page_size must be at most {max_size}.")
    return min(size, max_size)


def paginate(
    items: Sequence[T], seq_of: Callable[[T], int], page_size: str | None, page_token: str | None,
    max_size: int = MAX_PAGE_SIZE, reject_over: bool = False,
) -> tuple[list[T], str | None]:
    """Newest first. Returns (page, next_token); next_token is None unless at least one more item exists.
    The items are sorted by sequence and cut with a binary search, so a page late in a long listing costs no
    more than the first (filtering the whole list for every page made a 10,000-job listing quadratic)."""
    size = parse_page_size(page_size, max_size, reject_over)
    ordered = sorted(items, key=seq_of)  # creation order: already (nearly) sorted, so this is linear
    end = len(ordered)
    if page_token:
        end = bisect.bisect_left(ordered, _decode_token(page_token), key=seq_of)
    page = ordered[max(0, end - size):end][::-1]
    more = end > size
    return page, (_encode_token(seq_of(page[-1])) if more and page else None)
