"""Provides the store record of a real-time run and the writes the run makes to it: created RUNNING, its counters
while it runs, and its end (SUCCEEDED, CANCELLED or FAILED) with the verified results file.

The record is a job of its own kind (`"mode": "realtime"`, batch name `realtime/ID`, `kind` generate as any
generate job), so the dashboard, `list`, the results browser, `export` and `usage` show it like any job, and
`models.is_realtime` keeps the poller, cancel, delete and clean-up away from the batch API for it. Its own fields
sit under `realtime`: the limits it ran with, the process that runs it (pid, host), where its answers are
collected while it runs (`partial_file`), and a cancel asked for from outside (`cancel_requested_at`).
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any

from gembatch_tui.core.fsutil import place_beside
from gembatch_tui.core.models import (
    RUNNING,
    SUCCEEDED,
    Record,
    now_iso,
    record_state,
)
from gembatch_tui.core.realtime.limits import RealtimeLimits
from gembatch_tui.core.results.stream import verify_file
from gembatch_tui.core.results import fingerprint
from gembatch_tui.core.store import new_record_id
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.submit.validate import ValidationReport

MODE = "realtime"


def info(record: Record) -> dict[str, Any]:
    value = record.get("realtime")
    return value if isinstance(value, dict) else {}


def new_record(
    src: Path, report: ValidationReport, model: str, limits: RealtimeLimits, *, display_name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Record:
    """A RUNNING record for a run of `src` (validated as `report`) with `model` (`models/...`)."""
    rid = new_record_id()
    now = now_iso()
    name = display_name or src.name
    record: Record = {
        "id": rid,
        "mode": MODE,
        "input_file": str(src),
        "count": report.request_count,
        "input_sha256": report.sha256,
        "input_bytes": report.size_bytes,
        "est_input_tokens": report.est_input_tokens,
        "kind": report.kind,
        "model": model,
        "display_name": name,
        "submitted_at": now,
        "batch": {
            "name": f"realtime/{rid}", "display_name": name, "model": model, "state": RUNNING,
            "create_time": now, "update_time": now,
            "stats": stats(report.request_count, 0, 0),
        },
        "realtime": {"rpm": limits.rpm, "tpm": limits.tpm, "concurrency": limits.concurrency},
    }
    if extra:
        record.update(extra)
    return record


def stats(total: int, ok: int, errors: int) -> dict[str, int]:
    return {"request_count": total, "successful_request_count": ok, "failed_request_count": errors,
            "pending_request_count": max(0, total - ok - errors)}


def partial_path(service: BatchService, record: Record) -> Path:
    """Where the run collects its answers: hidden, beside where its results file goes, named after the run."""
    known = info(record).get("partial_file")
    if isinstance(known, str) and known:
        return Path(known)
    target, _alternative, _ours = service.results_targets(record)
    return target.with_name(f".{target.name}.{str(record.get('id'))[:12]}.realtime.partial")


def claim(record: Record, partial: Path, limits: RealtimeLimits) -> None:
    """Mark the record as run by this process from now on (a resumed run: RUNNING again)."""
    now = now_iso()
    run = record.get("realtime")
    if not isinstance(run, dict):
        run = record["realtime"] = {}
    run.update(pid=os.getpid(), host=socket.gethostname(), partial_file=str(partial), started_at=now,
               rpm=limits.rpm, tpm=limits.tpm, concurrency=limits.concurrency)
    run.pop("cancel_requested_at", None)
    batch = record.setdefault("batch", {})
    batch.update(state=RUNNING, update_time=now)
    batch.pop("end_time", None)
    record.pop("error", None)


def resumable(
    records: list[Record], src: Path, *, resubmit_of: str | None = None
) -> tuple[Record | None, Record | None]:
    """(a run of `src` to continue, a finished one) among the real-time records: the newest that did not succeed,
    and the newest that did. With `resubmit_of`, the runs of the failed keys of that job instead."""
    unfinished = done = None
    for rec in records:
        if rec.get("mode") != MODE:
            continue
        if resubmit_of is not None:
            if rec.get("resubmit_of") != resubmit_of:
                continue
        elif rec.get("input_file") != str(src):
            continue
        if record_state(rec) == SUCCEEDED:
            done = rec
        else:
            unfinished = rec
    return unfinished, done


def seed_partial(record: Record, partial: Path) -> None:
    """A run that ended before (cancelled, failed) has its answers in its results file: the partial file of its
    continuation starts as a copy, so the results file stays whole until the new one replaces it."""
    results = record.get("results_file")
    if not isinstance(results, str) or not Path(results).is_file():
        return
    if partial.exists() and not os.path.samefile(partial, results):
        return  # the partial file of a run killed before it ended: it holds every answer
    # (the same file: a run killed after its results were put in place, before its partial name was removed;
    # appending to it would change the verified results file under its readers)
    tmp = partial.with_name(partial.name + ".seed")
    shutil.copyfile(results, tmp)
    os.replace(tmp, partial)


def finish(
    service: BatchService, record: Record, partial: Path, state: str, ok: int, errors: int, message: str | None,
) -> tuple[Path | None, str]:
    """End the run: verify the partial file, put it in place as the results file and record it (the same fields a
    download writes, fingerprint.mark_verified) with the final state. Returns (results file or None, summary)."""
    total = int(record.get("count") or 0)
    end = now_iso()
    target: Path | None = None
    summary = "no answers"
    fields: dict[str, Any] = {}
    if partial.exists() and partial.stat().st_size > 0:
        input_file = record.get("input_file")
        input_path = Path(input_file) if isinstance(input_file, str) and Path(input_file).is_file() else None
        verified = verify_file(partial, input_path, expected_count=total if state == SUCCEEDED else None,
                               usage=True)  # the check, the usage and the fingerprint in one read
        check = verified.check
        if check.parse_errors:
            first = check.parse_errors[0]
            where = f"line {first.line}: " if first.line else ""
            raise ValueError(f"{partial}: the answers failed verification: {where}{first.message}")
        usage, print_ = verified.usage, verified.fingerprint
        want, alternative, ours = service.results_targets(record)
        # A second name for the same bytes goes into place; the partial file goes only once the record says where
        # the results are: killed in between, the rerun still finds every answer and sends nothing again.
        staged = partial.with_name(partial.name + ".final")
        staged.unlink(missing_ok=True)
        try:
            os.link(partial, staged)
        except OSError:  # no hard links here: a copy
            shutil.copyfile(partial, staged)
        target = place_beside(staged, want, alternative, ours=ours)
        fields = {"check": check, "usage": usage, "fingerprint": print_}
        summary = check.summary()

    def apply(rec: Record) -> None:
        if fields:
            fingerprint.mark_verified(rec, target, fields["check"].record_fields(), fields["fingerprint"].size,
                                      fields["fingerprint"].sha256, fields["usage"])
            rec["results_source"] = MODE
        batch = rec.setdefault("batch", {})
        batch.update(state=state, update_time=end, end_time=end, stats=stats(total, ok, errors))
        run = rec.get("realtime") if isinstance(rec.get("realtime"), dict) else {}
        run.pop("partial_file", None)
        run.pop("cancel_requested_at", None)
        rec["realtime"] = run
        if message:
            rec["error"] = message
        else:
            rec.pop("error", None)

    service.store.update(str(record["id"]), apply)
    partial.unlink(missing_ok=True)
    return target, summary
