"""Provides the emulator's command-line options, shared by `gembatch-tui emulator` and
`python -m gembatch_tui.emulator`, so the two cannot drift apart (only the default job length differs).

The CLI builds its parser on every start: this module imports nothing of the server, and the package loads its
server only on first use (emulator/__init__.py), so the options cost no start-up time."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO


def _ranged(cast: type, low: float, high: float, noun: str, problem: str):  # noqa: ANN202
    """An argparse type: `cast(text)` within [low, high] (and not nan), else `problem` (the CLI's wording; the
    emulator imports nothing of the CLI, README layers). Finite durations: `inf` would wait for ever."""

    def parse(text: str) -> float:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not low <= value <= high:  # also false for nan
            raise argparse.ArgumentTypeError(problem.format(value=value))
        return value

    return parse


_non_negative_int = _ranged(int, 0, float("inf"), "a whole number", "must be 0 or more")
_non_negative_float = _ranged(float, 0, sys.float_info.max, "a number", "must be a finite number, 0 or more")
_port = _ranged(int, 0, 65535, "a port number", "port must be 0-65535, got {value}")
"""A TCP port, 0 (pick a free one) to 65535: checked here, since bind() answers OverflowError otherwise."""


def add_arguments(parser: argparse.ArgumentParser, *, job_seconds: float) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=0, help="0 picks a free port")
    parser.add_argument("--job-seconds", type=_non_negative_float, default=job_seconds, help="creation to final state")
    parser.add_argument("--latency-ms", type=_non_negative_float, default=0.0, help="delay before every response")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction of API calls answered 429/500/503")
    parser.add_argument("--expiry-seconds", type=_non_negative_float, default=48 * 3600.0)
    parser.add_argument("--max-concurrent-jobs", type=_non_negative_int, default=100)
    parser.add_argument("--api-key", action="append", default=None, metavar="KEY",
                        help="the key the emulator accepts (default: any non-empty); repeat it for several keys, "
                             "each seeing only its own jobs and files, as the service does")
    parser.add_argument("--enqueued-token-budget", action="append", metavar="[MODEL=]TOKENS",
                        help="answer 429 when a model's pending+running jobs would exceed TOKENS (repeatable)")
    parser.add_argument("--processing-seconds", type=float, default=None, metavar="S",
                        help="how long video/* uploads stay PROCESSING before ACTIVE (default 2; 0: off)")
    parser.add_argument("--rpm", type=int, default=None, metavar="N",
                        help="answer generateContent 429 (with a retryDelay) past N requests a minute per model")
    parser.add_argument("--rpm-window-seconds", type=float, default=60.0, metavar="S",
                        help="a test knob: how long the --rpm limit's 'minute' is, in seconds (default 60)")


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Check the options and serve until SIGINT/SIGTERM; ValueError (one line) for a bad option or an address
    that cannot be listened on (a usage error, exit 2, not a traceback)."""
    from gembatch_tui.emulator.runtime import ListenError, parse_budget, serve

    if not 0.0 <= args.error_rate <= 1.0:
        raise ValueError("--error-rate must be between 0 and 1")
    if args.processing_seconds is not None and not 0.0 <= args.processing_seconds < float("inf"):
        raise ValueError("--processing-seconds must be a number of seconds, 0 or more")
    if args.rpm is not None and args.rpm <= 0:
        raise ValueError("--rpm must be a positive number of requests a minute")
    if not 0 < args.rpm_window_seconds < float("inf"):
        raise ValueError("--rpm-window-seconds must be a positive number of seconds")
    try:
        budget = parse_budget(args.enqueued_token_budget)
    except ValueError as exc:
        raise ValueError(f"--enqueued-token-budget: {exc}") from None
    budgets = budget.values() if isinstance(budget, dict) else [budget] if budget is not None else []
    if any(value < 0 for value in budgets):
        raise ValueError("--enqueued-token-budget must be a number of tokens, 0 or more")
    try:
        return serve(host=args.host, port=args.port, job_seconds=args.job_seconds, latency_ms=args.latency_ms,
                     error_rate=args.error_rate, expiry_seconds=args.expiry_seconds,
                     max_concurrent_jobs=args.max_concurrent_jobs, out=out,
                     api_key=args.api_key[0] if args.api_key and len(args.api_key) == 1 else None,
                     api_keys=args.api_key if args.api_key and len(args.api_key) > 1 else None,
                     enqueued_token_budget=budget, processing_seconds=args.processing_seconds,
                     rpm=args.rpm, rpm_window_seconds=args.rpm_window_seconds)
    except ListenError as exc:
        raise ValueError(f"emulator: {exc}") from None
