"""Provides the headless subcommands (submit, poll, list, cancel, delete, cleanup, import) and app start-up.

Each command prints what CONTRACTS.md promises on stdout and problems on stderr, and returns an exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gembatch_tui.cli import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, UsageError
from gembatch_tui.commands_results import cmd_export, cmd_usage
from gembatch_tui.config import ConfigFileError, Settings, build_settings
from gembatch_tui.core.errors import ServiceError, redact
from gembatch_tui.core.models import batch_name, display_name, record_state, record_stats, short_state
from gembatch_tui.core.store import StoreError
from gembatch_tui.runtime import Runtime, open_runtime


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return build_settings(
            store=getattr(args, "store", None),
            results_dir=getattr(args, "results_dir", None),
            api_key=getattr(args, "api_key", None),
            demo=bool(getattr(args, "demo", False)),
        )
    except ConfigFileError as exc:
        raise UsageError(str(exc)) from None


def err(message: str) -> None:
    print(redact(message), file=sys.stderr)


def dispatch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    need_service = args.command not in ("list", "import", "export", "usage")
    try:
        runtime = open_runtime(settings, need_service=need_service, demo_job_seconds=5.0)
    except ServiceError as exc:
        raise UsageError(str(exc)) from None
    try:
        runtime.store.ensure()
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
        }[args.command]
        return handler(runtime, args)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        runtime.close()


def run_app(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.api_key:
        settings.demo = True
        if not getattr(args, "store", None):
            from gembatch_tui import paths

            settings.store_path = paths.default_store_path(demo=True)
    from gembatch_tui.core.store import JobStore

    try:
        JobStore(settings.store_path).ensure()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    from gembatch_tui.app import run

    return run(settings)


# ----------------------------------------------------------------------------- submit
def cmd_submit(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core import pricing, split
    from gembatch_tui.core.limits import JobLimits
    from gembatch_tui.core.models_catalog import kind_mismatch
    from gembatch_tui.core.validate import EMBED, validate_file

    assert rt.service is not None
    try:
        prices = pricing.load_price_table(rt.settings.config_path)
        limits = JobLimits.from_config(rt.settings.extra, str(rt.settings.config_path or "config"))
    except Exception as exc:  # noqa: BLE001 - a bad price table or limits are config errors
        raise UsageError(str(exc)) from None
    limits = limits.with_overrides(max_requests=args.max_requests_per_job, max_bytes=args.max_bytes_per_job)
    rt.service.limits = limits
    kind = None if args.kind == "auto" else args.kind
    files = [Path(f).expanduser().absolute() for f in args.files]
    n = len(files)
    reports = []
    bad_input = False
    for path in files:
        report = validate_file(path, kind=kind, max_bytes=None)
        reports.append(report)
        if not report.ok:
            bad_input = True
            for message in report.messages():
                err(message)
        for warning in report.warnings:  # submitted anyway: the table of known fields may be behind the API
            err(warning.format(path).replace(f": {warning.message}", f": warning: {warning.message}", 1))
    failed = False
    for i, (path, report) in enumerate(zip(files, reports), start=1):
        prefix = f"[{i}/{n}] {path}"
        if not report.ok:
            problems = report.messages()
            first = problems[0] if problems else "not a valid batch file"
            first = first[len(str(path)) + 1 :].lstrip() if first.startswith(str(path)) else first
            more = f" (+{report.problem_count - 1} more)" if report.problem_count > 1 else ""
            print(f"{prefix}: error: {first}{more}", flush=True)
            continue
        # An embeddings file without -m goes to the embedding model rather than failing on a generate model.
        embed_model = str(rt.settings.extra.get("default_embedding_model") or "gemini-embedding-001")
        model = args.model or (embed_model if report.kind == EMBED else rt.settings.default_model)
        mismatch = kind_mismatch(model, report.kind) if args.model else None
        if mismatch:
            print(f"{prefix}: error: {mismatch}", flush=True)
            failed = True
            continue
        if args.check:
            cost = pricing.estimate_cost(model, report.est_input_tokens, 0, prices)
            extras = ", embedding requests" if report.kind == EMBED else ""
            if report.media_refs:
                extras += f", {report.media_files} media files ({report.media_bytes} bytes)"
            reason = split.split_reason(report, limits, limits.budget_for(model))
            if reason:
                extras += f"; will be split into several jobs ({reason})"
            print(
                f"{prefix}: ok ({report.request_count} requests, {report.size_bytes} bytes, "
                f"~{report.est_input_tokens} input tokens, input cost ~{pricing.format_cost(cost)}{extras})",
                flush=True,
            )
            continue
        name = args.display_name if (args.display_name and n == 1) else None
        if args.display_name and n > 1:
            name = f"{args.display_name}-{i}"
        outcome = rt.service.submit(path, model=model, display_name=name, force=args.force, report=report)
        print(f"{prefix}: {outcome.line()}", flush=True)
        if outcome.status == "error":
            failed = True
    if bad_input:
        return EXIT_USAGE
    return EXIT_PARTIAL if failed else EXIT_OK


# ----------------------------------------------------------------------------- poll
def cmd_poll(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.limits import JobLimits
    from gembatch_tui.core.poller import poll_once

    assert rt.service is not None
    try:  # the enqueued-token budgets decide when queued parts are submitted
        rt.service.limits = JobLimits.from_config(rt.settings.extra, str(rt.settings.config_path or "config"))
    except Exception as exc:  # noqa: BLE001 - a config error
        raise UsageError(str(exc)) from None
    default = 2.0 if rt.settings.demo else rt.settings.poll_interval  # demo jobs take seconds, not hours
    interval = args.interval if args.interval is not None else default
    if interval <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    any_failure = False
    while True:
        report = poll_once(rt.service)
        for note in report.notes:
            print(note, flush=True)
        for change in report.changes:
            print(f"{change.name} ({change.label}): {short_state(change.old)} -> {short_state(change.new)}", flush=True)
        for dl in report.downloads:
            if dl.ok:
                print(f"{dl.name}: results saved to {dl.path} ({dl.message})", flush=True)
            else:
                print(f"{dl.name}: results not saved: {dl.message}", flush=True)
        for message in report.errors:
            err(message)
        last_failed = report.failed
        if args.once:
            return EXIT_PARTIAL if last_failed else EXIT_OK
        if report.active == 0:
            return EXIT_PARTIAL if (last_failed or any_failure) else EXIT_OK
        any_failure = False  # errors of earlier passes are retried; only the final pass counts
        time.sleep(interval)


# ----------------------------------------------------------------------------- list
def _progress(rec: dict) -> str:
    stats = record_stats(rec)
    total = stats["request_count"] or int(rec.get("count") or 0)
    done = stats["successful_request_count"] + stats["failed_request_count"]
    text = f"{done}/{total}" if total else "-"
    if stats["failed_request_count"]:
        text += f" ({stats['failed_request_count']} failed)"
    return text


def cmd_list(rt: Runtime, args: argparse.Namespace) -> int:
    records, problems = rt.store.read_with_problems()
    for problem in problems:
        err(f"{rt.store.path}:{problem.line_no}: {problem.reason}; line kept as it is")
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    if not records:
        print(f"no jobs in {rt.store.path}")
        return EXIT_OK
    rows = [("JOB", "NAME", "MODEL", "STATE", "PROGRESS", "CREATED", "RESULTS")]
    for rec in records:
        batch = rec.get("batch") or {}
        name = batch_name(rec) or "-"
        results = rec.get("results_file") and ("saved" if rec.get("results_verified") else "unverified")
        rows.append(
            (
                name.split("/", 1)[-1][:14],
                _safe(display_name(rec))[:28],
                str(batch.get("model") or rec.get("model") or "-").replace("models/", ""),
                short_state(record_state(rec)),
                _progress(rec),
                str(batch.get("create_time") or rec.get("submitted_at") or "-")[:19].replace("T", " "),
                results or ("error" if rec.get("results_error") else "-"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return EXIT_OK


def _safe(text: str) -> str:
    """Terminal control characters in server or user text are shown, not executed."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


# ----------------------------------------------------------------------------- cancel / delete / cleanup
def cmd_cancel(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.cleanup import cancel_job

    assert rt.service is not None
    refs = _Refs(rt)
    failed = False
    for _ref, resolved in refs.each(args.jobs):
        for record in resolved.records:
            if resolved.group_id is not None and _cancel_skipped(record):
                continue
            try:
                state = cancel_job(rt.service, record)
                if batch_name(record):
                    print(f"{batch_name(record)}: cancel requested, now {short_state(state)}")
                else:  # it was still waiting in the local queue: nothing was ever created remotely
                    print(f"{_safe(display_name(record))}: cancelled while queued, now {short_state(state)}")
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

    def each(self, refs: list[str]) -> Iterator[tuple[str, Any]]:
        """(the argument, what it resolved to) for each JOB argument that names something."""
        from gembatch_tui.core.job_refs import AmbiguousGroup, resolve_many

        for ref in refs:
            try:
                yield ref, resolve_many(self.rt.service, ref)
            except AmbiguousGroup as exc:
                err(str(exc))
                self.bad = True
            except ServiceError as exc:
                err(str(exc))
                self.failed = True


def _cancel_skipped(record: dict) -> bool:
    """A part of a group being cancelled that has nothing to cancel (final, or never sent): say so, not an error."""
    from gembatch_tui.core.models import LOCAL_SUBMIT_FAILED, is_final
    from gembatch_tui.core.retry_parts import part_label

    state = record_state(record)
    if not is_final(state) and state != LOCAL_SUBMIT_FAILED:
        return False
    name = batch_name(record) or display_name(record)
    print(f"{_safe(name)}: already {short_state(state)}, skipped ({_safe(part_label(record))})")
    return True


def _confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError("refusing to delete without confirmation: no terminal to ask on; pass --yes")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_delete(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.cleanup import freed_parts, plan_delete
    from gembatch_tui.core.store import record_key

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
    rt: Runtime, actions: list, heading: str, question: str, yes: bool, failed: bool = False, also: list | None = None
) -> int:
    """List what will go, ask (unless --yes), delete, and report each item; one failure does not stop the rest.
    A best-effort extra that could not be done (part files) is a warning on stderr, not a failure."""
    from gembatch_tui.core.cleanup import execute

    assert rt.service is not None
    print(heading)
    for action in [*actions, *(also or [])]:
        print(f"  {_safe(action.describe())}")
    if not _confirm(question, yes):
        print("nothing deleted")
        return EXIT_PARTIAL if failed else EXIT_OK
    for result in execute(rt.service, actions):
        if result.ok:
            print(f"deleted {_safe(result.action.describe())}")
        elif result.warning:
            err(f"warning: {result.message}")
        else:
            err(f"could not delete {result.action.target}: {result.message}")
            failed = True
    return EXIT_PARTIAL if failed else EXIT_OK


def cmd_cleanup(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.cleanup import plan_cleanup

    assert rt.service is not None
    plan = plan_cleanup(rt.store.read_all())
    if not plan.actions:
        print("nothing to clean up")
        return EXIT_OK
    heading = "will delete (finished jobs whose results are safely on disk):"
    return _confirm_and_delete(rt, plan.actions, heading, f"Delete these {len(plan.actions)} remote items?", args.yes)


# ----------------------------------------------------------------------------- import
def cmd_import(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.importer import ImportError_, import_job_info

    try:
        report = import_job_info(args.job_info, rt.store)
    except ImportError_ as exc:
        raise UsageError(str(exc)) from None
    for problem in report.problems:
        err(problem)
    print(f"imported {len(report.imported)} jobs, skipped {len(report.skipped)} already in the store")
    return EXIT_USAGE if report.problems else EXIT_OK
