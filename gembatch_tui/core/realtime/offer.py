"""Provides the offer the results browser can make for a job's failed and missing requests: how many, and what
sending them now through the interactive API would cost ("retry these 12 now, real-time, ~$0.004").

Why here and not in the screen: it reads the input file (a worker's job) and prices at interactive rates, which
only the real-time run knows it pays. The estimate is the submit estimate's (cost_cap.estimate_tokens: input as
estimated, output and thinking as a range) times pricing.INTERACTIVE_FACTOR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gembatch_tui.core.api import pricing
from gembatch_tui.core.results.index import ResultsIndex
from gembatch_tui.core.results.resubmit import select_retry
from gembatch_tui.core.submit.cost_cap import estimate_tokens
from gembatch_tui.core.submit.input_read import iter_requests


@dataclass(frozen=True)
class RetryOffer:
    count: int  # failed and missing requests a retry can fix
    usd: tuple[float, float] | None  # (low, high) at interactive prices; None for an unpriced model
    left_out: str = ""  # the requests rejected as written, not offered, and why (RetrySelection.note)
    left_out_short: str = ""  # the same in one line (RetrySelection.short_note)

    def text(self) -> str:
        """`retry these 12 now, real-time, ~$0.004` (the cost left out when unknown)."""
        cost = f", ~{pricing.format_cost_range(self.usd)}" if self.usd is not None else ""
        return f"retry {'this' if self.count == 1 else f'these {self.count:,}'} now, real-time{cost}"


def retry_offer(
    index: ResultsIndex,
    model: str,
    prices: Mapping[str, pricing.ModelPrice] | None = None,
    assumptions: pricing.OutputAssumptions | None = None,
) -> RetryOffer | None:
    """The offer for the failed and missing rows of `index`, or None when there is none to make (no such rows, or
    the input cannot be compared); one with count 0 and `left_out` when every failure is a request refused as
    written. Reads the input once; raises OSError when it cannot be read."""
    if index.input_path is None or not index.keys_compared:
        return None
    chosen = select_retry(index)
    wanted = set(chosen.lines)
    if not wanted:  # none, or only requests refused as written: nothing to offer, and (if so) why
        return RetryOffer(0, None, chosen.note(), chosen.short_note()) if chosen.rejected else None
    total = pricing.TokenRange()
    try:
        for line_no, _key, request in iter_requests(index.input_path):
            if line_no in wanted:
                total += estimate_tokens(request, model, assumptions)
    except ValueError:
        return None  # the input changed since: `run JOB --realtime` says why
    usd = pricing.cost_range(model, total, prices)
    if usd is not None:
        usd = (usd[0] * pricing.INTERACTIVE_FACTOR, usd[1] * pricing.INTERACTIVE_FACTOR)
    return RetryOffer(len(wanted), usd, chosen.note(), chosen.short_note())
