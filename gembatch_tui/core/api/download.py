"""Provides `download_to`: a generated file streamed into a local file with the SDK's own request, HTTP client
and error check, and a lean loop over the body.

Why not `files.download(destination=...)` itself: its body loop (`iter_bytes(chunk_size=1 MiB)`) copies every
64 KiB network read into a BytesIO, copies it out and slices it again before our writer sees it. Measured on the
300 MB results file of tests/bench/bench_download.py, alternating the two in one process (16 runs each, load < 1):
files.download into this writer took 0.87-0.88 s and 0.71 CPU s (medians), this loop 0.73-0.80 s and 0.57-0.64
CPU s; and the downloading process shares two cores with the results check (results/verify_process.py).

Everything else is the SDK's, called as its `BaseApiClient.download_file` calls it: the request comes from its
`_build_request` (URL, API version, key header, user agent, timeout), goes out through its httpx client (proxies,
certificates, mTLS endpoint), and any status but 200 is raised by its `APIError.raise_for_response`, so errors map
as before (a gone file's 403 is the same ServiceError). Those are private names of the google-genai version
pyproject pins exactly; when one is missing, or the SDK would use its google-auth transport, the public
`files.download` is used as before (`lean_request` returns None; tests/download_speed asserts the lean path is
taken with the pinned SDK, so an upgrade that loses it is seen).

The body of a plain HTTP/1.1 answer with a Content-Length (what the Files API sends for a results file) is read
from the connection's socket itself, into the writer's 1 MiB chunks (`socket_body`): httpx's loop (64 KiB reads,
each copied through h11's buffer and out again) cost more CPU than the rest of the transfer. Measured with
`python tests/bench/bench_download.py --runs 3`: our transfer alone of 300 MB went from 0.76 + 0.50 to
0.31 + 0.52 user + system CPU s (a bare http.client loop: 0.20 + 0.26). The socket is httpcore's
documented `network_stream` extension of the response; the bytes h11 already holds are taken first through httpx,
and the connection is closed afterwards, never reused. Anything else (chunked, encoded, HTTP/2, a proxy's
TLS-in-TLS stream, another transport) is read through httpx as before.

Unlike `files.download` (never retried), a transient failure before the first byte (408, 429, 5xx, a timeout, a
reset) is tried again per the client's RetryPolicy: nothing has been written yet. A failure mid-body is not retried:
the caller removes the partial file and the next pass downloads again.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from gembatch_tui.core.errors import Cancelled
from gembatch_tui.core.api.retry_policy import RetryPolicy
from gembatch_tui.core.sync_behind import SyncBehind

Progress = Callable[[int, int], None]
CHUNK = 1 << 20  # bytes written (and handed to the sink and progress) at a time
CANCEL_CHECK_S = 0.5  # a read of the body that waits this long looks at the cancel event
TIMEOUT_MS = 3_600_000  # per request, as before: a large results file on a slow line takes long


class ChunkWriter(io.RawIOBase):
    """Writes what arrives to `fh` in pieces of about CHUNK bytes; after each write, `sink` gets exactly those bytes
    (in order: the results check hashes them and reads the file behind them) and `progress` the total so far.
    Stops with Cancelled as soon as `cancel` is set."""

    def __init__(self, fh: Any, total: int, progress: Progress | None, cancel: threading.Event | None,
                 sink: Callable[[bytes], None] | None) -> None:
        self._fh = fh
        self._total = total
        self._progress = progress
        self._cancel = cancel
        self._sink = sink
        self._buf = bytearray()
        self.done = 0

    def start(self, total: int) -> None:
        """The size is known (or known to be unknown: 0): `progress` hears it before the first byte."""
        self._total = total
        if self._progress is not None:
            self._progress(0, total)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        """What the SDK's own loop calls (the fallback path)."""
        self.take(data)
        return len(data)

    def take(self, data: Any) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled("download cancelled")
        self._buf += data
        if len(self._buf) >= CHUNK:
            self.drain()

    def held_total(self) -> int:
        """Bytes taken so far, written or held."""
        return self.done + len(self._buf)

    def take_whole(self, chunk: bytearray) -> None:
        """Write `chunk` as one piece, after what is held; the sink may keep it (the caller makes a fresh one)."""
        self.drain()
        self._buf = chunk
        self.drain()

    def drain(self) -> None:
        """Write what is held (a fresh buffer follows, so the sink may keep what it was given)."""
        buf = self._buf
        if not buf:
            return
        self._buf = bytearray()
        view = memoryview(buf)
        written = 0
        while written < len(buf):  # a raw write may take less than asked
            written += self._fh.write(view[written:])
        view.release()
        if self._sink is not None:
            self._sink(buf)
        self.done += len(buf)
        if self._progress is not None:
            self._progress(self.done, self._total)


def lean_request(sdk: Any, file_name: str, timeout_ms: int | None = None) -> tuple[Any, Any] | None:
    """(the SDK's httpx client, the request its `files.download` would send), or None when this SDK cannot be
    driven so (see the module docstring)."""
    api = getattr(sdk, "_api_client", None)
    client = getattr(api, "_httpx_client", None)
    if (client is None or getattr(api, "vertexai", True) or not callable(getattr(api, "_build_request", None))
            or not callable(getattr(api, "_httpx_url", None)) or not callable(getattr(client, "send", None))):
        return None
    use_auth = getattr(api, "_use_google_auth_sync", None)
    if not callable(use_auth) or use_auth():
        return None
    from google.genai import _transformers

    path = f"files/{_transformers.t_file_name(file_name)}:download?{urlencode({'alt': 'media'})}"
    http_request = api._build_request("get", path, {}, {"timeout": timeout_ms or TIMEOUT_MS})
    request = client.build_request(method=http_request.method,
                                   url=api._httpx_url(str(http_request.url), is_async=False),
                                   content=None, headers=http_request.headers, timeout=http_request.timeout)
    return client, request


class BodyCutShort(ConnectionError):
    """The server closed the connection before the length it announced (a reset, as the retry policy sees it)."""


def body_socket(response: Any, length: int) -> socket.socket | None:
    """The socket the rest of `response`'s body can be read from as it is, or None: only a plain HTTP/1.1 body of
    `length` (> 0) bytes, neither chunked nor encoded, on httpcore's own stream (plain or TLS)."""
    if length <= 0 or getattr(response, "http_version", "") != "HTTP/1.1":
        return None
    headers = response.headers
    if headers.get("transfer-encoding") is not None or content_length(response) != length:
        return None
    stream = (getattr(response, "extensions", None) or {}).get("network_stream")
    if type(stream).__name__ != "SyncStream":  # not TLS-in-TLS (a proxy over TLS), not an async or mock transport
        return None
    sock = stream.get_extra_info("socket")
    return sock if isinstance(sock, socket.socket) else None


def _recv_into(sock: socket.socket, view: memoryview, timeout: float | None, cancel: threading.Event | None) -> int:
    """One read into `view`; a silent server is waited for in CANCEL_CHECK_S steps, so a cancel is heard within one,
    up to the request's read timeout (then TimeoutError, as httpx would time out)."""
    silent_since = time.monotonic()
    while True:
        try:
            return sock.recv_into(view)
        except TimeoutError:
            if cancel is not None and cancel.is_set():
                raise Cancelled("download cancelled") from None
            if timeout is not None and time.monotonic() - silent_since >= timeout:
                raise TimeoutError(f"no data from the server for {timeout:g} s") from None


def socket_body(response: Any, length: int, writer: ChunkWriter, cancel: threading.Event | None) -> bool:
    """Read the body of `response` (`length` bytes) into `writer`, the rest straight from the socket; False, with
    nothing read, where that cannot be done (see `body_socket`): the caller reads through httpx.
    Raises BodyCutShort, TimeoutError (the request's read timeout), OSError, Cancelled."""
    sock = body_socket(response, length)
    if sock is None:
        return False
    raw = response.iter_raw()
    for first in raw:  # what h11 holds already (all of it: it hands over what it has, up to the length), or one read
        writer.take(first)
        break
    remaining = length - writer.held_total()
    if remaining <= 0:
        for rest in raw:  # nothing more; the answer ends as httpx expects, and the connection may be reused
            writer.take(rest)
        return True
    timeout = (response.request.extensions.get("timeout") or {}).get("read")
    sock.settimeout(CANCEL_CHECK_S if timeout is None else min(timeout, CANCEL_CHECK_S))
    while remaining > 0:
        chunk = bytearray(min(CHUNK, remaining))
        view = memoryview(chunk)
        filled = 0
        try:
            while filled < len(chunk):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("download cancelled")
                got = _recv_into(sock, view[filled:], timeout, cancel)
                if not got:
                    raise BodyCutShort(f"the server closed the connection after {length - remaining + filled:,} of "
                                    f"{length:,} bytes")
                filled += got
        finally:
            view.release()
        writer.take_whole(chunk)
        remaining -= filled
    return True  # the caller closes the response: httpcore closes a connection whose answer it did not see end


def content_length(response: Any) -> int:
    """The body's size as the response says it (Content-Length of an unencoded body), or 0 when it does not."""
    headers = getattr(response, "headers", None) or {}
    length = str(headers.get("content-length") or "")
    if headers.get("content-encoding", "identity").strip().lower() not in ("", "identity") or not length.isdigit():
        return 0
    return int(length)


def file_size(sdk: Any, file_name: str) -> int:
    """The file's `sizeBytes` from the Files API (one more request), or 0 when it cannot be had: only where the
    response did not say it (the fallback path, or no Content-Length)."""
    try:
        return int(getattr(sdk.files.get(name=file_name), "size_bytes", None) or 0)
    except Exception:  # noqa: BLE001 - the size is only for the progress and the choice of check; the download says
        return 0


def _send(client: Any, request: Any) -> Any:
    """The response, its status checked as the SDK checks it (the body of an error is read for its message)."""
    from google.genai import errors

    response = client.send(request, stream=True)
    try:
        errors.APIError.raise_for_response(response)
    except BaseException:
        response.close()
        raise
    return response


def download_to(
    sdk: Any,
    policy: RetryPolicy,
    file_name: str,
    dest: Path,
    *,
    total: int = 0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    sink: Callable[[bytes], None] | None = None,
    sync: bool = True,
) -> int:
    """Stream `file_name` into `dest` (created or truncated); returns the bytes written, synced to disk first unless
    `sync` is False (the caller then syncs, say while the results check finishes: poll/download.py).
    `progress(0, size)` comes once before the first byte: `total`, or when it is 0 the size the response gives
    (Content-Length; the Files API's `sizeBytes` where it gives none), so no request for the size precedes the
    download (poll/download.py picks the results check by it then).
    Raises the SDK's and httpx's errors as they come (the caller maps them), Cancelled, OSError."""
    with open(dest, "wb", buffering=0) as fh, SyncBehind(fh.fileno()) as behind:
        def written(chunk: bytes) -> None:
            behind.wrote(len(chunk))
            if sink is not None:
                sink(chunk)

        writer = ChunkWriter(fh, total, progress, cancel, written)
        lean = lean_request(sdk, file_name)
        if lean is None:
            writer.start(total or file_size(sdk, file_name))
            sdk.files.download(file=file_name, config={"http_options": {"timeout": TIMEOUT_MS}}, destination=writer)
        else:
            client, request = lean
            response = policy.call(lambda: _send(client, request))
            try:
                length = content_length(response)
                writer.start(total or length or file_size(sdk, file_name))
                if not socket_body(response, length, writer, cancel):
                    for chunk in response.iter_bytes():  # decoded as the SDK's loop decodes, without re-chunking
                        writer.take(chunk)
            finally:
                response.close()
        writer.drain()
        behind.finish()  # flushed in steps as it arrived: what the sync below (or the caller's) has left is short
        if sync:
            os.fsync(fh.fileno())
        return writer.done


__all__ = ["CHUNK", "ChunkWriter", "BodyCutShort", "body_socket", "content_length", "download_to", "file_size",
           "lean_request", "socket_body"]
