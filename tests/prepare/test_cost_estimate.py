"""The cost estimate's output and thinking range (core/api/pricing) and the cap over a run (core/submit/cost_cap)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.api import pricing
from gembatch_tui.core.submit.cost_cap import CostCap, estimate_file


def _request(text: str = "x" * 400, **config: object) -> dict:
    request: dict = {"contents": [{"parts": [{"text": text}]}]}
    if config:
        request["generationConfig"] = config
    return request


def test_max_output_tokens_is_the_high_end_of_answer_and_thinking_together() -> None:
    r = pricing.estimate_request_range("gemini-2.5-flash", _request(maxOutputTokens=64))
    assert (r.input, r.output_high, r.thinking_high) == (100, 64, 0)
    assert r.billed_output_low == 64 and r.billed_output_high == 64  # 50 typical + 14 of thinking fit the cap
    r = pricing.estimate_request_range("gemini-2.5-flash", _request(max_output_tokens="4000"))  # snake, int64 string
    assert (r.output_low, r.output_high, r.thinking_low, r.thinking_high) == (50, 4000, 256, 0)


def test_without_a_cap_the_ratio_the_floor_and_the_thinking_allowance_apply() -> None:
    r = pricing.estimate_request_range("gemini-2.5-flash", _request("x" * 4000))
    assert (r.output_low, r.output_high) == (500, 2000)  # 1,000 input tokens x 0.5 / 2.0
    assert (r.thinking_low, r.thinking_high) == pricing.THINKING_TOKENS
    short = pricing.estimate_request_range("gemini-2.0-flash", _request("hi"))
    assert (short.output_low, short.output_high, short.thinking_high) == (16, 256, 0)  # floors; 2.0 does not think
    lite = pricing.estimate_request_range("gemini-2.5-flash-lite", _request())
    assert lite.thinking_high == 0
    off = pricing.estimate_request_range("gemini-2.5-pro", _request(thinkingConfig={"thinkingBudget": 0}))
    assert off.thinking_high == 0
    bounded = pricing.estimate_request_range("gemini-2.0-flash", _request(thinkingConfig={"thinking_budget": 900}))
    assert (bounded.thinking_low, bounded.thinking_high) == (0, 900)
    embed = pricing.estimate_request_range("gemini-embedding-001", {"content": {"parts": [{"text": "x" * 400}]}})
    assert (embed.input, embed.billed_output_high) == (100, 0)


def test_the_config_sets_ratios_and_allowances_per_model_and_says_which_value_is_wrong() -> None:
    rules = pricing.OutputAssumptions.from_config(
        {"output_ratio": {"*": 1, "gemini-2.5-flash": [0.1, 0.3]}, "thinking_tokens": {"gemini-2.5": [0, 100]}})
    r = pricing.estimate_request_range("gemini-2.5-flash-001", _request("x" * 4000), rules)
    assert (r.output_low, r.output_high, r.thinking_low, r.thinking_high) == (100, 300, 0, 100)
    r = pricing.estimate_request_range("gemini-2.0-flash", _request("x" * 4000), rules)
    assert (r.output_low, r.output_high) == (1000, 1000)
    with pytest.raises(pricing.ConfigError, match=r'cfg.json: output_ratio\["gemini-2.5-pro"\] must be a number or'):
        pricing.OutputAssumptions.from_config({"output_ratio": {"gemini-2.5-pro": [2, 1]}}, "cfg.json")
    with pytest.raises(pricing.ConfigError, match=r'thinking_tokens\["\*"\]'):
        pricing.OutputAssumptions.from_config({"thinking_tokens": "lots"}, "cfg.json")


def test_the_range_in_dollars_and_its_text() -> None:
    tokens = pricing.TokenRange(input=1_000_000, output_low=1_000_000, output_high=2_000_000, requests=10)
    assert pricing.cost_range("gemini-2.5-flash", tokens) == pytest.approx((0.15 + 1.25, 0.15 + 2.5))
    assert pricing.format_cost_range((1.4, 2.65)) == "$1.40-$2.65"
    assert pricing.format_cost_range((0.5, 0.5)) == "$0.50"
    assert pricing.cost_range("no-such-model", tokens) is None and pricing.format_cost_range(None) == "n/a"


def test_the_cap_counts_every_file_of_a_run_and_refuses_an_unpriced_model(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps({"key": f"k{i}", "request": _request(maxOutputTokens=1000)}) + "\n"
                            for i in range(100)))
    estimate = estimate_file(path, "gemini-2.5-flash")
    assert estimate.tokens.requests == 100 and estimate.tokens.billed_output_high == 100_000
    assert estimate.high == pytest.approx((100 * 100 * 0.15 + 100_000 * 1.25) / 1e6)  # $0.1265
    cap = CostCap(0.2)
    assert cap.refusal(estimate) is None
    cap.accept(estimate)
    second = cap.refusal(estimate)
    assert second is not None and second.startswith("estimated cost ~$0.04-$0.13 at gemini-2.5-flash batch prices "
                                                    "is over the cap of $0.20 (--max-cost or max_cost_usd), on top "
                                                    "of $0.13 already accepted in this run; nothing was submitted")
    unpriced = estimate_file(path, "my-tuned-model")
    assert "no price for my-tuned-model, so the cost cap of $0.20" in (CostCap(0.2).refusal(unpriced) or "")
    assert CostCap(None).refusal(unpriced) is None


def test_no_request_is_estimated_past_its_models_output_limit() -> None:
    huge = _request("x" * 2_000_000)  # 500,000 input tokens: the ratio alone says up to 1,000,000 output tokens
    r = pricing.estimate_request_range("gemini-2.5-flash", huge)
    assert r.input == 500_000 and r.output_high + r.thinking_high == 65_536 and r.output_high == 65_536
    assert r.output_low + r.thinking_low <= 65_536
    old = pricing.estimate_request_range("models/gemini-2.0-flash-001", huge)
    assert (old.output_low, old.output_high, old.thinking_high) == (8_192, 8_192, 0)
    asked = pricing.estimate_request_range("gemini-2.5-pro", _request(maxOutputTokens=1_000_000))
    assert asked.output_high == 65_536  # a cap above the limit is bounded by it
    small = pricing.estimate_request_range("gemini-2.5-flash", _request("x" * 4000))
    assert (small.output_high, small.thinking_high) == (2000, pricing.THINKING_TOKENS[1])  # far below: unchanged
    unknown = pricing.estimate_request_range("my-tuned-model", huge)
    assert unknown.output_high == 1_000_000  # no known limit: the ratio stands
    assert pricing.output_limit("gemini-3.1-pro-preview") == 65_536 and pricing.output_limit("gemini-3") is None
