"""A real-time run's answers are results like a batch job's: per-request errors as error lines, a transient 5xx
retried, the file opened by the results index and exported unchanged, usage counted; and `run JOB --realtime`
sends exactly the failed and missing keys of that job, nothing else."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from gembatch_tui.core.models import SUCCEEDED, record_key, record_state
from gembatch_tui.core.realtime.limits import RealtimeLimits
from gembatch_tui.core.realtime.offer import retry_offer
from gembatch_tui.core.realtime.runner import RealtimeRun
from gembatch_tui.core.realtime.start import NEW, prepare_file, prepare_retry
from gembatch_tui.core.results import ledger
from gembatch_tui.core.results.export import export_to_file
from gembatch_tui.core.results.index import ResultsIndex
from gembatch_tui.core.results.status import ERROR, MISSING, OK
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator
from tests.realtime.conftest import key_of, write_input

LIMITS = RealtimeLimits(rpm=None, tpm=None, concurrency=1)  # one at a time: the scripted faults meet known keys


def _input_with_a_bad_field(path: Path) -> Path:
    write_input(path, 10)
    lines = path.read_text().splitlines()
    bad = json.loads(lines[3])
    bad["request"]["generationConfig"] = {"temprature": 0.2}  # misspelt: the SDK (and the service) refuse it
    lines[3] = json.dumps(bad)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_errors_are_lines_and_the_results_read_like_a_batch(service: BatchService, emulator: Emulator,
                                                            tmp_path: Path) -> None:
    src = _input_with_a_bad_field(tmp_path / "in.jsonl")
    emulator.fail_next("POST", r":generateContent$", 503, times=2)  # k0: retried, then answered
    prepared = prepare_file(service, src, "gemini-2.5-flash", LIMITS)
    assert prepared.status == NEW
    first = RealtimeRun(service, prepared.record, LIMITS).run()
    assert (first.ok, first.errors) == (9, 1)
    assert first.state == SUCCEEDED  # every request has its answer; one of them is an error line
    assert [c.status for c in emulator.realtime_calls].count(200) == 9
    assert "k3" not in {key_of(c.prompt) for c in emulator.realtime_calls}, "a refused request was sent"

    record = service.store.get(record_key(prepared.record))
    assert record is not None and record["results_verified"] and record["results_check"]["errors"] == 1
    index = ResultsIndex.build(record["results_file"], record["input_file"])
    assert (index.count(OK), index.count(ERROR), index.count(MISSING)) == (9, 1, 0)
    assert index.keys_with(ERROR) == ["k3"]
    out = tmp_path / "out.csv"
    assert export_to_file(index, out, "csv") == 10
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert sorted(r["key"] for r in rows) == sorted(f"k{i}" for i in range(10))
    usage = ledger.recorded_usage(record)
    assert usage is not None and usage.ok == 9 and usage.errors == 1 and usage.prompt > 0
    cost = ledger.job_cost(record, usage)
    batch_cost = usage.cost(record["model"])
    assert cost.interactive and cost.cost is not None and batch_cost is not None
    assert abs(cost.cost - 2 * batch_cost) < 1e-12

    # A key lost from the results file is what `run JOB --realtime` sends; the key refused as written (400
    # INVALID_ARGUMENT) is left out, and the offer says why: sent unchanged, it would be refused again.
    results = Path(record["results_file"])
    kept = [line for line in results.read_text().splitlines() if '"k7"' not in line]
    results.write_text("\n".join(kept) + "\n")
    offer = retry_offer(ResultsIndex.build(results, record["input_file"]), record["model"])
    assert offer is not None and offer.count == 1 and offer.usd is not None
    assert offer.text().startswith("retry this now, real-time, ~$")
    assert offer.left_out.startswith("1 request the service rejected as written (400 INVALID_ARGUMENT")
    assert "temprature" in offer.left_out and "fix the input" in offer.left_out
    sent_before = len(emulator.realtime_calls)
    retry = prepare_retry(service, record, None, LIMITS)
    assert retry.status == NEW and retry.record is not None
    assert retry.record["resubmit_of"] == record_key(record) and retry.record["count"] == 1
    assert "1 request the service rejected as written (400 INVALID_ARGUMENT" in retry.message  # `run` warns of it
    second = RealtimeRun(service, retry.record, LIMITS).run()
    sent = sorted(key_of(c.prompt) for c in emulator.realtime_calls[sent_before:])
    assert sent == ["k7"], "only the missing key goes out"
    assert (second.ok, second.errors) == (1, 0)
    assert record_state(service.store.get(second.record_key)) == SUCCEEDED


def test_a_daily_quota_stops_the_run_and_the_rerun_sends_the_rest(service: BatchService, emulator: Emulator,
                                                                  tmp_path: Path) -> None:
    """A 429 without a retry hint is a quota that will not clear soon: the run stops (FAILED, the reason in the
    record) instead of burning time, writes no error for the keys it did not get to, and a rerun sends them."""
    src = write_input(tmp_path / "in.jsonl", 6)
    prepared = prepare_file(service, src, "gemini-2.5-flash", LIMITS)
    emulator.fail_next("POST", r":generateContent$", 429, times=1, message="Quota exceeded for the day.")
    stopped = RealtimeRun(service, prepared.record, LIMITS).run()
    assert stopped.state.endswith("FAILED") and "daily quota" in stopped.message
    assert (stopped.ok, stopped.errors) == (0, 0)
    saved = service.store.get(record_key(prepared.record))
    assert "Quota exceeded for the day." in saved["error"]

    again = prepare_file(service, src, "gemini-2.5-flash", LIMITS)
    assert again.status == "resume" and record_key(again.record) == record_key(prepared.record)
    finished = RealtimeRun(service, again.record, LIMITS).run()
    assert finished.state == SUCCEEDED and finished.ok == 6
    assert "error" not in service.store.get(record_key(prepared.record))
