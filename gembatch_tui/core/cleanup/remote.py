"""Provides the remote-resources operations: list what this key has on the server, choose and run deletions,
adopt a remote job, cancel every active one.

Why here: the resources screen and the CLI `cleanup` must agree on what is safe to delete. The safe set is
never decided here: it is `cleanup.plan_cleanup(records)` restricted to what exists remotely; the flags that add
warnings and refusals on top of it (active, protected, orphan, expiring) and the rows come from
`core.cleanup.flags`, which importers read directly. No Textual, no Rich: plain data in, plain data out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup.plan import Action, ActionResult, DeletePlan, plan_cleanup, results_problem
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.core.api.gemini import BIG_PAGE, GeminiClient, snapshot_from_operation, valid_batch_name
from gembatch_tui.core.models import (
    Record,
    batch_id,
    batch_name,
    display_name,
    earlier_attempts,
    normalise_state,
    now_iso,
    record_key,
)
from gembatch_tui.core.cleanup.flags import (
    ACTIVE,
    ORPHAN,
    PROTECTED,
    SAFE,
    BatchRow,
    FileRow,
    Inventory,
    Row,
    active_inputs,
    classify,
    job_active,
)
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import StoreError

PAGE_SIZE = 100

PageProgress = Callable[[str, int, int], None]
"""(what: "files" or "batches", pages fetched, items so far)."""


# ----------------------------------------------------------------------------- fetching
def fetch_remote(
    client: GeminiClient,
    what: str,
    *,
    progress: PageProgress | None = None,
    cancel: threading.Event | None = None,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Every remote file (`what="files"`) or batch operation (`"batches"`), as the server's raw JSON."""
    # batches in pages of up to BIG_PAGE where the service serves them (files.list documents 100 at most)
    source = client.iter_files(page_size) if what == "files" else client.iter_batches(max(page_size, BIG_PAGE))
    items: list[dict[str, Any]] = []
    for item in source:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"listing {what} cancelled")
        items.append(item)
        if progress is not None and len(items) % page_size == 0:
            progress(what, len(items) // page_size, len(items))
    if progress is not None:
        progress(what, -(-len(items) // page_size) or 1, len(items))
    return items


# ----------------------------------------------------------------------------- what to delete
def safe_actions(inventory: Inventory, records: list[Record]) -> list[Action]:
    """The clean-up set: exactly `plan_cleanup` of the records and the listing (orphan uploads of this store
    included), restricted to what exists remotely."""
    present = inventory.names()
    plan = plan_cleanup(records, remote_files=inventory.remote_files, store_tag=inventory.store_tag,
                        in_use=active_inputs(inventory.remote_batches))
    return [a for a in plan.actions if a.target in present]


def cleanup_plan(
    service: BatchService,
    *,
    progress: PageProgress | None = None,
    cancel: threading.Event | None = None,
) -> DeletePlan:
    """What `cleanup` deletes: `plan_cleanup` of the store, plus the orphan uploads of this store found in the
    remote file listing. The listing is read before the store, so an upload that starts meanwhile is seen with
    its record (and kept). The batch listing is read only when there are orphan candidates (a file an unfinished
    job reads is never one). A listing that fails leaves the orphans out, with the reason in `refused`."""
    try:
        files = fetch_remote(service.client, "files", progress=progress, cancel=cancel)
    except ServiceError as exc:
        plan = plan_cleanup(service.store.read_all())
        plan.refused.append(f"orphan uploads not looked for: could not list remote files: {exc}")
        plan.unlisted = True
        return plan
    tag = upload_tokens.store_tag(service.store.path)
    records = service.store.read_all()
    plan = plan_cleanup(records, remote_files=files, store_tag=tag)
    orphans = [a for a in plan.actions if a.kind == "orphan"]
    if not orphans:
        return plan
    try:
        in_use = active_inputs(fetch_remote(service.client, "batches", progress=progress, cancel=cancel))
    except ServiceError as exc:
        plan.actions = [a for a in plan.actions if a.kind != "orphan"]
        plan.refused.append(f"orphan uploads kept: could not list remote batch jobs to check that none reads them: {exc}")
        plan.unlisted = True
        return plan
    plan.actions = [a for a in plan.actions if a.kind != "orphan" or a.target not in in_use]
    return plan


def actions_for(
    rows: Iterable[Row],
    records: list[Record],
    *,
    allow_protected: Iterable[str] = (),
) -> DeletePlan:
    """Deletions for the chosen rows. Active rows are always refused; protected rows unless named in
    `allow_protected` (the user confirmed that risk). Rows in the safe set use clean-up's own actions."""
    allowed = set(allow_protected)
    planned = {a.target: a for a in plan_cleanup(records).actions}
    by_key = {record_key(r): r for r in records}
    plan = DeletePlan()
    for row in sorted(rows, key=lambda r: (not r.is_batch, r.name)):
        rec = by_key.get(row.record_key or "")
        if ACTIVE in row.flags:
            plan.refused.append(f"{row.name}: in use by a pending or running job; cancel the job first")
            continue
        if PROTECTED in row.flags and row.name not in allowed:
            problem = results_problem(rec) if rec is not None else None
            if problem is None or problem == "results are not downloaded yet":
                plan.refused.append(f"{row.name}: holds results that are not downloaded; kept")
            else:
                plan.refused.append(f"{row.name}: {problem}")
            continue
        if row.name in planned:
            plan.actions.append(planned[row.name])
            continue
        label = display_name(rec) if rec is not None else (row.display_name or "not in the store")
        token = upload_tokens.token_of(row.display_name) if isinstance(row, FileRow) else None
        if isinstance(row, FileRow) and rec is None and ORPHAN in row.flags and SAFE in row.flags and token:
            # an orphan upload of this store: execute checks again that no record claims it
            plain = upload_tokens.plain_display_name(row.display_name) or "no display name"
            plan.actions.append(Action("orphan", row.name, "", plain, token=token))
            continue
        if isinstance(row, BatchRow):
            kind = "batch"
        else:
            kind = row.role if row.role in ("input", "output") else ("output" if row.source == "generated" else "input")
        # a protected row the user confirmed: execute does not hold it back again
        plan.actions.append(Action(kind, row.name, row.record_key or "", label, forced=PROTECTED in row.flags))
    return plan


@dataclass
class DeleteReport:
    """What a deletion did: one result per item, what was kept instead, and the inventory afterwards."""

    results: list[ActionResult]
    refused: list[str]
    inventory: Inventory
    records: list[Record]


def delete_rows(
    service: BatchService,
    inventory: Inventory,
    names: Iterable[str],
    now: Callable[[], datetime],
    *,
    allow_protected: Iterable[str] = (),
    progress: Callable[[int, int, str], None] | None = None,
) -> DeleteReport:
    """Delete the rows called `names`, one item at a time through `cleanup.execute` (the CLI's code path).

    The rows are flagged again against the store as it is now, so a job that became active or protected
    since the user looked is refused rather than deleted. One failure does not stop the others.
    """
    fresh = service.store.read_all()
    by_name = classify(inventory.remote_files, inventory.remote_batches, fresh, now(),
                       store_tag=inventory.store_tag).by_name()
    plan = actions_for([by_name[n] for n in names if n in by_name], fresh, allow_protected=allow_protected)
    results: list[ActionResult] = []
    for i, action in enumerate(plan.actions, start=1):
        if progress is not None:
            progress(i, len(plan.actions), action.target)
        try:
            results.extend(execute(service, [action]))
        except (ServiceError, StoreError, OSError) as exc:  # the store could not record it: still per item
            results.append(ActionResult(action, False, str(exc)))
    gone = {r.action.target for r in results if r.ok}
    records = service.store.read_all()
    after = classify([f for f in inventory.remote_files if f.get("name") not in gone],
                     [b for b in inventory.remote_batches if b.get("name") not in gone], records, now(),
                     store_tag=inventory.store_tag)
    return DeleteReport(results, plan.refused, after, records)


def list_inventory(
    service: BatchService,
    now: Callable[[], datetime],
    *,
    progress: PageProgress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Inventory, list[Record]]:
    """List both collections (blocking: call it from a worker), then flag them against the store."""
    files = fetch_remote(service.client, "files", progress=progress, cancel=cancel)
    batches = fetch_remote(service.client, "batches", progress=progress, cancel=cancel)
    records = service.store.read_all()
    return classify(files, batches, records, now(), store_tag=upload_tokens.store_tag(service.store.path)), records


def risk_of(row: Row) -> str:
    """What is lost if a protected row is deleted (rows with the same risk are listed together)."""
    if row.reason:
        return "the only good copy of results whose local file changed or went since it was verified"
    if isinstance(row, FileRow) and row.role == "output":
        return "the only copy of results that are not downloaded"
    if isinstance(row, BatchRow) and not row.in_store:
        return "finished jobs whose results nobody here has downloaded"
    return "part of a job whose results are not downloaded yet; deleting it stops their download"


# ----------------------------------------------------------------------------- adopt and cancel
def adopt(service: BatchService, operation: dict[str, Any]) -> Record:
    """Add a remote job that is not in the store, so it is polled and its results are fetched.

    The record has no `input_file` (we do not know where the input came from); its results go to
    `service.results_target`, i.e. the fallback results dir named after the batch id.
    """
    snap = snapshot_from_operation(operation)
    if not valid_batch_name(snap.name):  # the name becomes part of a results path: only what the service makes
        raise ServiceError(f"cannot adopt a job named {snap.name!r}: not a batch name")
    holder = earlier_attempts(service.store.read_all()).get(snap.name)
    if holder is not None:  # a second record of it would be polled, downloaded and cleaned up on its own
        raise ServiceError(f"{snap.name} is an earlier attempt of {display_name(holder)} (retried since): the store "
                           "tracks it there")
    stats = snap.stats or {}
    record: Record = {
        "batch": snap.to_batch_dict(),
        "count": int(stats.get("request_count") or 0),
        "display_name": snap.display_name or batch_id(snap.name),
        "adopted": True,
        "adopted_at": now_iso(),
    }
    if snap.model:
        record["model"] = snap.model
    if snap.input_file_name:
        record["uploaded_file_name"] = snap.input_file_name
    if snap.error and snap.error.get("message"):
        record["error"] = str(snap.error["message"])
    return service.store.add(record)


@dataclass
class CancelOutcome:
    name: str
    ok: bool
    state: str = ""
    message: str = ""


def cancel_all_active(service: BatchService, operations: list[dict[str, Any]] | None = None) -> list[CancelOutcome]:
    """Cancel every pending or running remote job (listed afresh unless `operations` is given), in the store
    or not; one failure does not stop the others. Jobs in the store get their new state recorded."""
    ops = operations if operations is not None else list(service.client.iter_batches(BIG_PAGE))
    known = {batch_name(r): r for r in service.store.read_all() if batch_name(r)}
    outcomes: list[CancelOutcome] = []
    changes: dict[str, Callable[[Record], None]] = {}
    for op in ops:
        snap = snapshot_from_operation(op)
        if not snap.name or not job_active(snap.state):
            continue
        try:
            service.client.cancel_batch(snap.name)
        except ServiceError as exc:
            outcomes.append(CancelOutcome(snap.name, False, snap.state, str(exc)))
            continue
        try:
            snap = service.client.get_batch(snap.name)
        except ServiceError as exc:
            outcomes.append(CancelOutcome(snap.name, True, snap.state, f"cancel requested; state not re-read: {exc}"))
            continue
        outcomes.append(CancelOutcome(snap.name, True, normalise_state(snap.state)))
        rec = known.get(snap.name)
        if rec is not None:
            changes[record_key(rec)] = _cancelled(snap)
    if changes:
        service.store.update_many(changes)
    return outcomes


def _cancelled(snap: Any) -> Callable[[Record], None]:
    def apply(rec: Record) -> None:
        rec["batch"] = snap.to_batch_dict(rec.get("batch"))
        rec["cancelled_at"] = now_iso()

    return apply


__all__ = [
    "CancelOutcome", "DeleteReport", "PAGE_SIZE", "PageProgress", "actions_for", "adopt", "cancel_all_active",
    "cleanup_plan", "delete_rows", "fetch_remote", "list_inventory", "risk_of", "safe_actions",
]
