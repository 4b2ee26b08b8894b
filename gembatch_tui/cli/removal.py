"""Provides the commands that end or remove jobs: `cancel`, `delete` and `cleanup`, with what they share (JOB
arguments resolved one at a time, the list-ask-delete-report step, the jobs of keys that are not set).

Why apart from cli/commands.py: that module dispatches every command and holds submit, poll and list; these three
act on remote objects that hold results, and read as one piece with the same refusals (core/cleanup).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, UsageError, confirm, err, out
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import batch_name, display_name, is_final, is_realtime, record_state, short_state
from gembatch_tui.runtime import Runtime


def cmd_cancel(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.cleanup.cancel import cancel_job

    assert rt.service is not None
    if args.all_active:
        if args.jobs:
            raise UsageError("--all-active takes no JOB")
        from gembatch_tui.cli.cancel_all import cmd_cancel_all_active

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
    planned_by: dict | None = None, declined: list[bool] | None = None,
) -> int:
    """List what will go, ask (unless --yes), delete, and report each item; one failure does not stop the rest.
    A best-effort extra that could not be done (part files) is a warning on stderr, not a failure."""

    assert rt.service is not None
    out(heading)
    for action in [*actions, *(also or [])]:
        out(f"  {action.describe()}")
    if not confirm(question, yes):
        out("nothing deleted")
        if declined is not None:
            declined.append(True)
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
    on purpose (results changed since they were verified, not downloaded yet) is said on stderr, exit 0; a
    listing the service refused (a rejected key, an outage) is said too, exit 1."""
    from gembatch_tui.core.poll.download_lock import sweep_leftovers

    assert rt.service is not None
    plan, planned_by = rt.cleanup_plan()  # each key plans over its own jobs and uploads
    for reason in plan.refused:
        err(f"kept: {reason}")
    for line in _kept_for_absent_keys(rt):
        err(line)
    declined: list[bool] = []
    if not plan.actions:
        out("nothing to clean up")
        code = EXIT_OK
    else:
        heading = "will delete (finished jobs whose results are safely on disk, and unused uploads of this store):"
        code = _confirm_and_delete(rt, plan.actions, heading, f"Delete these {len(plan.actions)} remote items?",
                                   args.yes, planned_by=planned_by, declined=declined)
    if declined:  # "n": nothing at all changes, not even the local leftovers
        return EXIT_PARTIAL if getattr(plan, "unlisted", False) else code
    try:
        for note in sweep_leftovers(rt.service):
            out(note)
    except OSError as exc:  # a read-only results folder: nothing to sweep there, and nothing lost
        err(f"leftover download files not swept: {exc}")
    return EXIT_PARTIAL if getattr(plan, "unlisted", False) else code  # a rejected key is not "all done"


def _kept_for_absent_keys(rt: Runtime) -> list[str]:
    """What clean-up leaves because its key is not set (nothing asks about it with another key): each finished
    job still holding something on the server, and each such profile, whose unused uploads go unlisted."""
    from gembatch_tui.cli.remote_list import skipped_profiles
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
