"""Provides `gembatch-tui archive JOB... | --older-than AGE [--undo]`: hide finished jobs from the dashboard and
`list` (they stay in the store; `list --all` shows them), or show them again with `--undo`.

JOB is read as every command reads it (a batch name, its id as `list` prints it or a unique prefix, a path, a
split input's group: all its parts). One line per job on stdout, `batches/ID: archived`; a job that cannot be
(still pending or running) is one line on stderr with the reason. Nothing remote is touched, so no key is needed.
Exit codes: 0 all done, 1 some job could not be archived or named nothing, 2 usage error.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, UsageError, err, out

HELP = "archive finished jobs: hidden from the dashboard and list (list --all shows them); nothing remote changes"


def add_parser(subparsers: Any, global_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `archive` to the CLI's subparsers; `global_options(p)` adds --store and the rest."""
    p = subparsers.add_parser("archive", help=HELP, description=HELP)
    global_options(p)
    p.add_argument("--older-than", metavar="AGE", default=None,
                   help="every finished job that ended more than AGE ago (30d, 12h, 2w, 90m)")
    p.add_argument("--undo", action="store_true", help="unarchive: show the jobs again")
    p.add_argument("jobs", nargs="*", metavar="JOB")


def cmd_archive(rt: Any, args: argparse.Namespace) -> int:
    from gembatch_tui.core import archive
    from gembatch_tui.core.errors import ServiceError
    from gembatch_tui.core.models import is_archived

    if bool(args.jobs) == bool(args.older_than):
        raise UsageError("name JOB... or pass --older-than AGE (not both)")
    failed = False
    if args.older_than:
        try:
            age = archive.parse_age(args.older_than)
        except archive.AgeError as exc:
            raise UsageError(str(exc)) from None
        records = rt.store.read_all()
        if args.undo:
            now = datetime.now(timezone.utc)
            chosen = [r for r in records if is_archived(r)
                      and (when := archive.finished_at(r)) is not None and now - when > age]
        else:
            chosen = archive.older_than(records, age, datetime.now(timezone.utc))
        if not chosen:
            out(f"no {'archived' if args.undo else 'finished'} jobs older than {args.older_than}")
            return EXIT_OK
    else:
        chosen = []
        for ref in args.jobs:
            try:
                chosen.extend(archive.resolve(rt.store, ref))
            except ServiceError as exc:
                err(str(exc))
                failed = True
        if args.jobs and not chosen:
            return EXIT_USAGE  # no JOB named anything: nothing was done (as cancel, delete and export answer)
    for outcome in archive.apply(rt.store, chosen, undo=args.undo):
        if outcome.ok:
            out(outcome.line(args.undo))
        else:
            err(outcome.line(args.undo))
            failed = True
    return EXIT_PARTIAL if failed else EXIT_OK
