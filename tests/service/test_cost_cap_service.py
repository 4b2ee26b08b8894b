"""The spending cap held once, in BatchService.submit, against the emulator over the real SDK: a file over the
cap is refused with the figures before anything is uploaded, created or queued; one under it goes through; the
files of one run count together; a split input is estimated whole; the config's `max_cost_usd` is the default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.submit.cost_cap import CapRefused, CostCap, CostPolicy
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.emulator import Emulator
from tests.split.support import KEY, MODEL, make_service, text_requests, write_lines


@pytest.fixture
def emu() -> Emulator:
    with Emulator(api_key=KEY, job_seconds=30) as emulator:
        yield emulator


def test_over_the_cap_nothing_is_created(tmp_path: Path, emu: Emulator) -> None:
    src = write_lines(tmp_path / "in" / "a.jsonl", text_requests(20))
    service = make_service(emu, tmp_path)
    service.cost_policy = CostPolicy()
    refused = service.submit(src, model=MODEL, max_cost_usd=0.0)
    assert isinstance(refused, CapRefused) and refused.status == "error"
    assert "is over the cap of $0.00 (--max-cost or max_cost_usd); nothing was submitted" in refused.message
    assert refused.message.startswith("estimated cost ~$") and "20 requests" in refused.message
    assert refused.estimate is not None and refused.estimate.tokens.requests == 20
    assert service.store.read_all() == [] and emu.files_snapshot() == [] and emu.batches_snapshot() == []
    done = service.submit(src, model=MODEL, max_cost_usd=5.0)
    assert done.status == "submitted" and not isinstance(done, CapRefused)
    assert len(emu.batches_snapshot()) == 1


def test_the_config_cap_is_the_default_and_the_keyword_wins(tmp_path: Path, emu: Emulator) -> None:
    src = write_lines(tmp_path / "in" / "a.jsonl", text_requests(3))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"max_cost_usd": 0}))
    service = make_service(emu, tmp_path)
    service.cost_policy = CostPolicy.load(config)
    assert isinstance(service.submit(src, model=MODEL), CapRefused)
    assert service.submit(src, model=MODEL, max_cost_usd=1.0).status == "submitted"


def test_a_run_counts_its_files_together(tmp_path: Path, emu: Emulator) -> None:
    a = write_lines(tmp_path / "in" / "a.jsonl", text_requests(5, prefix="a"))
    b = write_lines(tmp_path / "in" / "b.jsonl", text_requests(5, prefix="b"))
    service = make_service(emu, tmp_path)
    service.cost_policy = CostPolicy()
    probe = CostCap(1e9)
    one = service.submit(a, model=MODEL, cost_run=probe)
    assert one.status == "submitted" and probe.accepted > 0
    run = CostCap(probe.accepted * 1.5)  # room for one file, not two
    assert service.submit(a, model=MODEL, cost_run=run, force=True).status == "submitted"
    second = service.submit(b, model=MODEL, cost_run=run)
    assert isinstance(second, CapRefused) and "already accepted in this run" in second.message
    assert not any(r.get("input_file") == str(b) for r in service.store.read_all())


def test_a_split_input_is_estimated_whole(tmp_path: Path, emu: Emulator) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(30))
    service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
    service.cost_policy = CostPolicy()
    whole = CostCap(1e9)
    service.submit(write_lines(tmp_path / "probe" / "big.jsonl", text_requests(30)), model=MODEL, cost_run=whole)
    before = len(emu.batches_snapshot())
    refused = service.submit(src, model=MODEL, max_cost_usd=whole.accepted * 0.9)  # each part alone would fit
    assert isinstance(refused, CapRefused) and "30 requests" in refused.message
    assert len(emu.batches_snapshot()) == before
    assert not any(r.get("group_input_file") == str(src) for r in service.store.read_all())


def test_a_bad_config_refuses_rather_than_spend(tmp_path: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from gembatch_tui.core import paths

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"max_cost_usd": "lots"}))
    monkeypatch.setattr(paths, "config_file", lambda: config)
    service = make_service(emu, tmp_path)
    refused = service.submit(write_lines(tmp_path / "in" / "a.jsonl", text_requests(2)), model=MODEL)
    assert isinstance(refused, CapRefused)
    assert refused.message == (f"the cost cap cannot be checked: {config}: max_cost_usd must be a number of US "
                               "dollars; nothing was submitted")
    assert emu.files_snapshot() == []


def test_the_file_estimate_is_the_sum_of_the_requests(tmp_path: Path) -> None:
    """estimate_file asks the output rule once per generation config: the same figures as request by request."""
    from gembatch_tui.core.api import pricing
    from gembatch_tui.core.submit.cost_cap import estimate_file, estimate_tokens
    from gembatch_tui.core.submit.input_read import iter_requests

    lines = [
        {"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 9}}},
        {"key": "b", "request": {"contents": [{"parts": [{"text": "long " * 80}]}],
                                 "generationConfig": {"thinkingConfig": {"thinkingBudget": 1000}}}},
        {"key": "c", "request": {"contents": [{"parts": [{"text": "x"}]}], "generation_config": {"max_output_tokens": 5}}},
        {"key": "d", "request": {"contents": [{"parts": [{"text": "y " * 300}]}]}},
        {"key": "e", "request": {"contents": "a plain string prompt"}},
        {"key": "f", "request": {"contents": [{"parts": [{"text": "z"}]}], "generationConfig": {"maxOutputTokens": 9}}},
    ]
    src = write_lines(tmp_path / "mixed.jsonl", lines)
    rules = pricing.OutputAssumptions.from_config({"output_ratio": {"gemini-2.5-pro": [0.1, 3]},
                                                   "thinking_tokens": {"*": [10, 20]}})
    for model in ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"):
        for assumptions in (None, rules):
            one_by_one = pricing.TokenRange()
            for _line, _key, request in iter_requests(src):
                one_by_one += estimate_tokens(request, model, assumptions)
            assert estimate_file(src, model, assumptions=assumptions).tokens == one_by_one
