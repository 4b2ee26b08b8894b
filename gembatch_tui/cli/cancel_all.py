"""Provides `cancel --all-active`: every active job of the store (and with --remote, of the server) cancelled after
one question, each with the key that made it.
"""

from __future__ import annotations

import argparse
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, confirm, err, out
from gembatch_tui.cli.remote_list import not_listed_line, several_keys, skipped_profiles
from gembatch_tui.core.counts import counted
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    ACTIVE_STATES,
    LOCAL_QUEUED,
    Record,
    batch_name,
    display_name,
    is_final,
    normalise_state,
    record_key,
    record_state,
    short_state,
)
from gembatch_tui.runtime import Runtime


# ----------------------------------------------------------------------------- cancel --all-active
def cmd_cancel_all_active(rt: Runtime, args: argparse.Namespace) -> int:
    """Cancel every active job of the store (and, with --remote, every active job on the server the store does not
    track), each with the key that made it: with several profiles, each key lists and cancels its own jobs; a job
    or a profile whose key is not set is named as skipped, never asked about with another key."""
    from gembatch_tui.core.cleanup.cancel import cancel_job

    assert rt.service is not None
    several = several_keys(rt)
    local: list[tuple[Record, Any]] = []
    skipped: list[str] = []
    for rec in rt.store.read_all():
        if record_state(rec) not in ACTIVE_STATES and record_state(rec) != LOCAL_QUEUED:
            continue
        own = rt.service_for(rec)
        if own is None:
            label = batch_name(rec) or "(queued, not sent)"
            skipped.append(f"  {label} ({display_name(rec)}): {rt.absent_reason(rec)}")
        else:
            local.append((rec, own))
    remote: list[tuple[str, Any]] = []
    if args.remote:
        listed = _remote_active(rt, several)
        if listed is None:
            return EXIT_PARTIAL
        remote = listed
        skipped.extend(not_listed_line(name, env) for name, env in skipped_profiles(rt).items())
    if not local and not remote:
        out("no active jobs" + (" in the store or on the server" if args.remote else " in the store"))
        for line in skipped:
            out(line)
        return EXIT_OK
    out(f"will cancel {counted(len(local) + len(remote), 'job')}:")
    for rec, _own in local:
        out(f"  {batch_name(rec) or '(queued, not sent)'} ({display_name(rec)}): {short_state(record_state(rec))}")
    for name, own in remote:
        whose = f", profile {getattr(own, 'profile', 'default')}" if several else ""
        out(f"  {name} (not tracked by this store{whose})")
    if skipped:
        out(f"skipped ({len(skipped):,}):")
        for line in skipped:
            out(line)
    if not confirm("Cancel them?", args.yes, refusing="refusing to cancel without confirmation"):
        out("nothing cancelled")
        return EXIT_OK
    failures: list[str] = []
    for rec, own in local:
        label = batch_name(rec) or display_name(rec)
        try:
            state = cancel_job(own, rec)
            out(f"{label}: cancel requested, now {short_state(state)}")
        except ServiceError as exc:
            if is_final(record_state(rt.store.get(record_key(rec)) or rec)):
                out(f"{label}: already final")
                continue
            err(f"{label}: {exc}")
            failures.append(label)
    for name, own in remote:
        try:
            own.client.cancel_batch(name)
            out(f"{name}: cancel requested")
        except ServiceError as exc:
            err(f"{name}: {exc}")
            failures.append(name)
    if failures:
        err(f"{counted(len(failures), 'cancel')} failed: {', '.join(failures)}")
        return EXIT_PARTIAL
    return EXIT_OK


def _remote_active(rt: Runtime, several: bool) -> list[tuple[str, Any]] | None:
    """Active jobs on the server that the store does not track, with the service of the key that lists them (each
    key sees only its own); None when a listing failed (said on stderr: nothing is cancelled then)."""
    from gembatch_tui.core.api.gemini import BIG_PAGE, snapshot_from_operation

    known = {batch_name(r) for r in rt.store.read_all()}
    found: list[tuple[str, Any]] = []
    for own in rt.each_service():
        try:
            for op in own.client.iter_batches(BIG_PAGE):
                snap = snapshot_from_operation(op)
                if snap.name and snap.name not in known and normalise_state(snap.state) in ACTIVE_STATES:
                    known.add(snap.name)
                    found.append((snap.name, own))
        except ServiceError as exc:
            whose = f" with profile {getattr(own, 'profile', 'default')}'s key" if several else ""
            err(f"cannot list the jobs on the server{whose}: {exc}")
            return None
    return found
