"""Provides the spending cap of a real-time run: the submit estimate of its requests (core.submit.cost_cap), priced
at interactive prices (pricing.INTERACTIVE_FACTOR times the batch table), held against `--max-cost` or the config's
`max_cost_usd`, before anything is sent.

Why before a run starts only: a run that is continued was accepted when it started, and its answered keys are paid
for already; a cap is about what a command is about to spend.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gembatch_tui.core.api import pricing
from gembatch_tui.core.submit.cost_cap import CAP_HINT, estimate_file


def interactive_range(usd: tuple[float, float] | None) -> tuple[float, float] | None:
    return None if usd is None else (usd[0] * pricing.INTERACTIVE_FACTOR, usd[1] * pricing.INTERACTIVE_FACTOR)


def cap_refusal(
    path: Path,
    model: str,
    cap: float | None,
    prices: Mapping[str, pricing.ModelPrice] | None = None,
    assumptions: pricing.OutputAssumptions | None = None,
) -> str | None:
    """Why the requests of `path` may not be sent under `cap` (USD), or None when they fit or there is no cap.
    Reads the (validated) input once."""
    if cap is None:
        return None
    name = pricing.normalise_model(model)
    try:
        estimate = estimate_file(path, model, prices, assumptions)
    except (ValueError, OSError) as exc:  # changed since it was validated
        return f"cannot estimate the cost: {getattr(exc, 'strerror', None) or exc}"
    usd = interactive_range(estimate.usd)
    limit = pricing.format_cost(cap)
    if usd is None:
        return (f"no price for {name}, so the cost cap of {limit} ({CAP_HINT}) cannot be held; add the model under "
                f"\"prices\" in the config ({estimate.figures()})")
    if usd[1] > cap + 1e-12:
        return (f"estimated cost ~{pricing.format_cost_range(usd)} at {name} interactive prices is over the cap of "
                f"{limit}{pricing.over_cap_note(usd[1], cap)} ({CAP_HINT}); nothing was sent ({estimate.figures()})")
    return None
