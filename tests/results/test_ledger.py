"""Token usage and cost, against numbers worked out by hand from the files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.results.results_helpers import MESSY_USAGE, copy_example

from gembatch_tui.core.results import ledger
from gembatch_tui.core.api.pricing import DEFAULT_PRICES, ModelPrice
from gembatch_tui.core.store import JobStore

# From the real example results (gemini-2.5-flash-lite): usageMetadata of request_1..5.
BASIC = {"prompt": 14 + 14 + 13 + 18 + 21, "output": 900 + 760 + 545 + 757 + 442, "total": 914 + 774 + 558 + 775 + 463}
STRUCTURED = {"prompt": 11 + 33 + 67 + 36 + 54, "output": 42 + 98 + 107 + 87 + 110, "total": 53 + 131 + 174 + 123 + 164}
# Batch price of gemini-2.5-flash-lite: $0.05 in, $0.20 out per 1M tokens.
BASIC_COST = (80 * 0.05 + 3404 * 0.20) / 1e6  # 0.0006848
STRUCTURED_COST = (201 * 0.05 + 444 * 0.20) / 1e6  # 0.00009885


@pytest.mark.parametrize(("name", "want"), [("basic", BASIC), ("structured-output", STRUCTURED)])
def test_usage_of_the_real_examples(tmp_path: Path, name: str, want: dict[str, int]) -> None:
    record = copy_example(tmp_path, name)
    usage = ledger.usage_from_file(record["results_file"])
    assert (usage.prompt, usage.output, usage.total) == (want["prompt"], want["output"], want["total"])
    assert (usage.thinking, usage.cached, usage.ok, usage.errors, usage.flagged) == (0, 0, 5, 0, 0)
    assert usage.complete and usage.model_version == "gemini-2.5-flash-lite-preview-06-17"


def test_hand_numbers() -> None:
    assert BASIC == {"prompt": 80, "output": 3404, "total": 3484}
    assert STRUCTURED == {"prompt": 201, "output": 444, "total": 645}


def test_cost_at_batch_prices(tmp_path: Path) -> None:
    usage = ledger.usage_from_file(copy_example(tmp_path, "basic")["results_file"])
    assert usage.cost("models/gemini-2.5-flash-lite") == pytest.approx(0.0006848)
    assert usage.cost(None) == pytest.approx(BASIC_COST)  # priced by modelVersion when the job has no model
    assert usage.cost("gemini-unknown-model") is None
    # the user's price table wins
    prices = dict(DEFAULT_PRICES, **{"gemini-2.5-flash-lite": ModelPrice(input=1.0, output=2.0)})
    assert usage.cost("gemini-2.5-flash-lite", prices) == pytest.approx((80 * 1.0 + 3404 * 2.0) / 1e6)


def test_thinking_is_charged_as_output_and_missing_usage_is_flagged(messy_job: dict[str, Any]) -> None:
    usage = ledger.usage_from_file(messy_job["results_file"])
    got = {k: getattr(usage, k) for k in MESSY_USAGE}
    assert got == MESSY_USAGE == {"prompt": 21, "output": 36, "thinking": 5, "cached": 3, "total": 62,
                                  "ok": 5, "errors": 1, "flagged": 1}
    assert not usage.complete
    assert usage.flags_text() == "1 response without usage"
    # gemini-2.5-flash batch: $0.15 in, $1.25 out; output = candidates + thinking = 41
    assert usage.cost("gemini-2.5-flash") == pytest.approx((21 * 0.15 + 41 * 1.25) / 1e6)


def test_zero_usage_is_flagged_not_free(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [
        {"key": "a", "response": {"usageMetadata": {}}},
        {"key": "b", "response": {"usageMetadata": {"promptTokenCount": 0, "totalTokenCount": 0}}},
        {"key": "c", "response": {"embedding": {"values": [0.1, 0.2]}}},
        {"key": "d", "response": {"usage_metadata": {"prompt_token_count": 4, "candidates_token_count": 6}}},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + "garbage\n", encoding="utf-8")
    usage = ledger.usage_from_file(path)
    assert (usage.ok, usage.flagged, usage.invalid) == (4, 3, 1)
    assert (usage.prompt, usage.output, usage.total) == (4, 6, 10)  # snake_case read too; total = sum when absent


def test_dict_round_trip_and_freshness(messy_job: dict[str, Any]) -> None:
    path = Path(messy_job["results_file"])
    usage = ledger.usage_from_file(path)
    data = usage.to_dict()
    assert json.loads(json.dumps(data)) == data
    back = ledger.Usage.from_dict(data)
    assert back is not None and back.to_dict() == data
    assert ledger.is_fresh(back, path)
    assert ledger.Usage.from_dict({"prompt": "many"}) is None and ledger.Usage.from_dict(None) is None
    record = dict(messy_job, usage=data)
    assert not ledger.needs_usage(record)
    assert ledger.usage_for_record(record).to_dict() == data
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"key": "late", "response": {"usageMetadata": {"promptTokenCount": 100, "totalTokenCount": 100}}}\n')
    os.utime(path, ns=(1, 1))
    assert ledger.needs_usage(record)
    assert ledger.usage_for_record(record).prompt == 121


def test_store_totals_sum_recorded_usage_and_flag_unknowns(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    basic = copy_example(tmp_path / "b", "basic")
    structured = copy_example(tmp_path / "s", "structured-output")
    basic["usage"] = ledger.usage_from_file(basic["results_file"]).to_dict()
    structured["usage"] = ledger.usage_from_file(structured["results_file"]).to_dict()
    complete = ledger.store_totals([basic, structured])
    assert complete.complete and complete.jobs == 2
    assert (complete.usage.prompt, complete.usage.output) == (80 + 201, 3404 + 444)
    assert complete.cost == pytest.approx(BASIC_COST + STRUCTURED_COST)  # 0.00078365
    assert complete.cost_text() == "$0.0008"

    no_usage_yet = dict(messy_job, id="m2")  # succeeded, results on disk, usage never computed
    running = {"id": "r", "batch": {"name": "batches/r", "state": "JOB_STATE_RUNNING"}}
    odd = dict(basic, id="odd", model="models/some-new-model", batch={"model": "models/some-new-model"})
    totals = ledger.store_totals([basic, structured, no_usage_yet, running, odd])
    assert totals.unknown_jobs == ["m2"] and totals.unpriced_jobs == ["odd"]
    assert totals.jobs == 3 and totals.usage.prompt == 80 + 201 + 80
    assert totals.cost == pytest.approx(BASIC_COST + STRUCTURED_COST)
    assert not totals.complete and totals.cost_text() == "≥ $0.0008"
    assert totals.flags_text() == "1 job without usage, 1 job with an unpriced model"


class CountingStore(JobStore):
    """Counts the store's writes (each rewrites the whole file)."""

    writes = 0

    def update(self, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        return super().update(*args, **kwargs)

    def update_many(self, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        return super().update_many(*args, **kwargs)


def test_usage_of_many_jobs_is_saved_in_one_write_not_one_per_job(tmp_path: Path,
                                                                   messy_job: dict[str, Any]) -> None:
    """Each write rewrites the whole store: one per job kept a 100,000-job dashboard busy for most of an hour."""
    store = CountingStore(tmp_path / "store" / "jobs.jsonl")
    jobs = [dict(messy_job, id=f"j{i}", batch={"name": f"batches/j{i}"}) for i in range(40)]
    store.add_many(jobs)
    assert sorted(ledger.fill_missing_usage(store)) == sorted(j["id"] for j in jobs)
    assert store.writes == 1
    assert all(r["usage"]["prompt"] == 21 for r in store.read_all())
    assert ledger.fill_missing_usage(store) == [] and store.writes == 1  # fresh now: nothing written

    ticks = iter(range(0, 1000, 1))  # a clock that moves one second per look: saved every SAVE_EVERY_S
    store = CountingStore(tmp_path / "other" / "jobs.jsonl")
    store.add_many(jobs)
    assert len(ledger.fill_missing_usage(store, clock=lambda: float(next(ticks)))) == 40
    assert 1 < store.writes < 40 and all(r["usage"]["prompt"] == 21 for r in store.read_all())


def test_fill_missing_usage_caches_in_the_store(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    gone = dict(messy_job, id="gone", batch={"name": "batches/gone"}, results_file=str(tmp_path / "deleted.jsonl"))
    store.add_many([messy_job, gone])
    assert ledger.fill_missing_usage(store) == ["rec1"]
    rec = store.get("rec1")
    assert rec is not None and rec["usage"]["prompt"] == 21 and rec["usage"]["flagged"] == 1
    assert ledger.fill_missing_usage(store) == []  # fresh now
    assert ledger.usage_for_record(store.get("gone") or {}).known is False
