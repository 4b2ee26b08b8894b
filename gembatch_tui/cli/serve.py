"""Provides `gembatch-tui serve`: the local REST service (gembatch_tui/server, the `[server]` extra).

What is checked here, before anything starts, each an exit 2 with one line: the extra is installed, a host that
is not loopback comes with `--allow-remote`, the key (or `--demo`) is there, the token file and the port can be
had. Then the first stdout line is `listening on http://HOST:PORT` (the real port for `--port 0`), the second
says where the token is (and, only on the start that created it, the token itself).
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, UsageError, out

SERVER_MODULES = ("starlette", "uvicorn", "python_multipart")
EXTRA_MESSAGE = "serve needs the [server] extra: pip install 'gembatch-tui[server]'"
DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD = 2 * 1024**3


def add_parser(subparsers: Any, global_options_fn: Callable[[argparse.ArgumentParser], None],
               byte_size: Callable[[str], int]) -> None:
    help_text = "serve the store over a local REST API (needs the [server] extra)"
    p = subparsers.add_parser("serve", help=help_text, description=help_text)
    global_options_fn(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N",
                   help=f"port (default {DEFAULT_PORT}; 0: a free one, named on the first line)")
    p.add_argument("--allow-remote", action="store_true", help="allow a --host that is not a loopback address")
    p.add_argument("--max-upload", type=byte_size, default=DEFAULT_MAX_UPLOAD, metavar="SIZE",
                   help="largest JSONL upload taken, e.g. 500M (default 2G); bigger ones get 413")
    p.add_argument("--poll-interval", type=float, default=None, metavar="SECONDS",
                   help="poll unfinished jobs this often in the background (default: the config's; 0: never)")


def cmd_serve(args: argparse.Namespace) -> int:
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"{EXTRA_MESSAGE} (missing: {', '.join(missing)})")
    from gembatch_tui.server.run import bind, is_loopback, serve, sweep_uploads, url_of

    if not is_loopback(args.host) and not args.allow_remote:
        raise UsageError(f"--host {args.host} is not a loopback address: the service would be reachable from other "
                         "machines; pass --allow-remote if that is meant")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number (0-65535)")
    if args.poll_interval is not None and args.poll_interval < 0:
        raise UsageError("--poll-interval must be 0 (never) or a positive number of seconds")
    from gembatch_tui.cli.common import report_store_problems, settings_for
    from gembatch_tui.runtime import open_runtime
    from gembatch_tui.core.api import pricing
    from gembatch_tui.core.errors import ServiceError, register_secret
    from gembatch_tui.core.store import StoreError
    from gembatch_tui.core.submit.limits import JobLimits
    from gembatch_tui.server.jobs import Context
    from gembatch_tui.server.token import TokenFileError, load_or_create, token_path

    settings = settings_for(args, warn=True)
    where = str(settings.config_path or "config")
    try:
        limits = JobLimits.from_config(settings.extra, where)
        prices = pricing.load_price_table(settings.config_path)
        assumptions = pricing.OutputAssumptions.from_config(settings.extra, where)
    except Exception as exc:  # noqa: BLE001 - a config error
        raise UsageError(str(exc)) from None
    try:
        runtime = open_runtime(settings, need_service=True)
    except ServiceError as exc:
        raise UsageError(str(exc)) from None
    try:
        runtime.store.ensure(write=True)
        report_store_problems(runtime.store)
        assert runtime.service is not None
        runtime.service.limits = limits
        try:
            sock = bind(args.host, args.port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        with sock:
            path = token_path()  # made only once the port is had, so the start that makes it is one that prints it
            try:
                token, created = load_or_create(path)
            except TokenFileError as exc:
                raise UsageError(str(exc)) from None
            interval = args.poll_interval
            if interval is None:
                interval = 2.0 if settings.demo else settings.poll_interval
            ctx = Context(runtime.service, settings.default_model, settings.extra, args.max_upload,
                          max_cost_usd=settings.max_cost_usd, prices=prices, assumptions=assumptions,
                          runtime=runtime)  # several keys: each job's cancel and delete with its own key
            sweep_uploads(ctx)
            out(f"listening on {url_of(sock)}")
            if created:
                out(f"token: {token} (new; kept in {path}, readable only by you; it is not shown again)")
            else:
                out(f"token: in {path}")
            register_secret(token)  # from now on every message and log line shows it as *** (a token in a path)
            serve(ctx, sock, token=token, token_file=str(path), poll_interval=interval)
        return EXIT_OK
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        runtime.close()
