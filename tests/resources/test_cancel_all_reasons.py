"""Cancel-all (C) names why a job its question promised was not cancelled (it finished meanwhile), instead of a
bare "Cancelled 0 jobs"; and the question cuts a long label with an ellipsis, not mid-name without a mark."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.resources.res_host import HostApp
from tests.resources.res_scenario import Scenario
from tests.resources.test_resources_screen import ask_cancel_all, wait_for

from gembatch_tui.core.cleanup.flags import ACTIVE, BatchRow
from gembatch_tui.core.cleanup.remote import CancelOutcome
from gembatch_tui.core.text import fit as cut
from gembatch_tui.tui.resources.questions import cancel_all_question, cancelled_summary, not_cancelled


def row(name: str, label: str, state: str = "JOB_STATE_RUNNING", in_store: bool = True) -> BatchRow:
    return BatchRow(name, label, "gemini-2.5-flash", state, datetime(2025, 1, 1, tzinfo=timezone.utc), in_store,
                    "k" if in_store else None, None, None, frozenset({ACTIVE}), {})


async def test_a_job_that_finished_before_the_yes_is_named_with_its_state(scenario: Scenario) -> None:
    app = HostApp(scenario.service, scenario.clock.utc)
    async with app.run_test(size=(80, 24)) as pilot:
        await ask_cancel_all(pilot, app)
        scenario.clock.advance(5)  # the promised job succeeds while the question is open
        await pilot.press("y")
        said = "Cancelled 0 jobs: active.jsonl had already succeeded"
        await wait_for(pilot, lambda: any(said in str(n.message) for n in app._notifications), what=said)


def test_reasons_name_each_promised_job_not_tried() -> None:
    promised = [row("batches/a", "a.jsonl"), row("batches/b", "b.jsonl"), row("batches/c", "", in_store=False)]
    outcomes = [CancelOutcome("batches/a", True, "JOB_STATE_CANCELLED")]
    now = [row("batches/b", "b.jsonl", "JOB_STATE_FAILED")]
    skipped = not_cancelled(promised, outcomes, now)
    assert skipped == ["b.jsonl had already failed", "batches/c was no longer listed"]
    assert cancelled_summary(outcomes, skipped) == (
        "Cancelled 1 job: b.jsonl had already failed; batches/c was no longer listed")
    assert cancelled_summary(outcomes, []) == "Cancelled 1 job"
    assert not_cancelled(promised[:1], [], None) == ["a.jsonl had already finished"]


def test_the_question_cuts_a_long_label_with_an_ellipsis() -> None:
    assert cut("job15.jsonl", 8) == "job15.j…" and cut("short", 8) == "short"
    long_name = "batches/" + "x" * 40
    _title, body, _yes = cancel_all_question([row(long_name, "job15.jsonl")], 10)
    line = next(line for line in body.plain.splitlines() if long_name in line)
    assert line.rstrip().endswith("job15.j…")
