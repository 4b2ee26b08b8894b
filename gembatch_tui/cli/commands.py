"""Provides the headless subcommands (submit, poll, list, cancel, delete, cleanup, import) and app start-up.

Each command prints what CONTRACTS.md promises on stdout and problems on stderr, and returns an exit code.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gembatch_tui.cli.common import report_store_problems, settings_for
from gembatch_tui.cli.output import (
    EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, NAME_WIDTH, UsageError, confirm, err, fit, out, out_lines, print_json,
)
from gembatch_tui.cli.archive import cmd_archive
from gembatch_tui.cli.results import cmd_export, cmd_usage
from gembatch_tui.core.counts import counted
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.gc_pause import gc_paused
from gembatch_tui.core import keys as key_prints
from gembatch_tui.core.models import (
    batch_name, display_name, is_archived, is_final, is_realtime, record_key, record_state, record_stats, short_state,
)
from gembatch_tui.core.store import StoreError
from gembatch_tui.core.text import format_bytes, terminal_safe
from gembatch_tui.runtime import Runtime, open_runtime

if TYPE_CHECKING:
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
        runtime.store.ensure(write=args.command not in ("list", "export", "usage"))
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
                f"~{report.est_input_tokens:,} input tokens, {costs.check_text(model, report)}{extras})"
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
        from gembatch_tui.cli.realtime import fallback_hint

        if hint := fallback_hint(path, outcome.status, outcome.message):  # refused for quota or access
            err(hint)
        if outcome.status == "error":
            failed = True
        else:
            done = True
    code = submit_exit_code(bad_input=bad_input, failed=failed, done=done)
    if args.wait and not args.check:
        from gembatch_tui.cli.jobs import wait_after_submit

        code = max(code, wait_after_submit(rt, files, args, _poll_interval(rt, None)))
    return code


def _bad_input_line(prefix: str, path: Path, report: ValidationReport) -> str:
    """`[i/n] PATH: error: FIRST PROBLEM (+N more)`: the line of a file that submitted nothing for its errors."""
    problems = report.messages()
    first = problems[0] if problems else "not a valid batch file"
    first = first[len(str(path)) + 1 :].lstrip() if first.startswith(str(path)) else first
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
    from gembatch_tui.cli.jobs import cmd_poll_jobs, print_report, wait_for_jobs

    if args.once and (args.watch or args.timeout is not None):
        raise UsageError("--once goes with neither --watch nor --timeout")
    if args.jobs:
        return cmd_poll_jobs(rt, args, interval)
    if args.once:
        report = poll_once(rt.service, force=True)  # CONTRACTS: every non-final job, due or not
        print_report(report)
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
    from gembatch_tui.cli.jobs import cmd_list_remote, states_arg
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
                why = f"--state {args.state}" if args.state else "only archived jobs (--all shows them)"
                out(f"no jobs match {why}; {counted(held, 'job')} in {rt.store.path}")
                return EXIT_OK
        out(f"no jobs in {rt.store.path}")
        return EXIT_OK
    rows = [("JOB", "NAME", "MODEL", "STATE", "PROGRESS", "CREATED", "RESULTS")]
    with gc_paused():  # 100,000 rows of new tuples (and their iterators) set off full collections over every record
        for rec in records:
            batch = rec.get("batch")
            batch = batch if isinstance(batch, dict) else {}
            name = batch_name(rec) or record_key(rec)  # no job yet (queued, failed to submit): the id JOB takes
            results = rec.get("results_file") and ("saved" if rec.get("results_verified") else "unverified")
            cells = (
                name.split("/", 1)[-1][:14],
                fit(terminal_safe(display_name(rec)), NAME_WIDTH),
                str(batch.get("model") or rec.get("model") or "-").replace("models/", ""),
                short_state(record_state(rec)),
                _progress(rec),
                str(batch.get("create_time") or rec.get("submitted_at") or "-")[:19].replace("T", " "),
                results or ("error" if rec.get("results_error") else "-"),
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
        if label is not None and not is_final(record_state(rec)):
            err(f"{(batch_name(rec) or '-').split('/', 1)[-1][:14]}: {label}; not polled")


# ----------------------------------------------------------------------------- cancel / delete / cleanup
def cmd_cancel(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.cleanup.cancel import cancel_job

    assert rt.service is not None
    if args.all_active:
        if args.jobs:
            raise UsageError("--all-active takes no JOB")
        from gembatch_tui.cli.jobs import cmd_cancel_all_active

        return cmd_cancel_all_active(rt, args)
    if not args.jobs:
        raise UsageError("name at least one JOB, or pass --all-active")
    if args.remote or args.yes:
        raise UsageError("--remote and --yes go with --all-active")
    refs = _Refs(rt)
    failed = False
    for _ref, resolved in refs.each(args.jobs):
        for record in resolved.records:
            if resolved.group_id is not None and _cancel_skipped(record):
                continue
            # a real-time run has no batch job: it is stopped through its record, with no key
            service = rt.service_for(record) if batch_name(record) and not is_realtime(record) else rt.service
            if service is None:  # its key is not set: another key would only get 404 (CONTRACTS: not missing)
                err(f"{batch_name(record)}: not cancelled: {rt.absent_reason(record)}")
                failed = True
                continue
            try:
                state = cancel_job(service, record)
                if batch_name(record):
                    out(f"{batch_name(record)}: cancel requested, now {short_state(state)}")
                else:  # it was still waiting in the local queue: nothing was ever created remotely
                    out(f"{display_name(record)}: cancelled while queued, now {short_state(state)}")
            except ServiceError as exc:
                err(str(exc))
                failed = True
    if refs.bad:
        return EXIT_USAGE
    return EXIT_PARTIAL if failed or refs.failed else EXIT_OK


class _Refs:
    """The JOB arguments of cancel and delete, resolved one at a time (a job or every part of a group); one that
    names nothing is an error line and a failure, an ambiguous group path a usage error."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.bad = self.failed = False
        self.found = 0

    def each(self, refs: list[str]) -> Iterator[tuple[str, Any]]:
        """(the argument, what it resolved to) for each JOB argument that names something. When none does,
        nothing was done: `bad` (exit 2, as export and retry answer an unknown JOB); some unknown: `failed` (1)."""
        from gembatch_tui.core.submit.job_refs import AmbiguousGroup, resolve_many

        for ref in refs:
            try:
                resolved = resolve_many(self.rt.service, ref)
            except AmbiguousGroup as exc:
                err(str(exc))
                self.bad = True
                continue
            except ServiceError as exc:
                err(str(exc))
                self.failed = True
                continue
            self.found += 1
            yield ref, resolved
        if refs and not self.found:
            self.bad = True


def _cancel_skipped(record: dict) -> bool:
    """A part of a group being cancelled that has nothing to cancel (final, or never sent): say so, not an error."""
    from gembatch_tui.core.models import LOCAL_SUBMIT_FAILED, is_final
    from gembatch_tui.core.submit.retry_parts import part_label

    state = record_state(record)
    if not is_final(state) and state != LOCAL_SUBMIT_FAILED:
        return False
    name = batch_name(record) or display_name(record)
    out(f"{name}: already {short_state(state)}, skipped ({part_label(record)})")
    return True


def cmd_delete(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.cleanup.plan import freed_parts, plan_delete
    from gembatch_tui.core.models import record_key

    assert rt.service is not None
    actions = []
    refs = _Refs(rt)
    failed = False
    planned: set[str] = set()  # a part named twice (on its own and by its group) is planned once
    for ref, resolved in refs.each(args.jobs):
        for record in resolved.records:
            key = record_key(record)
            if key in planned:
                continue
            planned.add(key)
            if batch_name(record) and not is_realtime(record) and rt.service_for(record) is None:
                # its key is not set: nothing of it is touched (another key would read 404 as already deleted)
                err(f"{batch_name(record)}: not deleted: {rt.absent_reason(record)}")
                failed = True
                continue
            plan = plan_delete(record, local_record=not args.keep_record, allow_unsaved_results=args.force)
            for reason in plan.refused:
                err(f"{ref}: {reason}")
                failed = True
            actions.extend(plan.actions)
    failed = failed or refs.failed
    if not actions:
        return EXIT_USAGE if refs.bad else EXIT_PARTIAL if failed else EXIT_OK
    also = freed_parts(rt.store.read_all(), actions, rt.service.parts_root())  # execute removes these itself
    code = _confirm_and_delete(rt, actions, "will delete:", f"Delete these {len(actions) + len(also)} items?",
                               args.yes, failed, also=also)
    return EXIT_USAGE if refs.bad else code


def _confirm_and_delete(
    rt: Runtime, actions: list, heading: str, question: str, yes: bool, failed: bool = False, also: list | None = None,
    planned_by: dict | None = None,
) -> int:
    """List what will go, ask (unless --yes), delete, and report each item; one failure does not stop the rest.
    A best-effort extra that could not be done (part files) is a warning on stderr, not a failure."""

    assert rt.service is not None
    out(heading)
    for action in [*actions, *(also or [])]:
        out(f"  {action.describe()}")
    if not confirm(question, yes):
        out("nothing deleted")
        return EXIT_PARTIAL if failed else EXIT_OK
    for result in rt.execute_routed(actions, planned_by):
        if result.ok:
            out(f"deleted {result.action.describe()}")
        elif result.warning:
            err(f"warning: {result.message}")
        else:
            err(f"could not delete {result.action.target}: {result.message}")
            failed = True
    return EXIT_PARTIAL if failed else EXIT_OK


def cmd_cleanup(rt: Runtime, args: argparse.Namespace) -> int:
    """Finished jobs' remote items whose results are safe on disk, and this store's unused uploads; what is kept
    on purpose (results changed since they were verified, not downloaded yet) is said on stderr, exit 0."""
    from gembatch_tui.core.poll.download_lock import sweep_leftovers

    assert rt.service is not None
    plan, planned_by = rt.cleanup_plan()  # each key plans over its own jobs and uploads
    for reason in plan.refused:
        err(f"kept: {reason}")
    for line in _kept_for_absent_keys(rt):
        err(line)
    if not plan.actions:
        out("nothing to clean up")
        code = EXIT_OK
    else:
        heading = "will delete (finished jobs whose results are safely on disk, and unused uploads of this store):"
        code = _confirm_and_delete(rt, plan.actions, heading, f"Delete these {len(plan.actions)} remote items?",
                                   args.yes, planned_by=planned_by)
    try:
        for note in sweep_leftovers(rt.service):
            out(note)
    except OSError as exc:  # a read-only results folder: nothing to sweep there, and nothing lost
        err(f"leftover download files not swept: {exc}")
    return code


def _kept_for_absent_keys(rt: Runtime) -> list[str]:
    """What clean-up leaves because its key is not set (nothing asks about it with another key): each finished
    job still holding something on the server, and each such profile, whose unused uploads go unlisted."""
    from gembatch_tui.cli.jobs import skipped_profiles
    from gembatch_tui.core.cleanup.plan import plan_delete

    if not rt.services:
        return []
    lines = []
    for rec in rt.store.read_all():
        if (not batch_name(rec) or is_realtime(rec) or not is_final(record_state(rec))
                or rt.service_for(rec) is not None):
            continue
        plan = plan_delete(rec)
        if plan.actions or plan.refused:
            lines.append(f"kept: {batch_name(rec)} ({display_name(rec)}): {rt.absent_reason(rec)}")
    for name, env in skipped_profiles(rt).items():
        lines.append(f"kept: profile {name}'s unused uploads, not listed: {env} is not set")
    return lines


# ----------------------------------------------------------------------------- import
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
