"""Provides `list --remote`: the jobs the service holds under each configured key, beside what the store knows,
filtered by state; and the few helpers every command over several keys shares (which profiles have no key set).
Every line goes through `out`/`err`, so server text is terminal-safe.
"""

from __future__ import annotations

import argparse
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, UsageError, err, out, print_json
from gembatch_tui.core.config import DEFAULT_PROFILE
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    Record,
    batch_name,
    earlier_attempts,
    record_key,
    short_state,
)
from gembatch_tui.core.state_filter import UnknownState, parse_states, state_matches
from gembatch_tui.runtime import Runtime



PAGE = 100


def states_arg(text: str | None) -> frozenset[str] | None:
    """`--state` as JOB_STATE_* names; an unknown name is a usage error naming the accepted ones."""
    if text is None:
        return None
    try:
        return parse_states(text)
    except UnknownState as exc:
        raise UsageError(f"--state: {exc}") from None


# ----------------------------------------------------------------------------- list --remote
def several_keys(rt: Runtime) -> bool:
    """Whether this run knows more than one key (set or not): then remote lines name the profile of each."""
    return len(rt.services) > 1 or bool(skipped_profiles(rt))


def skipped_profiles(rt: Runtime) -> dict[str, str]:
    """Profiles whose key is not set (name -> its variable): their jobs on the server cannot be listed. A profile
    that holds another profile's key is not one of them (that key lists its jobs)."""
    return {name: env for name, env in rt.absent_profiles.items() if name not in rt.same_key}


def not_listed_line(name: str, env: str) -> str:
    """The line, under 'skipped', of a profile whose key is not set (list --remote and cancel --all-active)."""
    return f"  profile {name}: its jobs on the server are not listed: {env} is not set"


def remote_jobs(rt: Runtime, states: frozenset[str] | None) -> tuple[list[dict[str, Any]], list[str], int]:
    """Every batch job on the server, as list rows (`tracked`: the store has it; `profile`: the key that lists
    it), newest first. Each key that is set lists its own (a key sees only the jobs it created). Returns the rows,
    one line per key whose listing failed (what it listed before is kept), and how many keys listed it all."""
    from gembatch_tui.core.api.gemini import BIG_PAGE, snapshot_from_operation

    several = several_keys(rt)
    records = rt.store.read_all()
    known = {batch_name(r): r for r in records if batch_name(r)}
    earlier = earlier_attempts(records)
    rows: list[dict[str, Any]] = []
    names: set[str] = set()
    failures: list[str] = []
    listed = seen = 0
    for own in rt.each_service():
        profile = getattr(own, "profile", DEFAULT_PROFILE)
        try:
            for op in own.client.iter_batches(BIG_PAGE):
                seen += 1
                if seen % PAGE == 0:
                    err(f"listing jobs on the server: {seen:,} so far")
                snap = snapshot_from_operation(op)
                if not snap.name or snap.name in names or not state_matches(snap.state, states):
                    continue
                names.add(snap.name)
                rows.append(_remote_row(snap, known.get(snap.name) or earlier.get(snap.name), profile,
                                        earlier=snap.name not in known and snap.name in earlier))
        except ServiceError as exc:
            whose = f" with profile {profile}'s key" if several else ""
            failures.append(f"cannot list the jobs on the server{whose}: {exc}")
            continue
        listed += 1
    if len(rt.each_service()) > 1:  # each listing is newest first; together they are too
        rows.sort(key=lambda row: str(row["create_time"] or ""), reverse=True)
    return rows, failures, listed


def _remote_row(snap: Any, rec: Record | None, profile: str, *, earlier: bool = False) -> dict[str, Any]:
    return {
        "name": snap.name,
        "display_name": snap.display_name,
        "model": snap.model,
        "state": snap.state,
        "create_time": snap.create_time,
        "update_time": snap.update_time,
        "end_time": snap.end_time,
        "stats": snap.stats,
        "dest": {"file_name": snap.dest_file_name} if snap.dest_file_name else None,
        "input_file_name": snap.input_file_name,
        "tracked": rec is not None,
        "earlier_attempt": earlier,  # a retried part's earlier job: `id` is the record that keeps it
        "id": record_key(rec) if rec is not None else None,
        "profile": profile,
    }


def cmd_list_remote(rt: Runtime, args: argparse.Namespace, states: frozenset[str] | None) -> int:
    """The jobs on the server of every key that is set; a profile whose key is not set is named as skipped
    (stdout under the table; stderr with --json, whose stdout is the JSON alone)."""
    rows, failures, listed = remote_jobs(rt, states)
    for line in failures:
        err(line)
    skipped = [not_listed_line(name, env) for name, env in skipped_profiles(rt).items()]
    code = EXIT_PARTIAL if failures else EXIT_OK
    if args.json:
        if listed or rows:
            print_json(rows)
        for line in skipped:
            err(line.strip())
        return code
    if not rows:
        if listed:
            out("no jobs on the server" + (" in those states" if states else ""))
        _print_skipped(skipped)
        return code
    several = several_keys(rt)
    table = [("JOB", "NAME", "MODEL", "STATE", "PROGRESS", "CREATED", "STORE")]
    for row in rows:
        stats = row["stats"] or {}
        total = stats.get("request_count") or 0
        done = (stats.get("successful_request_count") or 0) + (stats.get("failed_request_count") or 0)
        store = "not tracked"
        if row["tracked"]:
            store = "tracked (earlier attempt)" if row["earlier_attempt"] else "tracked"
        if several and not row["tracked"]:
            store += f", profile {row['profile']}"
        table.append((
            row["name"].split("/", 1)[-1][:14],
            str(row["display_name"] or "-")[:40],
            str(row["model"] or "-").replace("models/", ""),
            short_state(row["state"]),
            f"{done:,}/{total:,}" if total else "-",
            str(row["create_time"] or "-")[:19].replace("T", " "),
            store,
        ))
    _print_table(table)
    untracked = sum(1 for row in rows if not row["tracked"])
    if untracked:
        out(f"{untracked:,} not tracked by this store; `poll batches/ID` adopts one")
    _print_skipped(skipped)
    return code


def _print_skipped(lines: list[str]) -> None:
    if lines:
        out(f"skipped ({len(lines):,}):")
        for line in lines:
            out(line)


def _print_table(rows: list[tuple[str, ...]]) -> None:
    from gembatch_tui.core.text import terminal_safe

    rows = [tuple(terminal_safe(cell) for cell in row) for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


# ----------------------------------------------------------------------------- poll JOB... / submit --wait
