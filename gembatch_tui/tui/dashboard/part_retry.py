"""Provides the part retry behind R (dashboard and job detail): each part is queued again only when its cost fits
the cap.

Why: a part queued again is spent again, so R holds the same cap as `gembatch-tui retry` (cli/retry.py): the
config's `max_cost_usd` with the prices and output assumptions BatchService.submit holds (`service.cost_policy`),
each part's file estimated before it is queued (core/submit/retry_parts.retry_under_cap, the rule `retry` uses),
the parts of one R counting together.
A part over the cap stays as it was (nothing queued, nothing created) and its outcome's message carries the
figures and the cap. A config that cannot be read refuses every part: a cap that cannot be checked is not held.
Blocking (the estimate reads each part file): call it from a worker thread.
"""

from __future__ import annotations

from typing import Any

from gembatch_tui.core.api.pricing import ConfigError
from gembatch_tui.core.models import Record, record_key
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit import retry_parts as rp
from gembatch_tui.core.submit.cost_cap import CostCap, CostPolicy


def _refused(part: Record, message: str) -> rp.RetryOutcome:
    return rp.RetryOutcome(record_key(part), str(part.get("group_id") or ""), int(part.get("group_part") or 0),
                           int(part.get("group_parts") or 0), False, message)


def _policy(service: Any) -> CostPolicy:
    """The service's cap, prices and output assumptions (no service: no cap); raises ConfigError for a bad config."""
    policy = getattr(service, "cost_policy", None) if service is not None else None
    return policy if isinstance(policy, CostPolicy) else CostPolicy()


def retry_under_cap(store: JobStore, service: Any, keys: list[str]) -> list[rp.RetryOutcome]:
    """One outcome per part of `keys` still in the store, in order: queued again, or why not (over the cap with
    the figures, a missing part file, a state that cannot be retried)."""
    by_key = {record_key(r): r for r in store.read_all()}
    parts = [by_key[k] for k in keys if k in by_key]
    try:
        policy = _policy(service)
    except ConfigError as exc:
        return [_refused(p, f"{rp.part_label(p)}: the cost cap cannot be checked: {exc}; nothing was queued")
                for p in parts]
    return rp.retry_under_cap(store, parts, CostCap(policy.cap), policy)


__all__ = ["retry_under_cap"]
