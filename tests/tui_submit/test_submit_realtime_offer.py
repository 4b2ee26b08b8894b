"""The real-time fallback of the submit screen, against the emulator over the real SDK: a create refused for
quota (429) or access (403) leads to the offer with its cost at interactive prices; yes runs the same requests
through generateContent in a worker (the queued batch cancelled first, so nothing is answered twice), the run's
record and results land in the store; no runs nothing; escape stops a run."""

from __future__ import annotations

from pathlib import Path

from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, wait_until
from tests.tui_submit.test_submit_flow import log_text

from gembatch_tui.tui.submit.confirm import ConfirmSubmit

from gembatch_tui.core.models import CANCELLED, is_realtime, record_state
from gembatch_tui.core.submit.cost_cap import CostPolicy
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.messages import StoreChanged


async def confirm(pilot, screen) -> None:  # type: ignore[no-untyped-def]
    """ctrl+s and y: the run starts (the offer may follow at once, so wait only for the confirm to go)."""
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmSubmit), what="the confirm dialog")
    await pilot.press("y")
    await wait_until(pilot, lambda: not isinstance(pilot.app.screen, ConfirmSubmit), what="the dialog to close")


def _dialog_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(text_of(w) for w in app.screen.query("Static"))


async def test_a_429_leads_to_the_offer_and_a_realtime_run(data_dir: Path, emulator, make_host) -> None:
    emulator.fail_next("POST", r":batchGenerateContent$", 429, times=20)
    app = make_host(emulator, data_dir)
    app.service.cost_policy = CostPolicy()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "basic.jsonl")
        await pilot.press("space")
        await confirm(pilot, screen)
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=30, what="the offer")
        shown = _dialog_text(app)
        assert "refused this file for quota (429)" in shown and "basic.jsonl" in shown
        assert "Run these requests now through the real-time API (~$" in shown and "interactive prices" in shown
        assert "queued batch is cancelled first" in shown
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is screen and not screen.realtime_running, timeout=30,
                         what="the real-time run")
        await wait_until(pilot, lambda: "Real-time run (interactive prices):" in log_text(screen))
        assert "basic.jsonl: succeeded realtime/" in log_text(screen) and "(5 ok, 0 errors, 0 not answered)" in \
            log_text(screen)
    records = app.store.read_all()
    runs = [r for r in records if is_realtime(r)]
    batches = [r for r in records if not is_realtime(r)]
    assert len(runs) == 1 and runs[0]["batch"]["state"] == "JOB_STATE_SUCCEEDED"
    assert Path(runs[0]["results_file"]).read_text().count("\n") == 5  # the answers, as a batch's results
    assert [record_state(r) for r in batches] == [CANCELLED]  # the queued batch never goes
    assert len(emulator.realtime_calls) == 5 and emulator.batches_snapshot() == []
    assert any(isinstance(m, StoreChanged) and "real-time" in m.reason for m in app.received)


async def test_a_403_offer_declined_runs_nothing(data_dir: Path, emulator, make_host) -> None:
    emulator.fail_next("POST", r":batchGenerateContent$", 403, times=5, message="Batch API is not enabled.")
    app = make_host(emulator, data_dir)
    app.service.cost_policy = CostPolicy()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "basic.jsonl")
        await pilot.press("space")
        await confirm(pilot, screen)
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=30, what="the offer")
        assert "for access (403)" in _dialog_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.pause(0.2)
        assert not screen.realtime_running
    assert emulator.realtime_calls == [] and not any(is_realtime(r) for r in app.store.read_all())


async def test_escape_stops_a_realtime_run(data_dir: Path, emulator_factory, make_host) -> None:
    emulator = emulator_factory(latency_ms=300)
    emulator.fail_next("POST", r":batchGenerateContent$", 403, times=5)
    app = make_host(emulator, data_dir)
    app.service.cost_policy = CostPolicy()
    app.settings.extra = {"realtime": {"concurrency": 1}}
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "basic.jsonl")
        await pilot.press("space")
        await confirm(pilot, screen)
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=30, what="the offer")
        await pilot.press("y")
        await wait_until(pilot, lambda: "answered" in text_of(screen.query_one("#realtime")), timeout=20,
                         what="the run's progress")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not screen.realtime_running, timeout=20, what="the run to stop")
    [run] = [r for r in app.store.read_all() if is_realtime(r)]
    assert record_state(run) == CANCELLED and len(emulator.realtime_calls) < 5
