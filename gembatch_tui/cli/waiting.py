"""Provides the waits people know from one-file batch scripts: `poll JOB...` (adopting a job submitted elsewhere),
`poll --watch`, and `submit --wait`, which follows what this run submitted until its results are saved, then
copies them (`-o`) only while they are the bytes that were verified.

Each is a thin loop over the core (waiting, resources.adopt): the same store lock, download rules and
verification as the TUI. Every line goes through `out`/`err`, so server text is terminal-safe.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, err, out
from gembatch_tui.core.config import DEFAULT_PROFILE
from gembatch_tui.core.counts import counted
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    SUCCEEDED,
    Record,
    batch_name,
    count_of,
    display_name,
    listed_id,
    record_key,
    record_state,
    short_state,
    unanswered_counts,
)
from gembatch_tui.runtime import Runtime



def poll_targets(rt: Runtime, refs: list[str]) -> tuple[list[str], bool, bool]:
    """Record keys for the JOB arguments, adopting a `batches/ID` (or bare id) the store does not hold but the
    server does. Returns (keys, bad: some argument named nothing, failed: the server could not be asked)."""
    from gembatch_tui.core.submit.job_refs import resolve_many

    assert rt.service is not None
    keys: list[str] = []
    bad = failed = False
    for ref in refs:
        try:
            resolved = resolve_many(rt.service, ref)
        except ServiceError as exc:
            holder = _earlier_attempt_of(rt, ref)
            if holder is not None:  # tracked already, as the attempt before a retry: nothing of its own to poll
                err(f"{ref}: an earlier attempt of {display_name(holder)}, retried since; not adopted (its record "
                    f"{listed_id(holder)} follows the current attempt)")
                continue
            adopted = _adopt(rt, ref)
            if adopted is None:  # the server has no such job either
                err(f"{exc}, nor on the server" if str(exc).startswith(f"{ref}: no such job in ") else str(exc))
                bad = True
            elif isinstance(adopted, str):
                err(adopted)
                failed = True
            else:
                keys.append(record_key(adopted))
            continue
        keys.extend(record_key(r) for r in resolved.records if record_key(r) not in keys)
    return keys, bad, failed


def _earlier_attempt_of(rt: Runtime, ref: str) -> Record | None:
    """The record that keeps `ref` (a batch name or bare id) as a retried part's earlier attempt, or None."""
    from gembatch_tui.core.models import earlier_attempts

    return earlier_attempts(rt.store.read_all()).get(_as_batch_name(ref))


def _as_batch_name(ref: str) -> str:
    """`batches/ID` for a batch name or a bare id."""
    return ref.strip() if ref.strip().startswith("batches/") else f"batches/{ref.strip()}"


def _adopt(rt: Runtime, ref: str) -> Record | str | None:
    """The record of a job adopted from the server; a message when the server could not say; None when `ref` is
    not a batch name or no key of this run sees such a job. A key sees only the jobs it created, so each key that
    is set is asked in turn (the chosen profile's first), and the job is stamped with the key that saw it: that
    key polls and downloads it from then on."""
    from gembatch_tui.core.api.gemini import valid_batch_name
    from gembatch_tui.core.cleanup.remote import adopt

    assert rt.service is not None
    name = _as_batch_name(ref)
    if not valid_batch_name(name):
        return None
    chosen = getattr(rt.service, "profile", DEFAULT_PROFILE)
    others = [s for s in rt.each_service() if getattr(s, "profile", DEFAULT_PROFILE) != chosen]
    problem: str | None = None
    for own in [rt.service, *others]:
        found = _ask_about(own, name)
        if found is None:
            continue
        if isinstance(found, str):
            problem = problem or found
            continue
        record = adopt(rt.service, found)
        key_print = getattr(own, "key_fingerprint", None)
        if key_print is not None and record is not None:  # the key that sees it is the key that polls it
            from gembatch_tui.core.keys import FIELD

            record = rt.store.update(record_key(record), lambda rec: rec.update({FIELD: key_print}))
        whose = f"; profile {getattr(own, 'profile', DEFAULT_PROFILE)}'s key sees it" if others else ""
        out(f"{name}: adopted into the store (submitted elsewhere; its input file is unknown{whose})")
        return record
    return problem


def _ask_about(own: Any, name: str) -> dict[str, Any] | str | None:
    """The job `name` as `own`'s key sees it; None when it sees no such job (404), else a message."""
    from gembatch_tui.core.api.gemini import checked_snapshot

    try:
        op = own.client.reader.get_json(name)
        checked_snapshot(op, name)
    except ServiceError as exc:
        return None if exc.code == 404 else f"{name}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a transport error or a 404 from the raw reader
        from gembatch_tui.core.errors import describe_api_error

        mapped = describe_api_error(exc, f"get {name}")
        return None if mapped.code == 404 else str(mapped)
    return op


def print_report(report: Any) -> None:
    """One line per state change, download and note of a poll pass; errors on stderr."""
    for note in report.notes:
        out(note)
    for change in report.changes:
        out(f"{change.name} ({change.label}): {short_state(change.old)} -> {short_state(change.new)}")
    for dl in report.downloads:
        if dl.ok:
            out(f"{dl.name}: results saved to {dl.path} ({dl.message})")
        else:
            out(f"{dl.name}: results not saved: {dl.message}")
    for message in report.errors:
        err(message)
    for run in report.hooks:  # the on_finish command: done on stdout, a failure on stderr (never retried)
        (out if run.ok else err)(f"{run.name}: {run.message}")


def print_queued(rt: Runtime) -> None:
    """A line per job still queued here after a `poll --once` pass, with when and why: the pass sent nothing
    for them (a 429's backoff not over, a budget full), and silence read as nothing to do."""
    from gembatch_tui.core.submit.waves import is_queued, retry_at
    from gembatch_tui.core.text import terminal_safe

    for rec in rt.store.read_all():
        if not is_queued(rec):
            continue
        at = retry_at(rec)
        when = f", next attempt after {time.strftime('%H:%M:%S', time.localtime(at))}" if at > time.time() else ""
        why = str(rec.get("queued_reason") or "").strip()
        out(f"{terminal_safe(display_name(rec))}: queued{when}" + (f" ({terminal_safe(why)})" if why else ""))


WAIT_FIRST_PAUSE_S = 2.0
"""`submit --wait`'s first pause; the next ones double up to the poll interval."""


def wait_for_jobs(rt: Runtime, keys: list[str] | None, *, interval: float, timeout_min: float | None,
                  command: str | None = None, first_pause: float | None = None) -> int:
    """Poll `keys` (None: every unfinished job) until each is final, its results downloaded, or `timeout_min`
    passes; the exit code. While it runs, the store's folder says that this process polls (core/poll/presence.py:
    the app shows "another poller is active"); `command` is how it is named there (never the command line, which
    may hold --api-key)."""
    from gembatch_tui.core.poll.presence import Presence
    from gembatch_tui.core.poll.waiting import wait_for

    assert rt.service is not None
    presence = Presence(rt.store.path, command or ("poll --watch" if keys is None else "poll JOB..."))

    def reported(report: Any) -> None:
        presence.passed()
        print_report(report)

    with presence:
        try:
            result = wait_for(
                rt.service, None if keys is None else frozenset(keys), interval_s=interval,
                timeout_s=None if timeout_min is None else timeout_min * 60, on_report=reported,
                first_pause_s=first_pause,
            )
        except KeyboardInterrupt:  # said before main's "interrupted": what happens to the jobs now
            err("stopped waiting: the jobs keep running on the server (queued ones stay queued here); "
                "`gembatch-tui poll` or the app follows them and saves their results")
            raise
    if result.timed_out:
        for rec in result.unfinished:
            where = ("it keeps running on the server" if batch_name(rec) else
                     "it stays queued here; `poll` submits it when it can")
            out(f"{batch_name(rec) or record_key(rec)} ({display_name(rec)}): still {short_state(record_state(rec))} "
                f"after the timeout; {where}")
        return EXIT_PARTIAL
    return EXIT_PARTIAL if result.failed else EXIT_OK


def cmd_poll_jobs(rt: Runtime, args: argparse.Namespace, interval: float) -> int:
    """`poll JOB...`: only these jobs (adopted first when the server has one the store lacks). A JOB that names
    nothing is an error line and exit 1, as for cancel and delete; the others are still polled. When none names
    anything (not in the store, not on the server), nothing was done: exit 2."""
    keys, bad, failed = poll_targets(rt, args.jobs)
    if not keys:
        return EXIT_USAGE if bad and not failed else EXIT_PARTIAL
    failed = not claim_named(rt, keys) or failed
    if args.once:
        from gembatch_tui.core.poll.poller import poll_once

        assert rt.service is not None
        report = poll_once(rt.service, only=frozenset(keys))
        print_report(report)
        code = EXIT_PARTIAL if report.failed else EXIT_OK
    else:
        code = wait_for_jobs(rt, keys, interval=interval, timeout_min=args.timeout)
    return EXIT_PARTIAL if (bad or failed) else code


def claim_named(rt: Runtime, keys: list[str]) -> bool:
    """A job named on `poll JOB` whose key is not set (a rotated key of the same project, another profile's job)
    is asked about once with this run's key, because the user named it: if that key sees it, the job becomes its
    (its fingerprint is this key's); if not, it is left as it was, never marked missing (core/keys.py). False
    when a named job could not be claimed (it is not polled: the command exits 1)."""
    from gembatch_tui.core import keys as key_prints

    key_print = getattr(rt.service, "key_fingerprint", None)
    if rt.service is None or key_print is None or not rt.services:
        return True
    claimed = True
    for rec in rt.store.read_all():
        if record_key(rec) not in keys or not batch_name(rec) or rt.service_for(rec) is not None:
            continue
        name = batch_name(rec) or ""
        try:
            rt.service.client.get_batch(name)
        except ServiceError as exc:
            who = getattr(rt.service, "profile", "default")
            seen = (f"profile {who}'s key does not see it either ({exc.code or 'no answer'})"
                    if exc.code in (403, 404) else f"asking with profile {who}'s key failed: {exc}")
            err(f"{name}: {rt.absent_reason(rec)}; {seen}; left as it was")
            claimed = False
            continue
        rt.store.update(record_key(rec), lambda r: r.update({key_prints.FIELD: key_print}))
        out(f"{name}: seen with profile {getattr(rt.service, 'profile', 'default')}'s key; polled with it from now on")
    return claimed


def wait_after_submit(rt: Runtime, outcomes: dict[Path, Any], args: argparse.Namespace, interval: float) -> int:
    """`submit --wait`: poll what these files became in this run (a new job, every part of a split input, a job
    queued locally, or the earlier job a file was skipped for) until final and downloaded; with `-o`, copy the
    results there. An older job of the same file (`--force` makes a second one) is not waited for."""
    keys = [record_key(r) for r in _jobs_of_this_run(rt.store.read_all(), outcomes)]
    if not keys:
        return EXIT_OK  # nothing was submitted: the lines above said why
    code = wait_for_jobs(rt, keys, interval=interval, timeout_min=args.timeout, command="submit --wait",
                         first_pause=WAIT_FIRST_PAUSE_S)
    if code != EXIT_OK:
        return code
    if args.output and not copy_results(rt, keys, Path(args.output)):
        return EXIT_PARTIAL
    return EXIT_PARTIAL if unanswered(rt, keys) else EXIT_OK


def _jobs_of_this_run(records: list[Record], outcomes: dict[Path, Any]) -> list[Record]:
    """The records the outcomes name: by batch name or group, else (queued locally, no job yet) the file's records
    that have no job; a record's group brings every part of it. Two passes over the store, however many files."""
    from gembatch_tui.core.submit.service import RESUBMITTABLE

    names: set[str] = set()
    groups: set[str] = set()
    queued: set[str] = set()
    for path, outcome in outcomes.items():
        if outcome.status not in ("submitted", "skipped", "queued"):
            continue
        if outcome.group_id:
            groups.add(outcome.group_id)
        elif outcome.batch_names or outcome.batch_name:  # a skipped file's job may name another path
            names.update(outcome.batch_names or [outcome.batch_name])
        else:
            queued.add(str(path))
    mine = [r for r in records if batch_name(r) in names or r.get("group_id") in groups
            or (r.get("input_file") in queued and not batch_name(r) and record_state(r) not in RESUBMITTABLE)]
    more = {r.get("group_id") for r in mine if r.get("group_id")} - groups
    if more:
        mine.extend(r for r in records if r.get("group_id") in more)
    return mine


def unanswered(rt: Runtime, keys: list[str]) -> bool:
    """Whether a waited-for job did not succeed or left requests unanswered (errors, missing), each said on
    stderr: `submit --wait` then exits 1, as `run --realtime` does, though the results are saved (and copied)."""
    found = False
    for rec in (rt.store.get(k) for k in keys):
        if rec is None:
            continue
        name = f"{batch_name(rec) or record_key(rec)} ({display_name(rec)})"
        state = record_state(rec)
        if state != SUCCEEDED:
            err(f"{name}: ended {short_state(state)}, not every request was answered")
            found = True
            continue
        errors, missing = unanswered_counts(rec)
        if errors or missing:
            check = rec["results_check"]  # a dict: it gave the counts
            total = count_of(rec.get("count")) or count_of(check.get("lines")) + missing
            err(f"{name}: {errors + missing:,} of {counted(total, 'request')} not answered "
                f"({counted(errors, 'error')}, {missing:,} missing)")
            found = True
    return found


def copy_results(rt: Runtime, keys: list[str], output: Path) -> bool:
    """`submit --wait -o PATH`: a copy of the verified results (a split input's merged results) at PATH,
    complete or absent. The bytes copied are hashed on the way and must be what was verified (the recorded size
    and sha256): a results file truncated or edited since is not passed on as the job's results."""
    from gembatch_tui.core.fsutil import atomic_writer

    records = [r for r in (rt.store.get(k) for k in keys) if r is not None]
    src: str | None = None
    size = sha = None
    if len(records) == 1 and records[0].get("results_verified"):
        src = records[0].get("results_file")
        size, sha = records[0].get("results_bytes"), records[0].get("results_sha256")
    elif records and all(r.get("group_results_verified") for r in records):
        src = records[0].get("group_results_file")
        size, sha = records[0].get("group_results_bytes"), records[0].get("group_results_sha256")
    if not (isinstance(src, str) and Path(src).is_file()):
        err(f"{output}: not written: the job has no verified results")
        return False
    try:
        output = output.expanduser().absolute()
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(src, "rb") as fin, atomic_writer(output, binary=True) as fout:
            copied, digest = 0, hashlib.sha256()
            while chunk := fin.read(1024 * 1024):
                fout.write(chunk)
                digest.update(chunk)
                copied += len(chunk)
            if isinstance(size, int) and isinstance(sha, str) and (copied, digest.hexdigest()) != (size, sha):
                what = f"{size} bytes then, {copied} now" if copied != size else "same size, other content"
                raise _Changed(f"{src} changed since it was verified ({what})")
    except _Changed as exc:
        err(f"{output}: not written: {exc}; move it away and `gembatch-tui poll --once` downloads the results "
            "again while the server keeps them")
        return False
    except OSError as exc:
        err(f"{output}: cannot write the results: {exc.strerror or exc}")
        return False
    out(f"{batch_name(records[0]) or display_name(records[0])}: results written to {output}")
    return True


class _Changed(Exception):
    """The results file is not the one verified: the copy is thrown away."""
