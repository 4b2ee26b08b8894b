"""Provides the cost side of `submit` and `prepare`: the estimate range shown by `--check`, and the spending cap
(`--max-cost USD`, else the config's `max_cost_usd`) that refuses a file before anything remote is created.

The figures come from core.submit.cost_cap; this module only keeps one run's running total and words the lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gembatch_tui.cli.output import UsageError
from gembatch_tui.core.api import pricing
from gembatch_tui.core.submit.cost_cap import CostCap, CostEstimate, cap_from, estimate_file


def assumptions_of(settings: Any) -> pricing.OutputAssumptions:
    """The config's output ratios and thinking allowances; a bad value is a usage error naming the file."""
    try:
        return pricing.OutputAssumptions.from_config(settings.extra, str(settings.config_path or "config"))
    except pricing.ConfigError as exc:
        raise UsageError(str(exc)) from None


class SubmitCost:
    """One `submit` run: estimate a file when a cap is set or `--check` asks, refuse it over the cap, and count
    what was submitted or queued against the cap for the files after it."""

    def __init__(self, settings: Any, prices: Mapping[str, pricing.ModelPrice], flag: float | None) -> None:
        self.prices = prices
        self.assumptions = assumptions_of(settings)
        self.cap = CostCap(cap_from(flag, getattr(settings, "max_cost_usd", None)))
        self._current: CostEstimate | None = None

    def check(self, path: Path, model: str, check_only: bool) -> str | None:
        """None when the file may go on; else the line saying why not (over the cap, or unreadable)."""
        self._current = None
        if not (self.cap.active or check_only):
            return None
        try:
            estimate = estimate_file(path, model, self.prices, self.assumptions)
        except (ValueError, OSError) as exc:  # changed since it was validated
            return f"cannot estimate the cost: {getattr(exc, 'strerror', None) or exc}"
        self._current = estimate
        refusal = self.cap.refusal(estimate)
        if refusal is None and check_only:
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

    def submitted(self, status: str) -> None:
        """Count the file just handled against the cap when it was submitted or queued (not skipped or failed)."""
        if self._current is not None and status in ("submitted", "queued"):
            self.cap.accept(self._current)
        self._current = None


__all__ = ["SubmitCost", "assumptions_of"]
