"""Provides what each route does, as blocking calls on the core (run in a worker thread by the routes): the same
calls and sentences as `submit`, `list`, `cancel`, `delete`, `poll` and `export` on the command line.

Why here and not in the CLI modules: those print lines and return exit codes; these return JSON values and raise
ApiError with the same sentence and an HTTP status (404 names nothing, 400 bad input, 409 the job's state does
not allow it, 502 the Batch API failed).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    LOCAL_SUBMIT_FAILED,
    SUCCEEDED,
    batch_name,
    display_name,
    is_archived,
    is_final,
    record_key,
    record_state,
    short_state,
)
from gembatch_tui.core.submit.job_refs import AmbiguousGroup, Resolved, resolve_many
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.server.errors import ApiError
from gembatch_tui.server.upload import Upload

KINDS = ("auto", "generate", "embed")


@dataclass
class Context:
    """What every route works on: the service (store + client), the settings' defaults, the upload limit."""

    service: BatchService
    default_model: str
    config: dict[str, Any] = field(default_factory=dict)
    max_upload_bytes: int = 2 * 1024**3
    max_cost_usd: float | None = None  # the config's cap (`max_cost_usd`); a request's `max_cost` replaces it
    prices: Any = None  # the config's price table (core.api.pricing)
    assumptions: Any = None  # the config's output assumptions for the cost estimate (core.api.pricing)
    poll_lock: threading.Lock = field(default_factory=threading.Lock)
    """One poll pass at a time in this process: `POST /poll` waits for the background pass, never overlaps it."""
    runtime: Any = None
    """runtime.Runtime when there are several API keys: cancel and delete use each job's own key's service."""

    def __post_init__(self) -> None:
        from gembatch_tui.core.submit.cost_cap import CostPolicy

        # The service holds the cap (BatchService.submit) with the settings this service was started with.
        if self.service is not None:
            self.service.cost_policy = CostPolicy(self.max_cost_usd, self.prices, self.assumptions)


def service_error(exc: ServiceError) -> ApiError:
    """A ServiceError from the Batch API side: 502, or the Batch API's own 4xx status when it refused."""
    code = exc.code if isinstance(exc.code, int) and 400 <= exc.code < 500 and exc.code not in (401, 403) else 502
    return ApiError(code, str(exc))


def resolve(ctx: Context, ref: str) -> Resolved:
    """A JOB in any form the CLI takes (batch name, bare id, record id or its prefix, input path, group id or
    prefix, a split input's original path); 404 when it names nothing, 400 when it names several."""
    if not ref.strip():
        raise ApiError(400, "name a JOB")
    try:
        return resolve_many(ctx.service, ref)
    except AmbiguousGroup as exc:
        raise ApiError(400, str(exc)) from None
    except ServiceError as exc:
        raise ApiError(404 if "no such job" in str(exc) else 400, str(exc)) from None


# ----------------------------------------------------------------------------- list / status
def list_jobs(ctx: Context, state: str | None, include_archived: bool) -> dict[str, Any]:
    """`list --json [--state ...] [--all]`: the store records, archived ones only with `all`."""
    from gembatch_tui.core.state_filter import UnknownState, parse_states, record_matches

    try:
        states = parse_states(state) if state else None
    except UnknownState as exc:
        raise ApiError(400, f"state: {exc}") from None
    records = [r for r in ctx.service.store.read_all()
               if record_matches(r, states) and (include_archived or not is_archived(r))]
    return {"jobs": records}


def status(ctx: Context, ref: str) -> dict[str, Any]:
    """The record(s) a JOB names as the store holds them now (a split input: every part, in part order)."""
    resolved = resolve(ctx, ref)
    return {"group_id": resolved.group_id, "jobs": resolved.records}


def poll(ctx: Context, refs: list[str]) -> dict[str, Any]:
    """`poll --once [JOB...]`: one pass over every unfinished job (or only these), downloading new results."""
    from gembatch_tui.core.poll.poller import poll_once

    keys: list[str] = []
    for ref in refs:
        keys.extend(record_key(r) for r in resolve(ctx, ref).records)
    with ctx.poll_lock:
        report = poll_once(ctx.service, only=frozenset(keys) if refs else None, force=not refs)
    return report_json(report)


def background_poll(ctx: Context) -> dict[str, Any]:
    """The service's own routine pass (only the jobs that are due, as the app's timer asks)."""
    from gembatch_tui.core.poll.poller import poll_once

    with ctx.poll_lock:
        return report_json(poll_once(ctx.service))


def report_json(report: Any) -> dict[str, Any]:
    """A poll pass as the lines `poll` prints: state changes, downloads, notes and errors."""
    return {
        "changes": [{"job": c.name, "label": c.label, "from": short_state(c.old), "to": short_state(c.new)}
                    for c in report.changes],
        "downloads": [{"job": d.name, "ok": d.ok, "path": str(d.path) if d.path else None, "message": d.message}
                      for d in report.downloads],
        "notes": list(report.notes),
        "errors": list(report.errors),
        "active": report.active,
    }


# ----------------------------------------------------------------------------- submit
def submit(ctx: Context, upload: Upload, *, model: str | None, name: str | None, force: bool, kind: str,
           max_cost: float | None = None) -> tuple[int, dict[str, Any]]:
    """Validate the uploaded file and submit it as `submit` does: 400 with every problem (`NAME:LINE: what`), or
    with the cost cap's refusal (`max_cost`, else the config's `max_cost_usd`), and nothing submitted; 201
    submitted, 202 queued, 200 skipped as already submitted; 502 when the API failed.
    `[[FILE:...]]` media are read only beside the upload (never `--allow-media-outside`: a client must not make
    the service upload the server's files)."""
    from gembatch_tui.core.submit.model_choice import choose_model
    from gembatch_tui.core.submit.validate import validate_file

    if kind not in KINDS:
        raise ApiError(400, f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    local = str(upload.path)

    def shown(message: str) -> str:  # the client knows its file by its name, not by where the service keeps it
        return message.replace(local, upload.name)

    report = validate_file(upload.path, kind=None if kind == "auto" else kind, max_bytes=None)
    if not report.ok:
        problems = [shown(m) for m in report.messages()]
        more = f" (+{report.problem_count - 1} more)" if report.problem_count > 1 else ""
        first = problems[0] if problems else f"{upload.name}: not a valid batch file"
        raise ApiError(400, first + more, problems=problems[:100], problem_count=report.problem_count)
    warnings = [shown(w.format(upload.path).replace(f": {w.message}", f": warning: {w.message}", 1))
                for w in report.warnings]
    chosen, mismatch = choose_model(model, report.kind, ctx.default_model, ctx.config)
    if mismatch:
        raise ApiError(400, f"{upload.name}: {mismatch}")
    from gembatch_tui.core.submit.cost_cap import CapRefused

    outcome = ctx.service.submit(upload.path, model=chosen, display_name=name, force=force, report=report,
                                 max_cost_usd=max_cost)
    if isinstance(outcome, CapRefused):  # over the cap: nothing was created
        raise ApiError(400, shown(f"{upload.name}: {outcome.message}"))
    body: dict[str, Any] = {
        "status": outcome.status,
        "message": shown(outcome.line()),
        "request_count": outcome.request_count,
        "batch_names": outcome.batch_names or ([outcome.batch_name] if outcome.batch_name else []),
        "group_id": outcome.group_id,
        "parts": outcome.parts,
        "queued": outcome.queued,
        "warnings": warnings,
        "jobs": _submitted_records(ctx, local, outcome),
    }
    if outcome.status == "error":
        raise ApiError(502, shown(outcome.line()), **{k: v for k, v in body.items() if k != "message"})
    return {"submitted": 201, "queued": 202}.get(outcome.status, 200), body


def _submitted_records(ctx: Context, local: str, outcome: Any) -> list[dict[str, Any]]:
    """The records of this upload, or (skipped) of the earlier submission of the same content."""
    records = ctx.service.store.read_all()
    if outcome.status == "skipped":
        return [r for r in records if (outcome.group_id and r.get("group_id") == outcome.group_id)
                or (outcome.batch_name and batch_name(r) == outcome.batch_name)]
    return [r for r in records if local in (r.get("input_file"), r.get("group_input_file"))]


def referenced_folders(ctx: Context) -> set[str]:
    """The folders of every input file the store names (an upload folder among them is kept)."""
    return {str(Path(f).parent) for r in ctx.service.store.read_all()
            for f in (r.get("input_file"), r.get("group_input_file")) if isinstance(f, str)}


def referenced(ctx: Context, folder: Path) -> bool:
    """True when a record names a file in this upload's folder (then it stays: results are written beside it)."""
    wanted = str(folder)
    return any(isinstance(f, str) and str(Path(f).parent) == wanted
               for r in ctx.service.store.read_all() for f in (r.get("input_file"), r.get("group_input_file")))


# ----------------------------------------------------------------------------- cancel / delete
def cancel(ctx: Context, ref: str) -> dict[str, Any]:
    """`cancel JOB`: each job it names asked to cancel (a finished part of a split input is skipped, as in the
    CLI); 409 when the only job is already final, 502 when the Batch API failed for every job."""
    from gembatch_tui.core.cleanup.cancel import cancel_job
    from gembatch_tui.core.submit.retry_parts import part_label

    resolved = resolve(ctx, ref)
    done: list[dict[str, Any]] = []
    errors: list[ApiError] = []
    for record in resolved.records:
        label = batch_name(record) or display_name(record)
        state = record_state(record)
        if resolved.group_id is not None and (is_final(state) or state == LOCAL_SUBMIT_FAILED):
            done.append({"job": label, "state": short_state(state), "skipped": True,
                         "message": f"{label}: already {short_state(state)}, skipped ({part_label(record)})"})
            continue
        service = ctx.runtime.service_for(record) if ctx.runtime is not None and batch_name(record) else ctx.service
        if service is None:  # its key is not set: another key would only be told 404
            errors.append(ApiError(409, f"{label}: not cancelled: {ctx.runtime.absent_reason(record)}"))
            continue
        try:
            new = cancel_job(service, record)
        except ServiceError as exc:
            errors.append(ApiError(409, str(exc)) if is_final(state) else service_error(exc))
            continue
        line = (f"{label}: cancel requested, now {short_state(new)}" if batch_name(record)
                else f"{label}: cancelled while queued, now {short_state(new)}")
        done.append({"job": label, "state": short_state(new), "skipped": False, "message": line})
    if errors and not any(not d["skipped"] for d in done):
        first = errors[0]
        raise ApiError(first.status, first.message, errors=[e.message for e in errors], jobs=done)
    return {"jobs": done, "errors": [e.message for e in errors]}


def delete(ctx: Context, ref: str, *, keep_record: bool, force: bool) -> dict[str, Any]:
    """`delete --yes [--keep-record] [--force] JOB`: the remote job, its files and (by default, when nothing
    remote is left to protect) the record; 409 with the CLI's reason when nothing may go."""
    from gembatch_tui.core.cleanup.execute import execute
    from gembatch_tui.core.cleanup.plan import plan_delete

    resolved = resolve(ctx, ref)
    actions, refused, planned = [], [], set()
    for record in resolved.records:
        key = record_key(record)
        if key in planned:
            continue
        planned.add(key)
        plan = plan_delete(record, local_record=not keep_record, allow_unsaved_results=force)
        refused.extend(f"{ref}: {reason}" for reason in plan.refused)
        actions.extend(plan.actions)
    if not actions:
        if refused:
            raise ApiError(409, refused[0], refused=refused)
        return {"deleted": [], "refused": [], "failed": [], "warnings": []}
    deleted, failed, warnings = [], [], []
    routed = getattr(ctx.runtime, "services", None)
    for result in ctx.runtime.execute_routed(actions) if routed else execute(ctx.service, actions):
        if result.ok:
            deleted.append(result.action.describe())
        elif result.warning:
            warnings.append(result.message)
        else:
            failed.append(f"could not delete {result.action.target}: {result.message}")
    body = {"deleted": deleted, "refused": refused, "failed": failed, "warnings": warnings}
    if failed and not deleted:
        raise ApiError(502, failed[0], **body)
    return body


# ----------------------------------------------------------------------------- results
def results_file(ctx: Context, ref: str) -> tuple[Path, str]:
    """(the verified results file, a download name) of a job, or of a split input (its merged results): only a
    file still exactly what was verified; 409 with why not (not downloaded yet, changed since, not merged yet)."""
    from gembatch_tui.core.results import fingerprint
    from gembatch_tui.core.submit import groups

    resolved = resolve(ctx, ref)
    if resolved.group_id is not None:
        parts = resolved.records
        view = groups.merged_view(parts)
        path = view.get("results_file")
        problem = None if path else groups.merged_pending(parts)
        changed = fingerprint.group_problem(parts[0]) if path else None
        if changed is not None:
            problem = f"{ref}: {changed}"
    else:
        record = resolved.records[0]
        label = batch_name(record) or record_key(record)
        problem = fingerprint.results_problem(record)
        if problem is not None:
            state = record_state(record)
            problem = (f"{label}: {problem}" if state == SUCCEEDED
                       else f"{label} is {short_state(state)}: it has no results to fetch")
        path = record.get("results_file")
    if problem is not None or not isinstance(path, str):
        raise ApiError(409, problem or f"{ref}: no results file")
    if not Path(path).is_file():
        raise ApiError(409, f"{ref}: the results file {path} is gone")
    return Path(path), Path(path).name


__all__ = ["Context", "background_poll", "cancel", "delete", "list_jobs", "poll", "referenced", "referenced_folders",
           "report_json", "results_file", "status", "submit"]
