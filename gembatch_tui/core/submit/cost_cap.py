"""Provides the whole-cost estimate of an input file and the spending cap that refuses a submission over it.

Why its own module: the cap must hold before anything remote exists (no upload, no job, no queued part), so
BatchService.submit asks here first (`check`), with the file the user named, before it splits, queues or uploads
it; every front end (CLI, REST service, submit screen, library) submits through it, so none keeps a copy of the
rule. `retry` asks `check` for each part it would queue again. The config's side (its `max_cost_usd`, prices and
output assumptions) is one CostPolicy. The estimate is a range (core/api/pricing: input tokens, output from `maxOutputTokens` or the model's
typical ratio, thinking allowances); the cap is compared with its HIGH end, so a refused file is one that could
cost more than the cap, and the cap counts every file of one run together (a `submit a.jsonl b.jsonl` under a
$5 cap never starts jobs whose estimates add up past $5). A split input is estimated whole: all its parts, the
ones that go now and the ones that wait in the local queue (waves.py), so the planner never queues past it.

The estimate reads the file once more, request by request (input_read.iter_requests), in bounded memory; callers
run it only when a cap is set or an estimate is asked for.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core.api import pricing
from gembatch_tui.core.errors import Cancelled
from gembatch_tui.core.submit import media
from gembatch_tui.core.submit.outcome import SubmitOutcome
from gembatch_tui.core.submit.input_read import iter_requests
from gembatch_tui.core.counts import counted

CAP_HINT = "--max-cost or max_cost_usd"
CANCEL_CHECK = 1024


@dataclass(frozen=True)
class CostEstimate:
    """The estimated tokens and batch cost (low, high USD; None for an unpriced model) of one input."""

    path: Path
    model: str
    tokens: pricing.TokenRange
    usd: tuple[float, float] | None

    @property
    def high(self) -> float | None:
        return None if self.usd is None else self.usd[1]

    def figures(self) -> str:
        """`1,000 requests, ~25,000 input tokens, ~12,500-264,000 output tokens (incl. thinking 0-0)`."""
        t = self.tokens
        low, high = t.billed_output_low, t.billed_output_high
        output = f"{low:,}" if low == high else f"{low:,}-{high:,}"
        text = f"{counted(t.requests, 'request')}, ~{t.input:,} input tokens, ~{output} output tokens"
        if t.thinking_high:
            text += f" (incl. thinking {t.thinking_low:,}-{t.thinking_high:,})"
        return text

    def cost_text(self) -> str:
        """`cost ~$0.12-$0.48 at gemini-2.5-flash batch prices` (or `cost n/a: no price for MODEL`)."""
        model = pricing.normalise_model(self.model)
        if self.usd is None:
            return f"cost n/a: no price for {model}"
        return f"cost ~{pricing.format_cost_range(self.usd)} at {model} batch prices"


def estimate_tokens(
    request: dict[str, Any], model: str, assumptions: pricing.OutputAssumptions | None = None
) -> pricing.TokenRange:
    """The token range of one request; `[[FILE:...]]` markers count as the media they name, not as text."""
    if media.find_refs(request):
        request = media.substitute(request, media.placeholder)
    return pricing.estimate_request_range(model, request, assumptions)


def estimate_file(
    path: str | os.PathLike[str],
    model: str,
    prices: Mapping[str, pricing.ModelPrice] | None = None,
    assumptions: pricing.OutputAssumptions | None = None,
    cancel: threading.Event | None = None,
) -> CostEstimate:
    """One streaming pass over a validated input file. Raises ValueError ("PATH:LINE: ...") at an invalid line
    (validate first), OSError when it cannot be read, Cancelled when `cancel` is set."""
    # estimate_tokens per request, summed; the output rule is asked once per generation config (requests alike
    # share it: pricing.OutputRule), which makes the pass about twice as fast as a rule per request.
    rules: dict[str, pricing.OutputRule] = {}
    sums = [0, 0, 0, 0, 0]  # input, output low, output high, thinking low, thinking high
    count = 0
    for _line, _key, request in iter_requests(path):
        if media.find_refs(request):
            request = media.substitute(request, media.placeholder)
        config = request.get("generationConfig", request.get("generation_config"))
        kind = "embed" if "content" in request and "contents" not in request else "generate"
        rule_key = kind if config is None else kind + json.dumps(config, sort_keys=True, default=str)
        rule = rules.get(rule_key)
        if rule is None:
            rule = rules[rule_key] = pricing.output_rule(model, request, assumptions)
        tokens = pricing.estimate_request_tokens(request)
        out_low, out_high, think_low, think_high = rule.tokens(tokens)
        sums[0] += tokens
        sums[1] += out_low
        sums[2] += out_high
        sums[3] += think_low
        sums[4] += think_high
        count += 1
        if cancel is not None and count % CANCEL_CHECK == 0 and cancel.is_set():
            raise Cancelled(str(path))
    total = pricing.TokenRange(*sums, count)
    return CostEstimate(Path(path), model, total, pricing.cost_range(model, total, prices))


def cap_from(flag: float | None, configured: float | None) -> float | None:
    """The cap of a run: `--max-cost` when given, else the config's `max_cost_usd`, else none."""
    return flag if flag is not None else configured


class CostCap:
    """A spending cap over one run: each accepted estimate's high end counts against it."""

    def __init__(self, cap: float | None) -> None:
        self.cap = cap
        self.accepted = 0.0
        self.refused = 0  # refusals so far: a run the cap refused everything in did nothing (exit 2)

    @property
    def active(self) -> bool:
        return self.cap is not None

    def refusal(self, estimate: CostEstimate) -> str | None:
        """Why this input may not go (one line with the figures and the cap), or None when it fits."""
        why = self._refusal(estimate)
        self.refused += why is not None
        return why

    def _refusal(self, estimate: CostEstimate) -> str | None:
        if self.cap is None:
            return None
        cap = pricing.format_cost(self.cap)
        if estimate.high is None:
            return (f"no price for {pricing.normalise_model(estimate.model)}, so the cost cap of {cap} ({CAP_HINT}) "
                    f"cannot be held; add the model under \"prices\" in the config ({estimate.figures()})")
        before = f", on top of {pricing.format_cost(self.accepted)} already accepted in this run" if self.accepted else ""
        if self.accepted + estimate.high > self.cap + 1e-12:
            note = pricing.over_cap_note(self.accepted + estimate.high, self.cap)
            return (f"estimated {estimate.cost_text()} is over the cap of {cap}{note} ({CAP_HINT}){before}; "
                    f"nothing was submitted ({estimate.figures()})")
        return None

    def accept(self, estimate: CostEstimate) -> None:
        if estimate.high is not None:
            self.accepted += estimate.high


@dataclass(frozen=True)
class CostPolicy:
    """The config's side of the cap: its `max_cost_usd` (None: no cap), price table and output assumptions."""

    cap: float | None = None
    prices: Mapping[str, pricing.ModelPrice] | None = None
    assumptions: pricing.OutputAssumptions | None = None

    @classmethod
    def from_config(cls, data: Mapping[str, Any], path: Path | None) -> CostPolicy:
        """From a loaded config object; raises pricing.ConfigError naming the file and the key."""
        from gembatch_tui.core.config import ConfigFileError, bounded

        where = str(path or "config")
        try:  # the settings' own rule for the key (core/config.py)
            cap = bounded(dict(data), "max_cost_usd", float, 0.0, where, "a number of US dollars")
        except ConfigFileError as exc:
            raise pricing.ConfigError(str(exc)) from None
        return cls(cap, pricing.load_price_table(path), pricing.OutputAssumptions.from_config(data, where))

    @classmethod
    def load(cls, path: Path | None) -> CostPolicy:
        """From a config file (missing: no cap, the built-in prices); raises pricing.ConfigError for a bad one."""
        if path is None:
            return cls()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise pricing.ConfigError(f"{path}: cannot read the config: {getattr(exc, 'strerror', None) or exc}") from None
        if not isinstance(data, dict):
            raise pricing.ConfigError(f"{path}: expected a JSON object at the top level")
        return cls.from_config(data, Path(path))


@dataclass
class CapRefused(SubmitOutcome):
    """A submission the cap refused before anything was created: status "error", `message` the one line with the
    figures and the cap. Callers that word refusals apart from failures (exit code 2, HTTP 400, the submit
    screen's "refused") tell it by its type; any other caller sees an ordinary error outcome."""

    estimate: CostEstimate | None = None


def check(
    path: str | os.PathLike[str],
    model: str,
    cap: CostCap,
    policy: CostPolicy,
    cancel: threading.Event | None = None,
) -> tuple[str | None, CostEstimate | None]:
    """(why the file may not go, its estimate): (None, None) with no cap; the refusal is None when it fits.
    An input that cannot be read again is refused ("cannot estimate the cost: ..."): a cap that cannot be
    checked is not held. Raises Cancelled when `cancel` is set."""
    if not cap.active:
        return None, None
    estimate, why = estimate_or_why(path, model, policy, cancel)
    return (why, None) if estimate is None else (cap.refusal(estimate), estimate)


def estimate_or_why(
    path: str | os.PathLike[str], model: str, policy: CostPolicy, cancel: threading.Event | None = None
) -> tuple[CostEstimate | None, str | None]:
    """(the estimate, None), or (None, "cannot estimate the cost: WHY") for a file that cannot be read again."""
    try:
        return estimate_file(path, model, policy.prices, policy.assumptions, cancel), None
    except (ValueError, OSError) as exc:  # changed since it was validated
        return None, f"cannot estimate the cost: {getattr(exc, 'strerror', None) or exc}"


__all__ = ["CAP_HINT", "CapRefused", "CostCap", "CostEstimate", "CostPolicy", "cap_from", "check", "estimate_file",
           "estimate_or_why", "estimate_tokens"]
