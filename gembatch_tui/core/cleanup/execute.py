"""Provides `execute`: carrying out a delete or clean-up plan, one action at a time.

Why apart from the plan: a plan is shown, confirmed and maybe kept for a while (a dialog, a CLI question), so the
store may change before it runs. Each output (or a job that holds its answers inline) is checked again right before
it goes, with its local results file read afresh; each orphan upload is checked again against the records as they
are now; one failure does not stop the others; and what was deleted is written on the records (`remote_deleted`),
so no later plan asks for it again.
"""

from __future__ import annotations

from gembatch_tui.core.cleanup.plan import (
    Action,
    ActionResult,
    group_label,
    job_holds_answers,
    results_problem,
)
from gembatch_tui.core.cleanup.remote_delete import FILE_GONE, delete_remote
from gembatch_tui.core.cleanup.upload_claims import claimed_tokens, referenced
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import Record, batch_name, now_iso, record_key, remote_gone
from gembatch_tui.core.store import StoreError
from gembatch_tui.core.submit import groups
from gembatch_tui.core.submit.service import BatchService


def execute(service: BatchService, actions: list[Action]) -> list[ActionResult]:
    """Carry out every action; one failure does not stop the others.

    Local records go last, and a record still in the local queue is first marked cancelled under the store
    lock, so the poller cannot take it for submission while it is being removed; one it already took
    (being submitted) is kept, and its action fails."""
    results: list[ActionResult | None] = []
    done: dict[str, dict[int | None, dict[str, bool]]] = {}  # record key -> attempt (None: current) -> kinds
    drops: dict[str, list[int]] = {}
    for action in actions:
        if action.kind == "record":
            drops.setdefault(action.record_key, []).append(len(results))
            results.append(None)
            continue
        if action.kind == "parts":  # removed below, once the group's last record is gone
            continue
        if action.kind in ("output", "batch"):
            kept = _output_still_safe(service, action)
            if kept is not None:
                results.append(ActionResult(action, False, kept))
                continue
        if action.kind == "orphan":
            kept = _orphan_still_free(service, action)
            if kept is not None:
                results.append(ActionResult(action, False, kept, warning=True))
                continue
        try:
            if action.kind == "batch":
                delete_remote(service.client.delete_batch, action.target)
            elif action.kind in ("input", "output", "orphan"):
                delete_remote(service.client.delete_file, action.target, FILE_GONE)
            if action.record_key and action.kind != "orphan":
                done.setdefault(action.record_key, {}).setdefault(action.attempt, {})[action.kind] = True
            results.append(ActionResult(action, True))
        except ServiceError as exc:
            results.append(ActionResult(action, False, str(exc)))

    if done:
        service.store.update_many({key: _marker(marks) for key, marks in done.items() if key not in drops})
    busy: set[str] = set()
    dropped: list[Record] = []
    if drops:

        def hold(key: str):  # noqa: ANN202 - a store change
            def apply(rec: Record) -> None:
                if rec.get("local_state") == "submitting" and not batch_name(rec):
                    busy.add(key)
                    return
                if rec.get("local_state") == "queued" and not batch_name(rec):
                    rec["local_state"] = "cancelled"  # no poller takes it from here on
                dropped.append(dict(rec))

            return apply

        service.store.update_many({key: hold(key) for key in drops})
        removable = [key for key in drops if key not in busy]
        if removable:
            service.store.remove_many(removable)
    for key, positions in drops.items():
        for pos in positions:
            action = actions[pos]
            if key in busy:
                results[pos] = ActionResult(action, False, "it is being submitted right now; try again shortly")
            else:
                results[pos] = ActionResult(action, True)
    out = [r for r in results if r is not None]
    out.extend(_remove_freed_parts(service, dropped))
    return out


def _marker(marks: dict[int | None, dict[str, bool]]):  # noqa: ANN202 - a store change
    """Record what was deleted remotely: on the record (current attempt) or on its earlier attempts."""

    def mark(target: Record, kinds: dict[str, bool], when: str) -> None:
        gone = dict(remote_gone(target))
        gone.update(kinds)
        target["remote_deleted"] = gone
        target["remote_deleted_at"] = when

    def apply(rec: Record) -> None:
        when = now_iso()
        history = rec.get("previous_attempts")
        for attempt, kinds in marks.items():
            if attempt is None:
                mark(rec, kinds, when)
            elif isinstance(history, list) and attempt < len(history) and isinstance(history[attempt], dict):
                mark(history[attempt], kinds, when)

    return apply


def _remove_freed_parts(service: BatchService, dropped: list[Record]) -> list[ActionResult]:
    """Remove the part files of every group whose last record just went (best effort, see groups.py)."""
    gids = {str(r["group_id"]) for r in dropped if r.get("group_id")}
    if not gids:
        return []
    left = {r.get("group_id") for r in service.store.read_all()}
    root = service.parts_root()
    out: list[ActionResult] = []
    for gid in sorted(gids - left):
        parts = [r for r in dropped if r.get("group_id") == gid]
        folder = groups.parts_dir(root, gid)
        if folder is None or not folder.is_dir():
            continue
        action = Action("parts", str(folder), record_key(parts[0]), group_label(parts[0]))
        kept = groups.parts_dir_kept(parts, folder)
        if kept is not None:
            out.append(ActionResult(action, False, kept, warning=True))
            continue
        error = groups.remove_parts_dir(root, gid)
        out.append(ActionResult(action, error is None, error or "", warning=error is not None))
    return out


def _orphan_still_free(service: BatchService, action: Action) -> str | None:
    """None when the orphan upload may go, else why it is kept (the store is read again: a submission may have
    claimed the file since the plan was made)."""
    records = service.store.read_all()
    if action.target in referenced(records):
        return f"{action.target}: a record uses it now; kept"
    if action.token and action.token in claimed_tokens(records):
        return f"{action.target}: a submission in progress may still use it; kept"
    return None


def _output_still_safe(service: BatchService, action: Action) -> str | None:
    """The last check before a remote output (or a job that holds its answers inline) goes: the record as it is
    now, its local file read afresh."""
    if action.forced or not action.record_key:
        return None
    try:
        rec = service.store.get(action.record_key)
    except (OSError, StoreError) as exc:
        return f"cannot read the store to check its results again ({exc}); remote results kept"
    if rec is None:
        return None  # the record is gone: nothing recorded to protect (a record action removed it, or it never was)
    target = rec
    if action.attempt is not None:
        history = rec.get("previous_attempts")
        if not isinstance(history, list) or action.attempt >= len(history) or not isinstance(history[action.attempt], dict):
            return None
        target = history[action.attempt]
    if action.kind == "batch" and not job_holds_answers(target):
        return None
    problem = results_problem(target, fresh=True)
    if problem is None:
        return None
    if problem == "results are not downloaded yet":
        return f"results of {batch_name(target)} are not downloaded yet; kept"
    return problem  # the caller names the target already ("could not delete files/...: <why>")
