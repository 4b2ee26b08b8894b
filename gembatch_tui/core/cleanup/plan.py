"""Provides the delete and clean-up plans: what may be deleted for a job, and why the rest is kept.

The rule everything here follows: an output file is deleted only after its results are verified on disk and the
local file is still exactly what was verified (its size and sha256, see results_fingerprint.py), and nothing active
is deleted. A plan is only a list (`Action`s, and the reasons in `refused`): execute.py carries it out and checks
the results once more, reading the file afresh, right before an output goes.
Clean-up also plans orphan uploads: files whose display name carries this store's upload token (upload_tokens.py)
that no record uses and no submission in progress may still claim (upload_claims.py).
Earlier attempts of a retried part (`previous_attempts`, see retry_parts.py) are final and never succeeded, so
their remote job and files are planned like a finished job's. When a delete removes the last record of a split
input's group, its part files go too (`freed_parts`), unless they hold part results never merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.cleanup.upload_claims import claimed_tokens, our_tags, referenced
from gembatch_tui.core.models import (
    LOCAL_SUBMITTING,
    SUCCEEDED,
    Record,
    batch_name,
    is_final,
    is_realtime,
    record_key,
    record_state,
    remote_gone,
    short_state,
)
from gembatch_tui.core.results import fingerprint as results_fingerprint
from gembatch_tui.core.submit import groups


KIND_NOUNS = {
    "batch": "remote batch job",
    "input": "uploaded input file",
    "output": "remote results file",
    "record": "local record",
    "parts": "local part files",
    "orphan": "orphan upload",
}
"""What each Action kind deletes, as the dialogs and the CLI name it."""
LOCAL_KINDS = frozenset({"record", "parts"})
"""The kinds whose deletion makes no call to the service (no key is needed for them)."""


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
    unlisted: bool = False  # a listing the plan needed failed (the service, the key): `cleanup` exits 1


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


def dest_of(record: Record) -> str | None:
    """The job's remote results file (`batch.dest.file_name`); None for a job with none (inline answers)."""
    batch = record.get("batch")
    dest = batch.get("dest") if isinstance(batch, dict) else None
    name = dest.get("file_name") if isinstance(dest, dict) else None
    return name if isinstance(name, str) and name else None


def job_holds_answers(record: Record) -> bool:
    """A succeeded job with no output file (its requests were sent inline): the job itself is the only remote copy
    of its answers, so it is deleted under the rule for outputs."""
    return record_state(record) == SUCCEEDED and dest_of(record) is None


def _kept_reason(dest: str, name: str | None, problem: str) -> str:
    if problem == "results are not downloaded yet":
        return f"{dest}: results of {name} are not downloaded yet; kept"
    return f"{dest}: {problem}"


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
    gone = remote_gone(record)
    if not name and state == LOCAL_SUBMITTING:
        plan.refused.append(f"{label} is being submitted right now: wait until it has a job, then cancel it")
        return plan
    if name and not is_final(state) and remote_job:
        plan.refused.append(f"{name} is {short_state(state)} (as last polled): cancel it first, or `poll` it if it "
                            "may have ended since")
        return plan
    dest = dest_of(record)
    problem = results_problem(record)
    if remote_job and name and not gone.get("batch") and not is_realtime(record):  # a real-time run has no job
        if job_holds_answers(record) and problem is not None and not allow_unsaved_results:
            plan.refused.append(_kept_reason(name, name, problem))  # an inline job: its answers live in the job
        else:
            plan.actions.append(Action("batch", name, key, label,
                                       forced=job_holds_answers(record) and problem is not None))
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
        gone = remote_gone(attempt)
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
                gone = remote_gone(rec)
                kept = dest_of(rec) if not gone.get("output") else None
                if kept is None and job_holds_answers(rec) and not gone.get("batch"):
                    kept = batch_name(rec)
                if kept and problem is not None:
                    plan.refused.append(_kept_reason(kept, batch_name(rec), problem))
            plan.actions.extend(attempt_actions(rec, record_label(rec), refused=plan.refused))
            continue
        sub = plan_delete(rec, remote_job=True, input_file=True, output_file=True)
        plan.actions.extend(sub.actions)
        plan.refused.extend(sub.refused)
    if remote_files is not None:
        plan.actions.extend(orphan_upload_actions(records, remote_files, store_tag=store_tag, in_use=in_use))
    return plan


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
    used = referenced(records) | set(in_use)
    claimed = claimed_tokens(records)
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
            out.append(Action("parts", str(folder), record_key(parts[0]), group_label(parts[0])))
    return out


def group_label(record: Record) -> str:
    return str(record.get("group_display_name") or Path(str(record.get("group_input_file") or "")).name or "?")


def record_label(record: Record) -> str:
    """How a job is named in a refusal or an error: its own display name, its input file, or its key."""
    return str(record.get("display_name") or record.get("input_file") or record_key(record))
