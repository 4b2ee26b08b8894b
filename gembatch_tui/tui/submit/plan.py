"""Provides SubmitPlan: what a submit run will do with each marked file, said before anything is sent.

Why: the confirm dialog must name every file the run will touch, the ones the service will skip as duplicates
(asked of BatchService.duplicate_of, the service's own check, never a copy of it) and the ones it will refuse
(validation problems, a model of the wrong kind, over the cost cap with the figures: the same CostCap rule over
the whole run that BatchService.submit then holds), each with its reason. No Textual here; `build_plan` reads the
files and the store, so call it from a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.api.pricing import ModelPrice
from gembatch_tui.core.counts import noun
from gembatch_tui.core.models import LOCAL_SUBMITTING, batch_name, record_state
from gembatch_tui.core.submit import groups
from gembatch_tui.core.submit.cost_cap import CostCap, CostEstimate, CostPolicy
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.validate import ValidationCancelled, ValidationReport
from gembatch_tui.tui.submit.estimates import EstimateCache
from gembatch_tui.tui.submit.model import ReportCache, compute_totals, human_count, split_estimate
from gembatch_tui.tui.submit.run import TABLE_REFUSAL, SubmitRequest, refusal

SUBMIT = "submit"
SKIP = "skip"
REFUSE = "refuse"


@dataclass(frozen=True)
class PlanEntry:
    """One marked file: `action` is submit, skip or refuse, and `note` says why (or what else happens)."""

    path: Path
    action: str
    note: str = ""
    requests: int = 0


@dataclass
class SubmitPlan:
    """Every marked file sorted into what the run will do with it, plus the totals of what will be sent."""

    request: SubmitRequest
    entries: list[PlanEntry] = field(default_factory=list)
    totals_line: str = ""
    cap: float | None = None
    """The cost cap the run is held to (the config's `max_cost_usd`), None without one."""

    def of(self, action: str) -> list[PlanEntry]:
        return [e for e in self.entries if e.action == action]

    @property
    def to_submit(self) -> int:
        return len(self.of(SUBMIT))

    def title(self) -> str:
        n, total = self.to_submit, len(self.entries)
        if n == 0:
            return f"Nothing to submit: {_count(total, 'marked file')} skipped or refused"
        return f"Submit {n} of {total} files?" if n != total else f"Submit {_count(n, 'file')}?"

    def counts_line(self) -> str:
        """`2 to submit · 1 duplicate skipped · 1 refused`."""
        parts = [f"{self.to_submit} to submit"]
        skipped, refused = len(self.of(SKIP)), len(self.of(REFUSE))
        if skipped:
            parts.append(f"{_count(skipped, 'duplicate')} skipped")
        if refused:
            parts.append(f"{refused} refused")
        return " · ".join(parts)

    def sections(self) -> list[tuple[str, str, list[tuple[Path, str]]]]:
        """(kind, heading, [(path, note)]) for each non-empty group, in the order submit, skip, refuse."""
        heads = {
            SUBMIT: "Will be submitted",
            SKIP: "Skipped: duplicates; the Duplicates option resends",  # of a job, or of another marked file
            REFUSE: "Refused",
        }
        out = []
        for action in (SUBMIT, SKIP, REFUSE):
            entries = self.of(action)
            if entries:
                head = heads[action].replace(";", f" ({len(entries)});") if ";" in heads[action] else \
                    f"{heads[action]} ({len(entries)})"
                out.append((action, head, [(e.path, e.note) for e in entries]))
        return out


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def duplicate_name(record: Any) -> str:
    """How the service names the job a duplicate was submitted as (a group, a batch, or one still being sent)."""
    return groups.describe(record) or batch_name(record) or "a job being submitted"


def plan_entry(
    path: Path,
    report: ValidationReport | None,
    existing: Any,
    request: SubmitRequest,
    limits: JobLimits | None,
    seen: dict[str, Path],
) -> PlanEntry:
    """Sort one file: refused (its first problem and how many more), skipped as a duplicate, or submitted.

    `existing` is what BatchService.duplicate_of answered; `seen` maps the content hashes already planned for
    submission to their file, since a second marked copy of the same content is a duplicate once the first is in.
    """
    if report is None:
        return PlanEntry(path, SUBMIT, "not checked yet: checked again before the upload")
    why = refusal(report, request.model)
    if why == [TABLE_REFUSAL]:
        return PlanEntry(path, REFUSE, TABLE_REFUSAL)  # not "(+N more)": its lines are not a batch file's problems
    if why:
        more = report.problem_count - 1 if not report.ok else 0
        return PlanEntry(path, REFUSE, why[0] + (f" (+{more} more)" if more > 0 else ""))
    if existing is not None and record_state(existing) == LOCAL_SUBMITTING and not existing.get("group_id"):
        return PlanEntry(path, SUBMIT, "an interrupted submission: resumed (skipped while another process is"
                         " still sending it)", report.request_count)
    if existing is not None and not request.force:
        return PlanEntry(path, SKIP, f"as {duplicate_name(existing)}", report.request_count)
    first = seen.get(report.sha256) if report.sha256 else None
    if first is not None and not request.force:
        return PlanEntry(path, SKIP, f"same content as {first.name}, also marked", report.request_count)
    if report.sha256:
        seen.setdefault(report.sha256, path)
    notes = [f"{human_count(report.request_count)} {noun(report.request_count, 'request')}"]
    if existing is not None:
        notes.append(f"again (already {duplicate_name(existing)})")
    split = split_estimate(report, limits, request.model)
    if split is not None:
        notes.append(split.line())
    return PlanEntry(path, SUBMIT, ", ".join(notes), report.request_count)


def _candidates(service: Any, reports: Mapping[Path, ValidationReport]) -> list[Any] | None:
    """The store's records (in store order) that name one of these files or hashes, read once: the service's
    duplicate_of still decides, over this short list instead of the whole store for every file. None without a
    store (duplicate_of then reads its own)."""
    store = getattr(service, "store", None)
    if store is None:
        return None
    wanted = {str(Path(p).absolute()) for p in reports} | {r.sha256 for r in reports.values() if r.sha256}
    fields = ("input_file", "group_input_file", "input_sha256", "group_input_sha256")
    return [rec for rec in store.read_all() if any(isinstance(rec.get(f), str) and rec[f] in wanted for f in fields)]


def build_plan(
    service: Any,
    request: SubmitRequest,
    cache: ReportCache,
    prices: Mapping[str, ModelPrice] | None,
    limits: JobLimits | None,
    cancel: threading.Event,
    *,
    checked: Callable[[Path, ValidationReport], object] | None = None,
    estimates: EstimateCache | None = None,
    policy: CostPolicy | None = None,
) -> SubmitPlan | None:
    """Check every file (from the cache when unchanged), ask the service about duplicates, sort each file.

    With `estimates` and `policy`, each file to submit is estimated whole (for the totals' range) and, under a
    cap, one that would take the run past it is refused with the figures, as the service would refuse it.
    Returns None when `cancel` was set. `checked` hears of each report, so the screen's totals can follow.
    Blocks (reads the files and the store): call it from a worker.
    """
    plan = SubmitPlan(request)
    reports: dict[Path, ValidationReport] = {}
    for path in request.paths:
        if cancel.is_set():
            return None
        try:
            reports[path] = cache.validate(path, cancel=cancel)
        except ValidationCancelled:
            return None
        if checked is not None:
            checked(path, reports[path])
    records = _candidates(service, reports)
    seen: dict[str, Path] = {}
    for path, report in reports.items():
        existing = None
        if report.ok and service is not None:
            source = Path(path).absolute()
            existing = (service.duplicate_of(source, report.sha256) if records is None
                        else service.duplicate_of(source, report.sha256, among=records))
        plan.entries.append(plan_entry(path, report, existing, request, limits, seen))
    found: dict[Path, CostEstimate | None] = {}
    if estimates is not None and policy is not None:
        plan.cap = policy.cap
        cap = CostCap(policy.cap)
        for i, entry in enumerate(plan.entries):
            if entry.action != SUBMIT or cancel.is_set():
                continue
            estimate = found[entry.path] = estimates.estimate(entry.path, request.model, policy, cancel)
            why = cap.refusal(estimate) if estimate is not None else None
            if why is not None:
                plan.entries[i] = PlanEntry(entry.path, REFUSE, why, entry.requests)
            elif estimate is not None:
                cap.accept(estimate)
        if cancel.is_set():
            return None
    sent = [e.path for e in plan.entries if e.action == SUBMIT]
    totals = compute_totals(sent, {p: reports[p] for p in sent}, request.model, prices, limits,
                            estimates=found if estimates is not None and policy is not None else None)
    if sent:
        plan.totals_line = " · ".join(totals.line().split(" · ")[1:4])  # requests, tokens, cost of what is sent
    return plan


__all__ = ["REFUSE", "SKIP", "SUBMIT", "PlanEntry", "SubmitPlan", "build_plan", "duplicate_name", "plan_entry"]
