"""Provides the cost side of `submit` and `prepare`: the estimate range shown by `--check`, and the spending cap
(`--max-cost USD`, else the config's `max_cost_usd`) that refuses a file before anything remote is created.

The figures and the refusal come from core.submit.cost_cap, and BatchService.submit holds the cap (this run's
CostCap is passed to it, so the files of one run count together); this module only words `--check`'s lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gembatch_tui.cli.output import UsageError
from gembatch_tui.core.api import pricing
from gembatch_tui.core.submit.cost_cap import CostCap, CostEstimate, CostPolicy, cap_from, check, estimate_or_why


def assumptions_of(settings: Any) -> pricing.OutputAssumptions:
    """The config's output ratios and thinking allowances; a bad value is a usage error naming the file."""
    try:
        return pricing.OutputAssumptions.from_config(settings.extra, str(settings.config_path or "config"))
    except pricing.ConfigError as exc:
        raise UsageError(str(exc)) from None


class SubmitCost:
    """One `submit` run: the cap the service holds for all its files (`cap`, with the config's prices and output
    assumptions in `policy`), and `--check`'s estimate of each file."""

    def __init__(self, settings: Any, prices: Mapping[str, pricing.ModelPrice], flag: float | None) -> None:
        configured = getattr(settings, "max_cost_usd", None)
        self.policy = CostPolicy(configured, prices, assumptions_of(settings))
        self.cap = CostCap(cap_from(flag, configured))
        self._current: CostEstimate | None = None

    def check(self, path: Path, model: str, check_only: bool) -> str | None:
        """`--check` only (a real submit is refused by the service): None when the file would go; else the line
        saying why not (over the cap, or unreadable)."""
        self._current = None
        if not check_only:
            return None
        if self.cap.active:
            refusal, estimate = check(path, model, self.cap, self.policy)
        else:
            estimate, refusal = estimate_or_why(path, model, self.policy)
        self._current = estimate
        if refusal is None and estimate is not None:
            self.cap.accept(estimate)  # as a real submit would, so a --check of several files sums them too
        return refusal

    def check_text(self, model: str, report: Any) -> str:
        """`~12-64 output tokens, cost ~$0.0001-$0.0004 at gemini-2.5-flash batch prices` for `--check`."""
        estimate = self._current
        if estimate is None:  # not estimated (cannot happen with check_only); say the input side at least
            cost = pricing.estimate_cost(model, report.est_input_tokens, 0, self.prices)
            return f"input cost ~{pricing.format_cost(cost)}"
        t = estimate.tokens
        text = f"~{t.billed_output_low:,}-{t.billed_output_high:,} output tokens"
        if t.thinking_high:
            text += " incl. thinking"
        if self.cap.active:
            text += f", within the cap of {pricing.format_cost(self.cap.cap)}"
        return f"{text}, {estimate.cost_text()}"


__all__ = ["SubmitCost", "assumptions_of"]
