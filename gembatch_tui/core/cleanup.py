"""Provides cancel, delete and clean-up of remote resources, with the rules that protect results.

The rule everything here follows: an output file is deleted only after its results are verified
on disk, and nothing active is deleted. A 404 on delete means the thing is already gone: success.
Earlier attempts of a retried part (`previous_attempts`, see retry_parts.py) are final and never succeeded, so
their remote job and files are planned like a finished job's. When a delete removes the last record of a split
input's group, its part files go too (best effort), unless they hold part results never merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gembatch_tui.core import groups
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    CANCELLED,
    LOCAL_SUBMITTING,
    SUCCEEDED,
    Record,
    batch_name,
    is_final,
    record_state,
    short_state,
)
from gembatch_tui.core.service import BatchService, now_iso
from gembatch_tui.core.store import RecordNotFound, record_key


KIND_NOUNS = {
    "batch": "remote batch job",
    "input": "uploaded input file",
    "output": "remote results file",
    "record": "local record",
    "parts": "local part files",
}
"""What each Action kind deletes, as the dialogs and the CLI name it."""


@dataclass
class Action:
    """One remote or local deletion, described so a confirmation dialog can say exactly what happens."""

    kind: str  # "batch", "input", "output", "record", "parts" (a group's part files, removed by execute itself)
    target: str  # batches/..., files/..., the record key, or the parts directory
    record_key: str
    label: str
    attempt: int | None = None  # index into the record's `previous_attempts`: an earlier attempt's resource

    def describe(self) -> str:
        what = KIND_NOUNS[self.kind]
        earlier = ", earlier attempt" if self.attempt is not None else ""
        return f"{what} {self.target} ({self.label}{earlier})"


@dataclass
class ActionResult:
    action: Action
    ok: bool
    message: str = ""
    warning: bool = False  # not done, but only a best-effort extra (part files): the delete itself did not fail


@dataclass
class DeletePlan:
    actions: list[Action] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # reasons why something was left out


def results_safe(record: Record) -> bool:
    """True when the job's results are verified on disk (or the job never produced any)."""
    if record_state(record) != SUCCEEDED:
        return True
    path = record.get("results_file")
    return bool(path and record.get("results_verified") and Path(path).is_file())


def _remote_gone(record: Record) -> dict[str, bool]:
    gone = record.get("remote_deleted")
    return gone if isinstance(gone, dict) else {}


def plan_delete(
    record: Record,
    *,
    remote_job: bool = True,
    input_file: bool = True,
    output_file: bool = True,
    local_record: bool = False,
    allow_unsaved_results: bool = False,
) -> DeletePlan:
    plan = DeletePlan()
    key = record_key(record)
    name = batch_name(record)
    label = record.get("display_name") or (record.get("batch") or {}).get("display_name") or Path(
        str(record.get("input_file") or key)
    ).name
    state = record_state(record)
    gone = _remote_gone(record)
    if not name and state == LOCAL_SUBMITTING:
        plan.refused.append(f"{label} is being submitted right now: wait until it has a job, then cancel it")
        return plan
    if name and not is_final(state) and remote_job:
        plan.refused.append(f"{name} is {short_state(state)}: cancel it first")
        return plan
    if remote_job and name and not gone.get("batch"):
        plan.actions.append(Action("batch", name, key, label))
    uploaded = record.get("uploaded_file_name")
    if input_file and uploaded and not gone.get("input") and not record.get("uploaded_file_deleted"):
        plan.actions.append(Action("input", uploaded, key, label))
    dest = ((record.get("batch") or {}).get("dest") or {}).get("file_name")
    if output_file and dest and not gone.get("output"):
        if results_safe(record) or allow_unsaved_results:
            plan.actions.append(Action("output", dest, key, label))
        else:
            plan.refused.append(f"{dest}: results of {name} are not downloaded yet; kept")
    plan.actions.extend(
        attempt_actions(record, str(label), remote_job=remote_job, input_file=input_file, output_file=output_file)
    )
    if local_record:
        if results_safe(record) or allow_unsaved_results:
            plan.actions.append(Action("record", key, key, label))
        else:
            plan.refused.append(f"local record of {name}: results are not downloaded yet; kept")
    return plan


def attempt_actions(
    record: Record, label: str, *, remote_job: bool = True, input_file: bool = True, output_file: bool = True
) -> list[Action]:
    """The remote job and files of a retried part's earlier attempts that are not deleted yet."""
    out: list[Action] = []
    key = record_key(record)
    history = record.get("previous_attempts")
    for i, attempt in enumerate(history if isinstance(history, list) else []):
        if not isinstance(attempt, dict):
            continue
        gone = _remote_gone(attempt)
        batch = attempt.get("batch") if isinstance(attempt.get("batch"), dict) else {}
        name = batch.get("name")
        if remote_job and isinstance(name, str) and name and not gone.get("batch"):
            out.append(Action("batch", name, key, label, attempt=i))
        uploaded = attempt.get("uploaded_file_name")
        if input_file and uploaded and not gone.get("input") and not attempt.get("uploaded_file_deleted"):
            out.append(Action("input", str(uploaded), key, label, attempt=i))
        dest = (batch.get("dest") or {}).get("file_name") if isinstance(batch.get("dest"), dict) else None
        if output_file and dest and not gone.get("output"):
            out.append(Action("output", str(dest), key, label, attempt=i))
    return out


def plan_cleanup(records: list[Record]) -> DeletePlan:
    """The safe set: finished jobs whose results are on disk, all of their remote resources; and every earlier
    attempt of a retried part (final and never succeeded), whatever its current attempt is doing."""
    plan = DeletePlan()
    for rec in records:
        if not batch_name(rec) or not is_final(record_state(rec)) or not results_safe(rec):
            plan.actions.extend(attempt_actions(rec, _label(rec)))
            continue
        sub = plan_delete(rec, remote_job=True, input_file=True, output_file=True)
        plan.actions.extend(sub.actions)
    return plan


def freed_parts(records: list[Record], actions: list[Action], parts_root: Path) -> list[Action]:
    """Part directories `execute(actions)` will remove: groups whose every record the actions delete (for a
    confirmation to list; execute decides again from the store as it is then)."""
    dropped = {a.record_key for a in actions if a.kind == "record"}
    out: list[Action] = []
    for gid, parts in groups.by_group(records).items():
        folder = groups.parts_dir(parts_root, gid)
        if folder is None or not folder.is_dir() or any(record_key(p) not in dropped for p in parts):
            continue
        if groups.parts_dir_kept(parts, folder) is None:
            out.append(Action("parts", str(folder), record_key(parts[0]), _group_label(parts[0])))
    return out


def _group_label(record: Record) -> str:
    return str(record.get("group_display_name") or Path(str(record.get("group_input_file") or "")).name or "?")


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
        try:
            if action.kind == "batch":
                _delete_remote(service.client.delete_batch, action.target)
            elif action.kind in ("input", "output"):
                _delete_remote(service.client.delete_file, action.target)
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
        gone = dict(_remote_gone(target))
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
        action = Action("parts", str(folder), record_key(parts[0]), _group_label(parts[0]))
        kept = groups.parts_dir_kept(parts, folder)
        if kept is not None:
            out.append(ActionResult(action, False, kept, warning=True))
            continue
        error = groups.remove_parts_dir(root, gid)
        out.append(ActionResult(action, error is None, error or "", warning=error is not None))
    return out


def _delete_remote(fn, target: str) -> None:  # noqa: ANN001
    try:
        fn(target)
    except ServiceError as exc:
        if exc.code == 404:
            return
        raise


def cancel_job(service: BatchService, record: Record) -> str:
    """Cancel a pending or running job and record its new state; returns that state.

    A record still waiting in the local queue (no remote job yet) is cancelled locally: it becomes
    `local_state: "cancelled"`, which reads as CANCELLED (final), so the poller never submits it; an input it
    had already uploaded (kept after a 429) is deleted. One the poller took for submission meanwhile is
    cancelled remotely once it has its job."""
    name = batch_name(record)
    if not name:
        return _cancel_queued(service, record)
    state = record_state(record)
    if is_final(state):
        raise ServiceError(f"{name} is already {short_state(state)}; nothing to cancel")
    service.client.cancel_batch(name)
    snap = service.client.get_batch(name)

    def apply(rec: Record) -> None:
        rec["batch"] = snap.to_batch_dict(rec.get("batch"))
        rec["cancelled_at"] = now_iso()

    service.store.update(record_key(record), apply)
    return snap.state


def _label(record: Record) -> str:
    return str(record.get("display_name") or record.get("input_file") or record_key(record))


def _cancel_queued(service: BatchService, record: Record) -> str:
    key = record_key(record)
    seen: list[Record] = []

    def apply(rec: Record) -> None:
        seen.append(dict(rec))
        if rec.get("local_state") != "queued" or batch_name(rec):
            return
        rec["local_state"] = "cancelled"
        rec["cancelled_at"] = now_iso()
        for stale in ("queued_reason", "retry_after", "submit_pid", "claimed_at"):
            rec.pop(stale, None)

    try:
        service.store.update(key, apply)
    except RecordNotFound:
        raise ServiceError(f"{_label(record)}: no longer in the store") from None
    current = seen[0]
    if batch_name(current):  # submitted since the caller read it: cancel the remote job
        return cancel_job(service, current)
    local = current.get("local_state")
    if local == "submitting":
        raise ServiceError(f"{_label(record)}: is being submitted right now; cancel it once it has a job name")
    if local != "queued":
        state = record_state(current)
        raise ServiceError(f"{_label(record)}: has no remote job to cancel ({short_state(state)})")
    uploaded = current.get("uploaded_file_name")
    if uploaded and not current.get("uploaded_file_deleted"):
        try:
            _delete_remote(service.client.delete_file, uploaded)
        except ServiceError:
            pass  # it expires on its own; the record still names it, so a delete can retry
        else:
            service.store.update_many({key: lambda rec: rec.update(uploaded_file_deleted=True)})
    return CANCELLED
