"""Provides the HTTP plumbing: a threaded HTTP/1.1 keep-alive server and the request handler around the routes.

The handler does what every endpoint shares: route matching, scripted and random faults, the API-key check,
latency, error envelopes, and draining unread request bodies so a kept-alive connection stays in sync.
Request bodies are read through `Body`, which hands out bytes in pieces and never buffers a whole upload.
"""

from __future__ import annotations

import hmac
import io
import json
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import routes
from .exchange import Body, Context
from .errors import ApiError, api_key_invalid, not_found
from .owners import label
from .util import dumps_api

MAX_JSON_BYTES = 20 * 1024 * 1024  # the real limit for an inline batch request
LOG_LIMIT = 200_000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # small answers must not wait for a delayed ACK (40 ms per request)
    wbufsize = 64 * 1024  # headers and body leave in one send; the stdlib flushes after each request
    server: EmulatorHTTPServer

    @property
    def ctx(self) -> Context:
        return self.server.ctx

    # BaseHTTPRequestHandler calls do_<METHOD>
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: no per-request logging (and so no chance of printing a key)."""

    # -- dispatch ---------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        self.query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.body = Body(self.rfile, self.headers)
        self.caller = ""
        log = self.ctx.request_log
        log.append((self.command, path))
        if len(log) > LOG_LIMIT:  # a long-running demo must not grow without bound
            del log[: LOG_LIMIT // 2]
        try:
            match = routes.match(self.command, path)
            if match is None:
                raise not_found(f"The requested URL {path} was not found on this server.")
            kind = routes.category(match, self.query)
            fault = self.ctx.faults.scripted(self.command, path)
            if fault is not None:
                raise fault
            if kind != routes.CHUNK:
                self._check_key()
            if kind == routes.API:
                fault = self.ctx.faults.random_transient()
                if fault is not None:
                    raise fault
            lost = self.ctx.faults.lost_answer(self.command, path, self.headers)
            if lost is None:
                match.endpoint(self, match)
            else:
                self._act_then_lose(match, lost)
        except ApiError as err:
            self.send_error_envelope(err)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:  # an emulator bug: answer 500 and keep the traceback for tests to inspect
            self.ctx.errors.append(traceback.format_exc())
            self.send_error_envelope(ApiError(500))

    def _act_then_lose(self, match: Any, lost: int | bytes | str) -> None:
        """Do what the request asks, throw its answer away, and send `lost` instead (see Faults.lose_answer)."""
        real_out = self.wfile
        self.wfile = io.BytesIO()
        try:
            match.endpoint(self, match)
        except ApiError:
            pass  # the request failed anyway; its answer is lost all the same
        finally:
            self.wfile = real_out
            self._headers_buffer = []
        if isinstance(lost, int):
            self.send_error_envelope(ApiError(lost))
        elif isinstance(lost, bytes):
            self.body.drain()
            self.start_response(200, {}, len(lost), "application/json; charset=UTF-8")
            self.wfile.write(lost)
        else:  # reset: the connection drops before any answer
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _check_key(self) -> None:
        got = (self.headers.get("x-goog-api-key") or self.query.get("key") or "").strip()
        want = self.ctx.api_key
        several = self.ctx.api_keys
        if several is not None:
            if not got or not any(hmac.compare_digest(got.encode(), k.encode()) for k in several):
                raise api_key_invalid()
        elif not got or (want is not None and not hmac.compare_digest(got.encode(), want.encode())):
            raise api_key_invalid()
        self.caller = label(got)
        log = self.ctx.key_log
        log.append((self.caller, self.command, urlsplit(self.path).path))
        if len(log) > LOG_LIMIT:
            del log[: LOG_LIMIT // 2]

    # -- helpers for endpoints --------------------------------------------------------------------
    def self_base(self, prefix: str) -> str:
        """The emulator's own base URL as this client reached it (Host header), plus the path prefix."""
        host = self.headers.get("Host")
        if not host:
            addr, port = self.server.server_address[:2]
            host = f"{addr!s}:{port}"
        return f"http://{host}{prefix}"

    def delay(self) -> None:
        if self.ctx.latency_s > 0:
            time.sleep(self.ctx.latency_s)

    def handle_expect_100(self) -> bool:
        ok = super().handle_expect_100()
        self.wfile.flush()  # wfile is buffered: the interim answer must go out before we read the body
        return ok

    def start_response(self, code: int, headers: dict[str, str], length: int, content_type: str | None) -> None:
        """Status and headers into the (buffered) wfile; the body follows, and the stdlib flushes both."""
        self.delay()
        self.send_response(code)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_json(self, obj: Any, code: int = 200, headers: dict[str, str] | None = None) -> None:
        data = dumps_api(obj)
        self.start_response(code, headers or {}, len(data), "application/json; charset=UTF-8")
        self.wfile.write(data)

    def send_empty(self, headers: dict[str, str], code: int = 200) -> None:
        self.start_response(code, headers, 0, "text/plain; charset=utf-8")

    def send_error_envelope(self, err: ApiError) -> None:
        headers = dict(err.headers)
        if not self.body.drain():
            headers["Connection"] = "close"
        try:
            self.send_json(err.body(), err.code, headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def read_json(self) -> dict[str, Any]:
        raw = self.body.read_all(MAX_JSON_BYTES)
        if not raw.strip():
            return {}
        try:
            obj = json.loads(raw)
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received. Unexpected token.") from None
        if not isinstance(obj, dict):
            raise ApiError(400, "Invalid JSON payload received. Expected an object.")
        return obj


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], ctx: Context) -> None:
        self.ctx = ctx
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that vanished is not worth a traceback on stderr."""

    def close_connections(self) -> None:
        """Wake handler threads parked on idle keep-alive connections so they exit."""
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
