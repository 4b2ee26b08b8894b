"""Provides the submit screen's whole-cost estimates (input + output, thinking where the model thinks) and the
words for them: the preview's range, the totals' sum, and whether the cap (the config's `max_cost_usd`, held by
BatchService.submit) lets a file through.

Why a cache of its own: an estimate reads the file once more (core/submit/cost_cap.estimate_file) and depends on
the model, so it is kept per (file as it is now, model); changing the model back shows the old figure at once.
No Textual here; `EstimateCache.estimate` reads the file, so call it from a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from gembatch_tui.core.api import pricing
from gembatch_tui.core.errors import Cancelled
from gembatch_tui.core.submit.cost_cap import CostCap, CostEstimate, CostPolicy, estimate_or_why
from gembatch_tui.tui.submit.model import StatKey, stat_key


class EstimateCache:
    """Cost estimates by (path, model), each valid while the file's size and mtime are unchanged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[Path, str], tuple[StatKey | None, CostEstimate]] = {}

    def latest(self, path: Path, model: str) -> CostEstimate | None:
        """The last estimate of this file for this model, without looking at the disk (UI thread)."""
        with self._lock:
            found = self._data.get((path, model))
        return found[1] if found is not None else None

    def estimate(
        self, path: Path, model: str, policy: CostPolicy, cancel: threading.Event | None = None
    ) -> CostEstimate | None:
        """The estimate (from the cache when the file is unchanged); None when cancelled or unreadable."""
        key = stat_key(path)
        with self._lock:
            found = self._data.get((path, model))
        if found is not None and key is not None and found[0] == key:
            return found[1]
        try:
            estimate, _why = estimate_or_why(path, model, policy, cancel)
        except Cancelled:
            return None
        if estimate is not None:
            with self._lock:
                self._data[(path, model)] = (key, estimate)
        return estimate


def cost_line(estimate: CostEstimate, thinks: bool | None = None) -> str:
    """`~$0.0012-$0.0048 at batch prices` and, on a line of its own, `gemini-2.5-flash: input + output + thinking`:
    two short lines fit the preview pane at 80 columns, where one long one wrapped mid-phrase."""
    model = pricing.normalise_model(estimate.model)
    if estimate.usd is None:
        return f"No price known for {model}"
    what = "input + output"
    if thinks if thinks is not None else estimate.tokens.thinking_high > 0:
        what += " + thinking"
    return f"~{pricing.format_cost_range(estimate.usd)} at batch prices\n{model}: {what}"


def tokens_line(estimate: CostEstimate) -> str:
    """`~12-2,600 output tokens` and, when the model thinks, `(0-8,192 of them thinking)` on a line of its own."""
    t = estimate.tokens
    low, high = t.billed_output_low, t.billed_output_high
    text = f"~{low:,} output tokens" if low == high else f"~{low:,}-{high:,} output tokens"
    if t.thinking_high:
        text += f"\n({t.thinking_low:,}-{t.thinking_high:,} of them thinking)"
    return text


def cap_verdict(estimate: CostEstimate, cap: float | None) -> tuple[bool, str] | None:
    """(over, line) for a file alone against the cap, or None without a cap."""
    if cap is None:
        return None
    refusal = CostCap(cap).refusal(estimate)
    if refusal is not None:
        return True, f"Over the cost cap of {pricing.format_cost(cap)} (max_cost_usd): will be refused"
    return False, f"Within the cost cap of {pricing.format_cost(cap)}"


def sum_range(estimates: Iterable[CostEstimate | None]) -> tuple[float, float] | None:
    """The low and high ends added up; None when one is missing or unpriced."""
    low = high = 0.0
    for estimate in estimates:
        if estimate is None or estimate.usd is None:
            return None
        low += estimate.usd[0]
        high += estimate.usd[1]
    return low, high


def range_text(costs: tuple[float, float] | None, pending: bool = False) -> str:
    """`~$0.01-$0.04`, `cost …` while estimating, or `cost n/a`."""
    if costs is None:
        return "cost …" if pending else "cost n/a"
    text = pricing.format_cost_range(costs)
    return text if text.startswith("<") else "~" + text


def estimates_for(cache: EstimateCache, paths: Iterable[Path], model: str) -> Mapping[Path, CostEstimate | None]:
    return {p: cache.latest(p, model) for p in paths}


__all__ = ["EstimateCache", "cap_verdict", "cost_line", "estimates_for", "range_text", "sum_range", "tokens_line"]
