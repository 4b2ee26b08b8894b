"""Provides `gembatch-tui retry JOB...`: queue a failed, expired or cancelled part of a split input again.

JOB is a part (batch name, bare id, record id, part file) or a group (its id, a unique prefix of 8+ characters,
or the original input's path: every failed part of it). One line per part on stdout, `retried part 2/3 of group
ID (queued)` or `error: WHY`; `poll` (or the app) then submits the queued parts as the budget allows.
Only the store and the part files are touched, so no API key is needed.
Exit codes: 0 every part queued, 1 some could not be (wrong state, part file missing), 2 a JOB that names
nothing in the store or a job that was never split.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, UsageError, out
from gembatch_tui.core.errors import ServiceError

HELP = "queue failed, expired or cancelled parts of a split input again (JOB: a part, or a group for all of them)"


def add_parser(subparsers: Any, global_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `retry` to the CLI's subparsers; `global_options(p)` adds --store and the rest."""
    p = subparsers.add_parser("retry", help=HELP, description=HELP)
    global_options(p)
    p.add_argument("jobs", nargs="+", metavar="JOB")


def cmd_retry(args: argparse.Namespace) -> int:
    from gembatch_tui.cli.common import report_store_problems, settings_for
    from gembatch_tui.core.submit.retry_parts import NotAPart, RetryError, retry_ref
    from gembatch_tui.core.store import StoreError
    from gembatch_tui.cli.runtime import open_runtime

    try:
        runtime = open_runtime(settings_for(args, warn=True), need_service=False)
    except ServiceError as exc:
        raise UsageError(str(exc)) from None
    failed = bad = False
    with runtime:
        try:
            runtime.store.ensure()
            report_store_problems(runtime.store)
            for ref in args.jobs:
                try:
                    try:
                        outcomes = retry_ref(runtime.store, ref)
                    except LookupError:
                        outcomes = retry_ref(runtime.store, _listed(runtime.store, ref))
                except (LookupError, NotAPart) as exc:
                    out(f"error: {exc.args[0] if exc.args else exc}")
                    bad = True
                    continue
                except RetryError as exc:
                    out(f"error: {exc}")
                    failed = True
                    continue
                for outcome in outcomes:
                    out(outcome.line())
                    failed = failed or not outcome.ok
        except StoreError as exc:
            raise UsageError(str(exc)) from None
    if bad:
        return EXIT_USAGE
    return EXIT_PARTIAL if failed else EXIT_OK


def _listed(store: Any, ref: str) -> str:
    """The id as `list` prints it (a unique start of the batch id, as every other command takes it): the part's
    batch name; `ref` itself when it is no such start, so the lookup's own message is the one shown."""
    from gembatch_tui.core.models import batch_name, record_key
    from gembatch_tui.core.submit.service import _by_prefix  # BatchService.resolve's rule, without a client

    found = _by_prefix(store.read_all(), ref)
    if len(found) != 1:
        raise LookupError(f"{ref}: no such job or group in {store.path}" if not found else
                          f"{ref}: the start of {len(found)} jobs; give more of the id")
    return batch_name(found[0]) or record_key(found[0])
