"""Provides `gembatch-tui retry JOB...`: queue a failed, expired or cancelled part of a split input again.

JOB is a part (batch name, bare id, record id, part file) or a group (its id, a unique prefix of 8+ characters,
or the original input's path: every failed part of it). One line per part on stdout, `retried part 2/3 of group
ID (queued)` or `error: WHY`; `poll` (or the app) then submits the queued parts as the budget allows.
Only the store and the part files are touched, so no API key is needed.
A part queued again is spent again: under a cost cap (`--max-cost USD`, else the config's `max_cost_usd`) each
part's file is estimated first (core/submit/cost_cap, the rule BatchService.submit holds), the parts of one run
count together, and a part over the cap is not queued (`error: part 2/3 of group ID: estimated ... is over the cap`).
Every JOB is looked up in the store as it was when the command started, so the same part named twice (by any of
its names, the id `list` printed included) is retried once: its second name is no error for having been retried.
Exit codes: 0 every part queued, 1 some could not be (wrong state, part file missing, over the cap beside parts
that were queued), 2 a JOB that names nothing in the store, a job that was never split, or a cap that refused
every part it was asked about while none was queued (nothing was done, as `submit` says for its cap).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, UsageError, err, out
from gembatch_tui.core.errors import ServiceError

HELP = "queue failed, expired or cancelled parts of a split input again (JOB: a part, or a group for all of them)"


def add_parser(subparsers: Any, global_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `retry` to the CLI's subparsers; `global_options(p)` adds --store and the rest."""
    p = subparsers.add_parser("retry", help=HELP, description=HELP)
    global_options(p)
    p.add_argument("jobs", nargs="+", metavar="JOB")
    from gembatch_tui.cli.arg_types import usd

    p.add_argument("--max-cost", type=usd, default=None, metavar="USD",
                   help="queue no part whose high cost estimate, added to the parts before it, is over USD "
                        "(default: config max_cost_usd)")


def cmd_retry(args: argparse.Namespace) -> int:
    from gembatch_tui.cli.common import report_store_problems, settings_for
    from gembatch_tui.core.submit.retry_parts import NotAPart, RetryError, retry_ref
    from gembatch_tui.core.store import StoreError
    from gembatch_tui.runtime import open_runtime

    try:
        runtime = open_runtime(settings_for(args, warn=True), need_service=False)
    except ServiceError as exc:
        raise UsageError(str(exc)) from None
    failed = bad = queued = False
    capped = _Capped(runtime.settings, getattr(args, "max_cost", None))
    with runtime:
        try:
            runtime.store.ensure()
            report_store_problems(runtime.store)
            snapshot = runtime.store.read_all()  # every JOB is looked up as the store was before this run
            handled: set[str] = set()  # record keys of the parts this run has retried (or tried to)
            targets: set[str] = set()
            for ref in args.jobs:
                try:
                    target, keys = _target(snapshot, ref, runtime.store.path)
                    if target in targets or (keys and keys <= handled):
                        continue  # the same part(s) named again: done (or said) once already
                    targets.add(target)
                    outcomes = capped.retry(runtime.store, target) if capped.active else retry_ref(runtime.store,
                                                                                                    target)
                except (LookupError, NotAPart) as exc:
                    out(f"error: {exc.args[0] if exc.args else exc}")
                    bad = True
                    continue
                except RetryError as exc:
                    out(f"error: {exc}")
                    failed = True
                    continue
                handled |= keys | {outcome.key for outcome in outcomes}
                for outcome in outcomes:
                    out(outcome.line())
                    queued = queued or outcome.ok
                    failed = failed or not outcome.ok
                    if outcome.ok and (note := _waits_for_key(runtime, outcome.key)) is not None:
                        err(note)
        except StoreError as exc:
            raise UsageError(str(exc)) from None
    # As `submit` (commands.submit_exit_code): a JOB that names nothing, or a part the cap refused, is bad input;
    # 2 when nothing was queued, 1 beside parts that were.
    if (bad or capped.refused) and not queued:
        return EXIT_USAGE
    return EXIT_PARTIAL if bad or failed else EXIT_OK


def _waits_for_key(runtime: Any, key: str) -> str | None:
    """A queued part is submitted by a poll with the key that created its job (core/keys.py): when that key is
    not set, a note that says so and names the variable (the part waits; no other key submits it)."""
    from gembatch_tui.core.keys import key_ring
    from gembatch_tui.core.submit.retry_parts import part_label

    settings = runtime.settings
    if not (settings.api_key or settings.default_key or any(p.key() for p in settings.profiles.values())):
        return None  # retry needs no key; with none set at all, there is no other key to tell apart
    record = runtime.store.get(key)
    label = key_ring(settings).label(record) if record is not None else None
    if label is None:
        return None
    return f"note: {part_label(record)} waits for its key ({label}); `poll` submits it once that key is set"


def _target(records: list[Any], ref: str, store_path: Any) -> tuple[str, frozenset[str]]:
    """What a JOB argument names in `records` (the store before this run): the ref retry_ref takes for it (a
    part's record key, or a group id) and the record keys of the parts it would retry, so a part named twice
    (its batch name, its bare id, the id `list` prints, its part file) is retried once, and its second name
    still finds it after the first retry moved its batch into `previous_attempts`. Looked up as retry_ref
    does (a part, then a group), then as the id `list` prints. Raises LookupError when it names nothing,
    NotAPart for a job never split, RetryError for an input split more than once."""
    from gembatch_tui.core.models import record_key, record_state
    from gembatch_tui.core.submit import retry_parts as rp
    from gembatch_tui.core.submit.groups import by_group

    record = rp.find_part(records, ref)
    gid = rp.find_group(records, ref) if record is None else None
    if gid is not None:
        parts = by_group(records).get(gid, [])
        return gid, frozenset(record_key(r) for r in parts if record_state(r) in rp.RETRYABLE)
    if record is None:
        record = _listed(records, ref, store_path)
    if not record.get("group_id"):
        raise rp.NotAPart(rp.why_not(record) or "not a part of a split input")
    return record_key(record), frozenset({record_key(record)})


def _listed(records: list[Any], ref: str, store_path: Any) -> Any:
    """The record whose id as `list` prints it (a unique start of the batch id, as every other command takes it)
    is `ref`; LookupError in the lookup's own words when there is none or several."""
    from gembatch_tui.core.models import records_by_id_prefix, short_prefix_problem

    found = records_by_id_prefix(records, ref)
    if len(found) != 1:
        raise LookupError((short_prefix_problem(records, ref) or f"{ref}: no such job or group in {store_path}")
                          if not found else f"{ref}: the start of {len(found)} jobs; give more of the id")
    return found[0]


class _Capped:
    """retry under a cost cap: the parts a JOB names (as retry_ref finds them), each estimated before it is
    queued; one over the cap (with the parts already queued in this run) is an error outcome and stays as it was."""

    def __init__(self, settings: Any, flag: float | None) -> None:
        from gembatch_tui.core.submit.cost_cap import CostCap, cap_from

        self.settings = settings
        self.cap = CostCap(cap_from(flag, getattr(settings, "max_cost_usd", None)))
        self._policy: Any = None

    @property
    def active(self) -> bool:
        return self.cap.active

    @property
    def refused(self) -> int:
        """How many parts the cap refused in this run: refused parts are bad input, not failures (exit 2 when
        nothing was queued, as `submit`); a part that cannot be retried for its state or file is not counted
        (retry_under_cap words both as an error outcome)."""
        return self.cap.refused

    def policy(self) -> Any:
        """The config's prices and output assumptions (read once; a bad config is a usage error)."""
        if self._policy is None:
            from gembatch_tui.cli.cost import assumptions_of
            from gembatch_tui.core.api import pricing
            from gembatch_tui.core.submit.cost_cap import CostPolicy

            try:
                prices = pricing.load_price_table(self.settings.config_path)
            except pricing.ConfigError as exc:
                raise UsageError(str(exc)) from None
            self._policy = CostPolicy(self.cap.cap, prices, assumptions_of(self.settings))
        return self._policy

    def retry(self, store: Any, ref: str) -> list[Any]:
        """retry_ref's parts and errors, with the cap checked before each part is queued."""
        from gembatch_tui.core.models import record_state
        from gembatch_tui.core.submit import retry_parts as rp
        from gembatch_tui.core.submit.groups import by_group

        records = store.read_all()
        record = rp.find_part(records, ref)
        if record is not None and not record.get("group_id"):
            raise rp.NotAPart(rp.why_not(record) or "not a part of a split input")
        if record is not None:
            todo = [record]
        else:
            gid = rp.find_group(records, ref)
            if gid is None:
                raise LookupError(f"{ref}: no such job or group in {store.path}")
            todo = [r for r in by_group(records).get(gid, []) if record_state(r) in rp.RETRYABLE]
            if not todo:
                return rp.retry_group(store, gid)  # says why there is nothing to retry
        return rp.retry_under_cap(store, todo, self.cap, self.policy())

