"""Provides the dispatch of the headless subcommands, submit, poll, list and import, and app start-up (cancel,
delete and cleanup are cli/removal.py's).

Each command prints what CONTRACTS.md promises on stdout and problems on stderr, and returns an exit code.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gembatch_tui.cli.common import report_store_problems, settings_for
from gembatch_tui.cli.output import (
    EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, NAME_WIDTH, UsageError, err, fit, out, out_lines, print_json,
)
from gembatch_tui.cli.archive import cmd_archive
from gembatch_tui.cli.removal import cmd_cancel, cmd_cleanup, cmd_delete
from gembatch_tui.cli.results import cmd_export, cmd_usage
from gembatch_tui.core.counts import counted
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.gc_pause import gc_paused
from gembatch_tui.core import keys as key_prints
from gembatch_tui.core.models import (
    batch_name, display_name, is_archived, is_final, listed_id, record_state, record_stats, short_state,
)
from gembatch_tui.core.store import StoreError
from gembatch_tui.core.text import format_bytes, terminal_safe
from gembatch_tui.runtime import Runtime, open_runtime

if TYPE_CHECKING:
    from gembatch_tui.core.submit.outcome import SubmitOutcome
    from gembatch_tui.core.submit.validate import ValidationReport


ACT_WITH_ANY_KEY = ("poll", "cancel", "delete", "cleanup", "list")
"""Commands that create nothing: each job is asked about with its own key, so any key that is set will do."""


def keyed_profile(settings: Any, *, explicit: bool) -> None:
    """With the default key unset (and no --profile), take the first profile whose key is set: a user with only a
    work key can `poll` without naming it, as each job is polled with its own key anyway. `submit` still needs
    the key it submits with."""
    if explicit or settings.demo or settings.api_key:
        return
    from gembatch_tui.core.config import choose_profile

    for name, profile in settings.profiles.items():
        if profile.key():
            choose_profile(settings, name)
            return


def dispatch(args: argparse.Namespace) -> int:
    settings = settings_for(args, warn=True)
    need_service = (args.command not in ("list", "import", "export", "usage", "archive")
                    or bool(getattr(args, "remote", False)))
    if need_service and args.command in ACT_WITH_ANY_KEY:
        keyed_profile(settings, explicit=bool(getattr(args, "profile", None)))
    try:
        runtime = open_runtime(settings, need_service=need_service, demo_job_seconds=5.0)
    except ServiceError as exc:
        raise UsageError(str(exc)) from None
    try:
        reading = args.command in ("list", "export", "usage")
        runtime.store.ensure(write=not reading, create=not reading)  # a read makes no folders
        report_store_problems(runtime.store)
        handler = {
            "submit": cmd_submit,
            "poll": cmd_poll,
            "list": cmd_list,
            "cancel": cmd_cancel,
            "delete": cmd_delete,
            "cleanup": cmd_cleanup,
            "import": cmd_import,
            "export": cmd_export,
            "usage": cmd_usage,
            "archive": cmd_archive,
        }[args.command]
        return handler(runtime, args)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        runtime.close()


def run_app(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    # No key and no --demo: never switch to the demo store silently. The app opens on the real store (read only,
    # not created here) and its first screen says which key is missing and lets the user choose demo or quit.
    missing_key = not settings.api_key and not settings.demo
    if not missing_key:
        from gembatch_tui.core.store import JobStore

        try:
            JobStore(settings.store_path).ensure()
        except StoreError as exc:
            raise UsageError(str(exc)) from None
    from gembatch_tui.cli.app_command import run

    return run(settings, missing_key=missing_key)


# ----------------------------------------------------------------------------- submit
def cmd_submit(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.api import pricing
    from gembatch_tui.core.submit import split
    from gembatch_tui.core.submit.limits import JobLimits
    from gembatch_tui.core.submit.model_choice import choose_model
    from gembatch_tui.core.submit import overlap
    from gembatch_tui.core.submit.cost_cap import CapRefused
    from gembatch_tui.core.submit.input_line import EMBED
    from gembatch_tui.core.submit.input_read import first_request_kind
    from gembatch_tui.core.submit.validate import validate_file

    assert rt.service is not None
    try:
        prices = pricing.load_price_table(rt.settings.config_path)
        limits = JobLimits.from_config(rt.settings.extra, str(rt.settings.config_path or "config"))
    except Exception as exc:  # noqa: BLE001 - a bad price table or limits are config errors
        raise UsageError(str(exc)) from None
    limits = limits.with_overrides(max_requests=args.max_requests_per_job, max_bytes=args.max_bytes_per_job)
    rt.service.limits = limits
    from gembatch_tui.cli.cost import SubmitCost

    costs = SubmitCost(rt.settings, prices, args.max_cost)  # --check's estimate, and the run's cap the service holds
    rt.service.cost_policy = costs.policy
    kind = None if args.kind == "auto" else args.kind
    files = [Path(f).expanduser().absolute() for f in args.files]
    if (args.output or args.timeout is not None) and not args.wait:
        raise UsageError("-o/--output and --timeout go with --wait")
    if args.output and len(files) != 1:
        raise UsageError("-o/--output takes exactly one FILE (each input's results go beside it otherwise)")
    if args.output:  # found now, not after a wait of hours
        _check_output_path(Path(args.output).expanduser().absolute())
    n = len(files)
    reports: list[ValidationReport | None] = []
    early_kinds: dict[Path, str] = {}
    for path in files:
        # A big file is validated while it is uploaded (core/submit/overlap.py; nothing is created from it if it
        # has errors): its first line gives the kind that picks the model.
        early = None if (args.check or costs.cap.active) else (kind or first_request_kind(path))
        if early and overlap.applies(path, limits, rt.service.overlap_min_bytes) and not choose_model(
                args.model, early, rt.settings.default_model, rt.settings.extra)[1]:
            early_kinds[path] = early
            reports.append(None)
            continue
        report = validate_file(path, kind=kind, max_bytes=None, allow_media_outside=args.allow_media_outside)
        reports.append(report)
        if not report.ok:
            for message in report.messages():
                err(message)
        for warning in report.warnings:  # submitted anyway: the table of known fields may be behind the API
            err(warning.format(path).replace(f": {warning.message}", f": warning: {warning.message}", 1))
    # Exit codes (CONTRACTS.md): 2 when nothing was done because of bad input, 1 when something was done and
    # something else was not (a bad file beside a good one is "partly done", not a usage error), 0 all done.
    bad_input = failed = done = False
    extra = {"allow_media_outside": True} if args.allow_media_outside else None
    outcomes: dict[Path, SubmitOutcome] = {}  # what each file became in this run, for --wait
    for i, (path, report) in enumerate(zip(files, reports), start=1):
        prefix = f"[{i}/{n}] {path}"
        if report is not None and not report.ok:
            out(_bad_input_line(prefix, path, report))
            bad_input = True
            continue
        file_kind = report.kind if report is not None else early_kinds[path]
        model, mismatch = choose_model(args.model, file_kind, rt.settings.default_model, rt.settings.extra)
        if mismatch:
            out(f"{prefix}: error: {mismatch}")
            failed = True
            continue
        refusal = costs.check(path, model, args.check)
        if refusal:  # --check: what the service would refuse
            out(f"{prefix}: error: {refusal}")
            bad_input = True
            continue
        if args.check and report is not None:
            extras = ", embedding requests" if report.kind == EMBED else ""
            if report.media_refs:
                extras += f", {counted(report.media_files, 'media file')} ({format_bytes(report.media_bytes)})"
            reason = split.split_reason(report, limits, limits.budget_for(model))
            if reason:
                extras += f"; will be split into several jobs ({reason})"
            out(
                f"{prefix}: ok ({counted(report.request_count, 'request')}, {format_bytes(report.size_bytes)}, "
                f"~{counted(report.est_input_tokens, 'input token')}, {costs.check_text(model, report)}{extras})"
            )
            done = True
            continue
        name = args.display_name if (args.display_name and n == 1) else None
        if args.display_name and n > 1:
            name = f"{args.display_name}-{i}"
        if report is None:
            outcome, report = overlap.submit_while_validating(rt.service, path, model=model, display_name=name,
                                                              force=args.force, kind=kind,
                                                              extra=key_prints.stamped(rt.service, extra))
            if report is not None and not report.ok:  # said as if it had been validated first
                for message in report.messages():
                    err(message)
                out(_bad_input_line(prefix, path, report))
                bad_input = True
                continue
            for warning in report.warnings if report is not None else []:
                err(warning.format(path).replace(f": {warning.message}", f": warning: {warning.message}", 1))
        else:
            outcome = rt.service.submit(path, model=model, display_name=name, force=args.force, report=report,
                                        extra=extra, cost_run=costs.cap)
            if isinstance(outcome, CapRefused):  # over the cap: bad input, nothing created
                out(f"{prefix}: {outcome.line()}")
                bad_input = True
                continue
        out(f"{prefix}: {outcome.line()}")
        outcomes[path] = outcome
        from gembatch_tui.cli.realtime import fallback_hint

        if hint := fallback_hint(path, outcome.status, outcome.message):  # refused for quota or access
            err(hint)
        if outcome.status == "error" and outcome.bad_input:  # an unknown model: bad input, as CONTRACTS says
            bad_input = True
        elif outcome.status == "error":
            failed = True
        else:
            done = True
    code = submit_exit_code(bad_input=bad_input, failed=failed, done=done)
    if args.wait and not args.check:
        from gembatch_tui.cli.waiting import wait_after_submit

        code = max(code, wait_after_submit(rt, outcomes, args, _poll_interval(rt, None)))
    return code


def _bad_input_line(prefix: str, path: Path, report: ValidationReport) -> str:
    """`[i/n] PATH: error: FIRST PROBLEM (+N more)`: the line of a file that submitted nothing for its errors."""
    problems = report.messages()
    first = problems[0] if problems else "not a valid batch file"
    if first.startswith(str(path)):  # `PATH:LINE: why` (or `PATH: why`): the prefix names the path already
        first = first[len(str(path)) + 1 :].lstrip()
        number, sep, why = first.partition(": ")
        first = f"line {number}: {why}" if sep and number.isdigit() else first
    more = f" (+{report.problem_count - 1} more)" if report.problem_count > 1 else ""
    return f"{prefix}: error: {first}{more}"


def submit_exit_code(*, bad_input: bool, failed: bool, done: bool) -> int:
    """2 if a file had bad input and nothing was done; 1 if something was done but not everything (or a
    submission failed); 0 if every file was submitted, queued or skipped as already submitted."""
    if bad_input and not done:
        return EXIT_USAGE
    return EXIT_PARTIAL if bad_input or failed else EXIT_OK


# ----------------------------------------------------------------------------- poll
def cmd_poll(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.submit.limits import JobLimits
    from gembatch_tui.core.poll.poller import poll_once

    assert rt.service is not None
    try:  # the enqueued-token budgets decide when queued parts are submitted
        rt.service.limits = JobLimits.from_config(rt.settings.extra, str(rt.settings.config_path or "config"))
    except Exception as exc:  # noqa: BLE001 - a config error
        raise UsageError(str(exc)) from None
    interval = _poll_interval(rt, args.interval)
    from gembatch_tui.cli.waiting import cmd_poll_jobs, print_queued, print_report, wait_for_jobs

    if args.once and (args.watch or args.timeout is not None):
        raise UsageError("--once goes with neither --watch nor --timeout")
    if args.jobs:
        return cmd_poll_jobs(rt, args, interval)
    if args.once:
        report = poll_once(rt.service, force=True)  # CONTRACTS: every non-final job, due or not
        print_report(report)
        print_queued(rt)
        return EXIT_PARTIAL if report.failed else EXIT_OK
    return wait_for_jobs(rt, None, interval=interval, timeout_min=args.timeout)


def _poll_interval(rt: Runtime, given: float | None) -> float:
    default = 2.0 if rt.settings.demo else rt.settings.poll_interval  # demo jobs take seconds, not hours
    interval = given if given is not None else default
    if interval <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    return interval


# ----------------------------------------------------------------------------- list
def _progress(rec: dict) -> str:
    stats = record_stats(rec)
    total = stats["request_count"] or int(rec.get("count") or 0)
    done = stats["successful_request_count"] + stats["failed_request_count"]
    text = f"{done:,}/{total:,}" if total else "-"
    if stats["failed_request_count"]:
        text += f" ({stats['failed_request_count']:,} failed)"
    return text


def _check_output_path(output: Path) -> None:
    """`submit --wait -o PATH`: PATH must be able to take a file (not a folder; its folder a folder or makeable)."""
    if output.is_dir():
        raise UsageError(f"{output}: is a directory; give -o a file name")
    parent = output.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{output}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{output}: {parent} is not writable")


def cmd_list(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.cli.remote_list import cmd_list_remote, states_arg
    from gembatch_tui.core.results.saved import PENDING, saved_word
    from gembatch_tui.core.state_filter import record_matches

    states = states_arg(args.state)
    if args.remote:
        return cmd_list_remote(rt, args, states)
    # The store's problems were reported by dispatch, on stderr.
    records = [r for r in rt.store.read_all() if record_matches(r, states) and (args.all or not is_archived(r))]
    if args.json:
        print_json(records)
        return EXIT_OK
    if not records:
        if args.state or not args.all:  # a filter (or the archived ones hidden) left nothing: say it was that
            held = len(rt.store.read_all())
            if held:
                if args.state:
                    out(f"no jobs match --state {args.state}; {counted(held, 'job')} in {rt.store.path}")
                else:
                    out(f"every job is archived (list --all shows them); {counted(held, 'job')} in {rt.store.path}")
                return EXIT_OK
        out(f"no jobs in {rt.store.path}")
        return EXIT_OK
    rows = [("JOB", "NAME", "MODEL", "STATE", "PROGRESS", "CREATED", "RESULTS")]
    with gc_paused():  # 100,000 rows of new tuples (and their iterators) set off full collections over every record
        for rec in records:
            batch = rec.get("batch")
            batch = batch if isinstance(batch, dict) else {}
            results = saved_word(rec)  # one stat a job with results: "saved" only while the file is as verified
            cells = (
                listed_id(rec),
                fit(terminal_safe(display_name(rec)), NAME_WIDTH),
                str(batch.get("model") or rec.get("model") or "-").replace("models/", ""),
                short_state(record_state(rec)) + (" (archived)" if args.all and is_archived(rec) else ""),
                _progress(rec),
                str(batch.get("create_time") or rec.get("submitted_at") or "-")[:19].replace("T", " "),
                results if results is not None and results != PENDING else "-",
            )
            # Escaping lengthens a cell, so it comes before the widths; a row all printable (nearly every one)
            # is checked in one call.
            rows.append(cells if "".join(cells).isprintable() else tuple(terminal_safe(cell) for cell in cells))
        widths = [max(map(len, column)) for column in zip(*rows)]
    out_lines("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
    _list_other_keys(rt, records)
    return EXIT_OK


def _list_other_keys(rt: Runtime, records: list) -> None:
    """Jobs of an API key that is not set (core/keys.py) are not polled: one line each says so, under the table."""
    from gembatch_tui.core.keys import key_ring

    ring = key_ring(rt.settings)
    for rec in records:
        label = ring.label(rec)
        if label is not None and batch_name(rec) and not is_final(record_state(rec)):  # no batch: nothing to poll
            err(f"{(batch_name(rec) or '-').split('/', 1)[-1][:14]}: {label}; not polled")


# ----------------------------------------------------------------------------- cancel / delete / cleanup
def cmd_import(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.submit.importer import ImportError_, import_job_info

    try:
        report = import_job_info(args.job_info, rt.store)
    except ImportError_ as exc:
        raise UsageError(str(exc)) from None
    for problem in report.problems:
        err(problem)
    out(f"imported {counted(len(report.imported), 'job')}, skipped {len(report.skipped):,} already in the store")
    if not report.problems:
        return EXIT_OK
    # Bad lines next to good ones are failed items, not bad input: the good jobs are in the store (now or from
    # before), so a script must not read "nothing was done" (2). Only a file with no usable line at all is 2.
    return EXIT_PARTIAL if (report.imported or report.skipped) else EXIT_USAGE
