"""Provides cancel, delete and clean-up of remote resources, with the rules that protect results.

The rule everything here follows: an output file is deleted only after its results are verified
on disk and the local file is still exactly what was verified (its size and sha256, see results_fingerprint.py:
checked when the plan is made and again, reading the file afresh, right before the delete), and nothing active is
deleted. A 404 on delete means the thing is already gone: success; for a file this tool recorded, so does a 403 (the
Files API answers 403 PERMISSION_DENIED "... or it may not exist" for a deleted or expired file).
Clean-up also removes orphan uploads: files whose display name carries this store's upload token
(upload_tokens.py) that no record uses and no submission in progress may still claim.
Earlier attempts of a retried part (`previous_attempts`, see retry_parts.py) are final and never succeeded, so
their remote job and files are planned like a finished job's. When a delete removes the last record of a split
input's group, its part files go too (best effort), unless they hold part results never merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.submit import groups
from gembatch_tui.core.results import fingerprint as results_fingerprint
from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    CANCELLED,
    LOCAL_SUBMITTING,
    SUCCEEDED,
    Record,
    batch_name,
    is_final,
    is_realtime,
    now_iso,
    record_key,
    record_state,
    remote_gone,
    short_state,
)
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import RecordNotFound, StoreError


KIND_NOUNS = {
    "batch": "remote batch job",
    "input": "uploaded input file",
    "output": "remote results file",
    "record": "local record",
    "parts": "local part files",
    "orphan": "orphan upload",
}
"""What each Action kind deletes, as the dialogs and the CLI name it."""


@dataclass
class Action:
    """One remote or local deletion, described so a confirmation dialog can say exactly what happens."""

    # "batch", "input", "output", "record", "parts" (a group's part files, removed by execute itself), "orphan" (an
    # upload of this store that no record uses: record_key "", `token` its upload token)
    kind: str
    target: str  # batches/..., files/..., the record key, or the parts directory
    record_key: str
    label: str
    attempt: int | None = None  # index into the record's `previous_attempts`: an earlier attempt's resource
    forced: bool = False  # an output the user chose to delete although its results are not safe on disk
    token: str | None = None  # an orphan upload's token (execute checks again that no record claims it)

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


def results_problem(record: Record, *, fresh: bool = False) -> str | None:
    """Why the job's remote results must be kept (a sentence), or None when they are safely on disk.

    None for a job that never produced results (not succeeded). For one that did: its results file must be verified
    and still be what was verified (results_fingerprint); a part of a split input is also safe when the group's
    merged file, which holds its results, is. `fresh` reads the files again instead of trusting the cache."""
    if record_state(record) != SUCCEEDED:
        return None
    problem = results_fingerprint.results_problem(record, fresh=fresh)
    if problem is not None and record.get("group_id") and results_fingerprint.group_problem(record, fresh=fresh) is None:
        return None
    return problem


def results_safe(record: Record) -> bool:
    """True when the job's results are verified on disk and unchanged since (or the job never produced any)."""
    return results_problem(record) is None


def _dest_of(record: Record) -> str | None:
    batch = record.get("batch")
    dest = batch.get("dest") if isinstance(batch, dict) else None
    name = dest.get("file_name") if isinstance(dest, dict) else None
    return name if isinstance(name, str) and name else None


def _job_holds_answers(record: Record) -> bool:
    """A succeeded job with no output file (its requests were sent inline): the job itself is the only remote copy
    of its answers, so it is deleted under the rule for outputs."""
    return record_state(record) == SUCCEEDED and _dest_of(record) is None


def _kept_reason(dest: str, name: str | None, problem: str) -> str:
    if problem == "results are not downloaded yet":
        return f"{dest}: results of {name} are not downloaded yet; kept"
    return f"{dest}: {problem}"


def _remote_gone(record: Record) -> dict[str, bool]:
    return remote_gone(record)


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
    dest = _dest_of(record)
    problem = results_problem(record)
    if remote_job and name and not gone.get("batch") and not is_realtime(record):  # a real-time run has no job
        if _job_holds_answers(record) and problem is not None and not allow_unsaved_results:
            plan.refused.append(_kept_reason(name, name, problem))  # an inline job: its answers live in the job
        else:
            plan.actions.append(Action("batch", name, key, label,
                                       forced=_job_holds_answers(record) and problem is not None))
    uploaded = record.get("uploaded_file_name")
    if input_file and uploaded and not gone.get("input") and not record.get("uploaded_file_deleted"):
        plan.actions.append(Action("input", uploaded, key, label))
    if output_file and dest and not gone.get("output"):
        if problem is None:
            plan.actions.append(Action("output", dest, key, label))
        elif allow_unsaved_results:
            plan.actions.append(Action("output", dest, key, label, forced=True))
        else:
            plan.refused.append(_kept_reason(dest, name, problem))
    plan.actions.extend(
        attempt_actions(record, str(label), remote_job=remote_job, input_file=input_file, output_file=output_file,
                        allow_unsaved_results=allow_unsaved_results, refused=plan.refused)
    )
    if local_record:
        if problem is None or allow_unsaved_results:
            plan.actions.append(Action("record", key, key, label))
        elif problem == "results are not downloaded yet":
            plan.refused.append(f"local record of {name}: results are not downloaded yet; kept")
        else:
            plan.refused.append(f"local record of {name}: {problem}")
    return plan


def attempt_actions(
    record: Record,
    label: str,
    *,
    remote_job: bool = True,
    input_file: bool = True,
    output_file: bool = True,
    allow_unsaved_results: bool = False,
    refused: list[str] | None = None,
) -> list[Action]:
    """The remote job and files of a retried part's earlier attempts that are not deleted yet.

    Earlier attempts never succeeded, so their outputs hold no results to keep; an attempt that somehow did is held
    to the same rule as a current one (its output kept, and the reason added to `refused`, unless allowed)."""
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
            problem = results_problem(attempt)
            if problem is None or allow_unsaved_results:
                out.append(Action("output", str(dest), key, label, attempt=i, forced=problem is not None))
            elif refused is not None:
                refused.append(_kept_reason(str(dest), name, problem))
    return out


def plan_cleanup(
    records: list[Record],
    *,
    remote_files: list[dict[str, Any]] | None = None,
    store_tag: str | None = None,
    in_use: Iterable[str] = (),
) -> DeletePlan:
    """The safe set: finished jobs whose results are on disk, all of their remote resources; and every earlier
    attempt of a retried part (final and never succeeded), whatever its current attempt is doing.

    A succeeded job whose verified results file has changed or gone since is left out whole, with the reason in
    `refused`. Given the remote file listing (`remote_files`, read before `records`), orphan uploads of this store
    are added too (see `orphan_upload_actions`; `in_use`: files a remote job that is not final reads)."""
    plan = DeletePlan()
    for rec in records:
        if not batch_name(rec) or not is_final(record_state(rec)) or not results_safe(rec):
            if batch_name(rec) and record_state(rec) == SUCCEEDED and rec.get("results_verified") \
                    and not is_realtime(rec):
                problem = results_problem(rec)
                gone = _remote_gone(rec)
                kept = _dest_of(rec) if not gone.get("output") else None
                if kept is None and _job_holds_answers(rec) and not gone.get("batch"):
                    kept = batch_name(rec)
                if kept and problem is not None:
                    plan.refused.append(_kept_reason(kept, batch_name(rec), problem))
            plan.actions.extend(attempt_actions(rec, _label(rec), refused=plan.refused))
            continue
        sub = plan_delete(rec, remote_job=True, input_file=True, output_file=True)
        plan.actions.extend(sub.actions)
        plan.refused.extend(sub.refused)
    if remote_files is not None:
        plan.actions.extend(orphan_upload_actions(records, remote_files, store_tag=store_tag, in_use=in_use))
    return plan


# ----------------------------------------------------------------------------- orphan uploads
CLAIMING_STATES = ("submitting", "queued")
"""A record in one of these local states may still take the upload its `upload_token` names."""


def _referenced(records: list[Record]) -> set[str]:
    """Every remote file name a record uses: its input, output and media, and those of its earlier attempts."""
    out: set[str] = set()

    def add(rec: Record) -> None:
        if isinstance(rec.get("uploaded_file_name"), str):
            out.add(rec["uploaded_file_name"])
        batch = rec.get("batch") if isinstance(rec.get("batch"), dict) else {}
        dest = batch.get("dest") if isinstance(batch.get("dest"), dict) else {}
        if isinstance(dest.get("file_name"), str):
            out.add(dest["file_name"])
        media = rec.get("media_file_names")
        if isinstance(media, list):
            out.update(str(m) for m in media if m)

    for rec in records:
        if not isinstance(rec, dict):
            continue
        add(rec)
        history = rec.get("previous_attempts")
        for attempt in history if isinstance(history, list) else []:
            if isinstance(attempt, dict):
                add(attempt)
    return out


def _claimed_tokens(records: list[Record]) -> set[str]:
    return {str(r["upload_token"]) for r in records
            if isinstance(r, dict) and r.get("upload_token") and r.get("local_state") in CLAIMING_STATES}


_STORE_TAG = re.compile(r"^[0-9a-f]{8}$")
"""What a store's tag looks like (upload_tokens.store_tag). Media uploads carry a token with a tag that is not hex
(`mediaupl`): they are shared between stores through the URI cache, so never any store's orphans."""


def our_tags(records: list[Record], store_tag: str | None) -> set[str]:
    """Whose uploads are provably ours: this store's tag; when the caller cannot name it (a screen re-flagging an
    old listing), the tags of the tokens this store's records hold, which only this store wrote."""
    if store_tag:
        tags = {store_tag}
    else:
        tags = {upload_tokens.tag_of(str(r["upload_token"])) for r in records
                if isinstance(r, dict) and isinstance(r.get("upload_token"), str) and r.get("upload_token")}
    return {t for t in tags if _STORE_TAG.match(t)}


def orphan_upload_actions(
    records: list[Record],
    remote_files: list[dict[str, Any]],
    *,
    store_tag: str | None = None,
    in_use: Iterable[str] = (),
) -> list[Action]:
    """Remote files this store uploaded that nothing uses: the display name's token has our tag, no record names
    the file, no record being submitted or queued holds its token, and no unfinished remote job reads it. A file
    without our token is never here (it may be someone else's)."""
    tags = our_tags(records, store_tag)
    if not tags:
        return []
    used = _referenced(records) | set(in_use)
    claimed = _claimed_tokens(records)
    out: list[Action] = []
    for raw in remote_files:
        name = raw.get("name") if isinstance(raw, dict) else None
        display = raw.get("displayName") if isinstance(raw, dict) else None
        token = upload_tokens.token_of(display)
        if not isinstance(name, str) or not name or token is None or upload_tokens.tag_of(token) not in tags:
            continue
        if name in used or token in claimed:
            continue
        label = upload_tokens.plain_display_name(str(display)) or "no display name"
        out.append(Action("orphan", name, "", label, token=token))
    return out


def _orphan_still_free(service: BatchService, action: Action) -> str | None:
    """None when the orphan upload may go, else why it is kept (the store is read again: a submission may have
    claimed the file since the plan was made)."""
    records = service.store.read_all()
    if action.target in _referenced(records):
        return f"{action.target}: a record uses it now; kept"
    if action.token and action.token in _claimed_tokens(records):
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
    if action.kind == "batch" and not _job_holds_answers(target):
        return None
    problem = results_problem(target, fresh=True)
    if problem is None:
        return None
    if problem == "results are not downloaded yet":
        return f"results of {batch_name(target)} are not downloaded yet; kept"
    return problem  # the caller names the target already ("could not delete files/...: <why>")


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
                _delete_remote(service.client.delete_batch, action.target)
            elif action.kind in ("input", "output", "orphan"):
                _delete_remote(service.client.delete_file, action.target, FILE_GONE)
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


BATCH_GONE = frozenset({404})
FILE_GONE = frozenset({403, 404})
"""Answers that mean "already gone". An unknown batch is 404; a deleted or expired file is 403 PERMISSION_DENIED
("... or it may not exist"), which for a file this tool recorded means gone, not forbidden. A 403 on a call that
names no file (list, create) is never taken for gone: those do not go through here."""


def _delete_remote(fn, target: str, gone: frozenset[int] = BATCH_GONE) -> None:  # noqa: ANN001
    """Delete; an answer in `gone` means someone (another clean-up, the 48 h expiry) already did: success."""
    try:
        fn(target)
    except ServiceError as exc:
        if exc.code in gone:
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
    if is_realtime(record):  # no batch job: its run is asked to stop through its record
        from gembatch_tui.core.realtime.control import request_cancel

        return request_cancel(service.store, record)
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
            _delete_remote(service.client.delete_file, uploaded, FILE_GONE)
        except ServiceError:
            pass  # it expires on its own; the record still names it, so a delete can retry
        else:
            service.store.update_many({key: lambda rec: rec.update(uploaded_file_deleted=True)})
    return CANCELLED
