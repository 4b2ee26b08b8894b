"""Provides what an endpoint sees of one HTTP request: the emulator's Context, the request Body, and Exchange.

Why a Protocol: the server dispatches to the routes, and the routes only need this much of the handler, so the
routes depend on this description and not on the server module (which imports them): no cycle between the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from .errors import payload_too_large
from .faults import Faults
from .jobs import Jobs
from .owners import Owners
from .realtime import Realtime
from .state import EmulatorState

DRAIN_LIMIT = 64 * 1024 * 1024


@dataclass
class Context:
    """Everything a handler thread needs, owned by the Emulator."""

    state: EmulatorState
    jobs: Jobs
    faults: Faults
    api_key: str | None
    latency_s: float
    request_log: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # tracebacks of unexpected handler failures
    realtime: Realtime = field(default_factory=lambda: Realtime(None, 60.0))  # generateContent and its limit
    api_keys: frozenset[str] | None = None  # several accepted keys, each seeing only its own (owners.py)
    owners: Owners | None = None  # set with `api_keys`
    key_log: list[tuple[str, str, str]] = field(default_factory=list)  # (key label, method, path) of keyed calls


class Body:
    """A request body as a stream: Content-Length or chunked transfer encoding, read in pieces."""

    def __init__(self, rfile: Any, headers: Any) -> None:
        self._rfile = rfile
        self.chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self.length: int | None = None if self.chunked else int(headers.get("Content-Length") or 0)
        self._left = 0 if self.chunked else (self.length or 0)
        self._done = not self.chunked and self._left == 0

    def read(self, n: int) -> bytes:
        if self._done or n <= 0:
            return b""
        if self.chunked and self._left == 0:
            size_line = self._rfile.readline(1024)
            if not size_line:
                raise ConnectionResetError("client closed the connection mid-body")
            self._left = int(size_line.split(b";")[0].strip() or b"0", 16)
            if self._left == 0:
                while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return b""
        data: bytes = self._rfile.read(min(n, self._left))
        if not data:
            raise ConnectionResetError("client closed the connection mid-body")
        self._left -= len(data)
        if self._left == 0:
            if self.chunked:
                self._rfile.readline(16)  # CRLF after the chunk
            else:
                self._done = True
        return data

    def read_all(self, limit: int) -> bytes:
        if self.length is not None and self.length > limit:
            raise payload_too_large(limit)
        parts: list[bytes] = []
        total = 0
        while True:
            piece = self.read(1024 * 1024)
            if not piece:
                return b"".join(parts)
            total += len(piece)
            if total > limit:
                raise payload_too_large(limit)
            parts.append(piece)

    def drain(self, limit: int = DRAIN_LIMIT) -> bool:
        """Discard what is left; False when more than `limit` remained (the connection must then close)."""
        seen = 0
        try:
            while not self._done:
                if seen > limit:
                    return False
                seen += len(self.read(1024 * 1024))
        except (OSError, ValueError):
            return False
        return True


class Exchange(Protocol):
    ctx: Context
    body: Body
    headers: Any  # the request's headers (an email.message.Message)
    query: dict[str, str]
    caller: str  # the label of the request's key (owners.label), "" for an upload chunk
    wfile: BinaryIO
    connection: Any

    def self_base(self, prefix: str) -> str: ...

    def read_json(self) -> dict[str, Any]: ...

    def send_json(self, obj: Any, code: int = 200, headers: dict[str, str] | None = None) -> None: ...

    def send_empty(self, headers: dict[str, str], code: int = 200) -> None: ...

    def start_response(self, code: int, headers: dict[str, str], length: int, content_type: str | None) -> None: ...
