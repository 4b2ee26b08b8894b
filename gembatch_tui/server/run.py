"""Provides the start of the service: the loopback rule, the socket, the first lines on stdout, the background
poller, and uvicorn serving until SIGINT/SIGTERM.

Why the socket is bound here (not by uvicorn): the first stdout line must name the real port (`--port 0`), as
the emulator's does, so scripts and tests can read where to connect before the first request.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from anyio import to_thread

from gembatch_tui.server.app import log, make_app
from gembatch_tui.server.jobs import Context, background_poll


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback one (127.0.0.0/8, ::1, `localhost`)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (raises OSError with the system's reason)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def sweep_uploads(ctx: Context) -> None:
    """Before serving: remove the upload folders an interrupted service left (upload.sweep), a line each."""
    from gembatch_tui.server.jobs import referenced_folders
    from gembatch_tui.server.upload import sweep, uploads_root

    for folder in sweep(uploads_root(ctx.service.store.path), referenced_folders(ctx)):
        log(f"removed {folder}: an upload no job names, left by an interrupted service")


def serve(ctx: Context, sock: socket.socket, *, token: str, token_file: str, poll_interval: float) -> None:
    """Serve on `sock` until a signal stops uvicorn; every `poll_interval` seconds (0: never) a poll pass runs in
    a worker thread, so jobs submitted here are followed and their results downloaded without a client asking."""
    import uvicorn

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            if poll_interval > 0:
                tasks.start_soon(_poll_loop, ctx, poll_interval)
            yield
            tasks.cancel_scope.cancel()

    app = make_app(ctx, token, token_file, lifespan=lifespan)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", server_header=False,
                            timeout_graceful_shutdown=5)

    class Server(uvicorn.Server):
        """SIGINT/SIGTERM stop the service gracefully and the command exits 0, as the emulator does (uvicorn
        itself raises the signal again once stopped, which would end the process with -15)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    Server(config).run(sockets=[sock])


async def _poll_loop(ctx: Context, interval: float) -> None:
    """Every `interval` seconds a pass; meanwhile the store's folder says that this service polls it (the app
    shows "another poller is active: serve (pid N)", core/poll/presence.py)."""
    from gembatch_tui.core.poll.presence import Presence

    presence = Presence(ctx.service.store.path, "serve")
    await to_thread.run_sync(presence.start)
    try:
        await _poll_passes(ctx, interval, presence)
    finally:
        presence.stop()


async def _poll_passes(ctx: Context, interval: float, presence: Any) -> None:
    while True:
        try:
            report = await to_thread.run_sync(background_poll, ctx)
        except Exception as exc:  # noqa: BLE001 - one failed pass is a line; the next pass tries again
            log(f"poll: {type(exc).__name__}: {exc}")
        else:
            await to_thread.run_sync(presence.passed)
            for note in report["notes"]:
                log(f"poll: {note}")
            for change in report["changes"]:
                log(f"poll: {change['job']} ({change['label']}): {change['from']} -> {change['to']}")
            for dl in report["downloads"]:
                log(f"poll: {dl['job']}: results {'saved to ' + str(dl['path']) if dl['ok'] else 'not saved'}"
                    f" ({dl['message']})")
            for message in report["errors"]:
                log(f"poll: {message}")
        await anyio.sleep(interval)


__all__ = ["bind", "is_loopback", "serve", "sweep_uploads", "url_of"]
