"""The real-time fallback in the app, against the emulator over HTTP with the real SDK: a real-time job is a row of
its own kind whose progress moves on screen while a run writes it (here a run the app did not start, as another
process's would be), its detail says it is priced at interactive rates, `c` stops it; the results browser offers
"retry these N now, real-time", runs them with progress, stops on `c`, continues on `t` without sending an
answered key again, and the new job's results open in the browser."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gembatch_tui.core.config import Settings
from gembatch_tui.core.models import CANCELLED, SUCCEEDED, is_realtime, record_key, record_state
from gembatch_tui.core.realtime.limits import RealtimeLimits
from gembatch_tui.core.realtime.runner import RealtimeRun, RunOutcome
from gembatch_tui.core.realtime.start import NEW, prepare_file
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.table import JobTable
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.results.realtime_run import runs_of
from gembatch_tui.tui.results.screen import ResultsScreen
from tests.pilot_support import screen_text, wait_for
from tests.realtime.conftest import KEY, key_of, make_service, result_lines, write_input
from tests.tui.tui_helpers import footer_keys

LATENCY_MS = 120  # one request at a time: ~8 answers a second, slow enough to watch and to stop
CONFIG = {"realtime": {"concurrency": 1, "limits": {"*": {"rpm": 10_000}}}}


@pytest.fixture
def slow_emulator() -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=3600, latency_ms=LATENCY_MS) as emu:
        yield emu


@pytest.fixture
def slow_service(slow_emulator: Emulator, tmp_path: Path) -> BatchService:
    service = make_service(slow_emulator, tmp_path / "store" / "jobs.jsonl")
    service.store.ensure(write=True)
    return service


def _settings(store: JobStore) -> Settings:
    return Settings(store_path=store.path, poll_interval=600.0, bell=False, extra=CONFIG)


def _row(app: Any, key: str) -> str:
    table = app.screen_stack[0].query_one(JobTable)
    try:
        return " ".join(cell.plain for cell in table.get_row(key))
    except Exception:  # noqa: BLE001 - not shown yet
        return ""


def _done_of(row: str, total: int) -> int:
    """The `done/total` figure of a row's Progress cell."""
    for word in row.split():
        if word.endswith(f"/{total}"):
            return int(word.split("/")[0].replace(",", ""))
    return -1


async def test_a_running_realtime_job_shows_live_progress_its_detail_and_stops_on_c(
    slow_service: BatchService, slow_emulator: Emulator, tmp_path: Path
) -> None:
    src = write_input(tmp_path / "in" / "live.jsonl", 90)
    limits = RealtimeLimits(rpm=None, tpm=None, concurrency=1)
    prepared = prepare_file(slow_service, src, "gemini-2.5-flash", limits)
    assert prepared.status == NEW and prepared.record is not None
    key = record_key(prepared.record)
    outcome: list[RunOutcome] = []
    # Another process's run, as far as the app knows: it did not start it, and sees it only through the store.
    runner = threading.Thread(target=lambda: outcome.append(RealtimeRun(slow_service, prepared.record, limits).run()))
    app = make_app(_settings(slow_service.store), store=slow_service.store, service=slow_service, poll=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            runner.start()
            await wait_for(pilot, lambda: "RT live.jsonl" in _row(app, key), what="the real-time row")
            assert "running" in _row(app, key)
            first = await wait_for(pilot, lambda: _done_of(_row(app, key), 90) > 0 and _done_of(_row(app, key), 90),
                                   what="progress")
            await wait_for(pilot, lambda: _done_of(_row(app, key), 90) > first, what="progress moving, no key pressed")

            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
            await wait_for(pilot, lambda: "requests answered" in screen_text(app), what="the detail's progress")
            text = screen_text(app)
            assert "real-time run" in text and "interactive rates" in text
            assert "of 90 requests answered (0 with an error)" in text and "to send" in text
            assert "process" in text and "1 at once" in text  # another process runs it, under its limits
            shown = text.split("of 90 requests answered")[0].split()[-1]
            await wait_for(pilot, lambda: f"{shown} of 90 requests answered" not in screen_text(app),
                           what="the detail's progress moving")

            await pilot.press("c")  # from the detail: the real-time question, not the batch one
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            question = screen_text(app)
            assert "Stop this real-time run?" in question and "answers" in question
            assert "cannot be resumed" not in question
            await pilot.press("y")
            await wait_for(pilot, lambda: not runner.is_alive(), timeout=10, what="the run to stop")
            assert outcome and outcome[0].state == CANCELLED and 0 < outcome[0].ok < 90
            await wait_for(pilot, lambda: record_state(app.record(key) or {}) == CANCELLED, what="the store re-read")
            await pilot.press("escape")
            await wait_for(pilot, lambda: "cancelled" in _row(app, key), what="the row cancelled")
            # The answers sent are kept, each key once.
            sent = [key_of(c.prompt) for c in slow_emulator.realtime_calls]
            assert len(sent) == len(set(sent))
            kept = {line["key"] for line in result_lines(Path(slow_service.store.get(key)["results_file"]))}
            assert len(kept) == outcome[0].ok and kept <= set(sent)
    finally:
        if runner.is_alive():
            slow_service.store.update(key, lambda r: r["realtime"].update(cancel_requested_at="now"))
            runner.join(10)


async def test_a_realtime_run_started_elsewhere_after_the_app_shows_at_once_and_moves(
    slow_service: BatchService, tmp_path: Path
) -> None:
    """No job is running when the app starts, and it does not poll: a run that another process starts then is seen
    from the store's file alone (tui/store_follow.py), within seconds, and its progress moves live."""
    src = write_input(tmp_path / "in" / "later.jsonl", 60)
    limits = RealtimeLimits(rpm=None, tpm=None, concurrency=1)
    other = JobStore(slow_service.store.path)  # another process's view of the store: the app's cache knows nothing
    elsewhere = BatchService(other, slow_service.client)
    app = make_app(_settings(slow_service.store), store=slow_service.store, service=slow_service, poll=False)
    outcome: list[RunOutcome] = []
    key = ""
    runner: threading.Thread | None = None
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.loaded, what="the first read of the (empty) store")
            assert app.records == []
            prepared = prepare_file(elsewhere, src, "gemini-2.5-flash", limits)
            assert prepared.status == NEW and prepared.record is not None
            key = record_key(prepared.record)
            runner = threading.Thread(target=lambda: outcome.append(RealtimeRun(elsewhere, prepared.record,
                                                                                limits).run()))
            runner.start()
            await wait_for(pilot, lambda: "RT later.jsonl" in _row(app, key), timeout=10, what="the new run's row")
            first = await wait_for(pilot, lambda: _done_of(_row(app, key), 60) > 0 and _done_of(_row(app, key), 60),
                                   what="progress")
            await wait_for(pilot, lambda: _done_of(_row(app, key), 60) > first, what="progress moving")
    finally:
        if runner is not None and runner.is_alive():
            other.update(key, lambda r: r["realtime"].update(cancel_requested_at="now"))
            runner.join(10)


INTERNAL = {"code": 500, "message": "internal", "status": "INTERNAL"}


def _failed_batch_job(store: JobStore, tmp_path: Path, n: int, answered: int,
                      error: dict[str, Any] = INTERNAL) -> dict[str, Any]:
    """A finished batch job of `n` requests whose results hold `answered` answers, one error and no more: the
    rest are missing. Built by hand (the batch path is tested elsewhere); the record is what a poll writes."""
    src = write_input(tmp_path / "data" / "big.jsonl", n)
    results = tmp_path / "data" / "results" / "big.jsonl"
    results.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"key": f"k{i}", "response": {
        "candidates": [{"content": {"parts": [{"text": f"answer {i}"}], "role": "model"}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}}}
        for i in range(answered)]
    lines.append({"key": f"k{answered}", "error": error})
    results.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    record = {
        "id": "job-batch-1", "input_file": str(src), "count": n, "model": "models/gemini-2.5-flash",
        "results_file": str(results), "results_verified": True,
        "batch": {"name": "batches/failed1", "display_name": "big.jsonl", "model": "models/gemini-2.5-flash",
                  "state": SUCCEEDED, "create_time": "2026-11-23T10:00:00+00:00",
                  "end_time": "2026-11-23T10:05:00+00:00",
                  "stats": {"request_count": n, "successful_request_count": answered,
                            "failed_request_count": 1, "pending_request_count": 0}},
    }
    return store.add(record)


def _run_line(app: Any) -> str:
    return str(app.screen.query_one("#results-run").render())


async def _to_the_offer(pilot: Any, app: Any, offer: str) -> None:
    """From the dashboard to the batch job's results, until the real-time offer reads `offer`."""
    await wait_for(pilot, lambda: _row(app, "job-batch-1"), what="the batch row")
    await pilot.press("v")
    await wait_for(pilot, lambda: offer in _run_line(app), what="the offer")


async def test_results_browser_retries_failed_keys_in_real_time_stops_continues_and_opens_them(
    slow_service: BatchService, slow_emulator: Emulator, tmp_path: Path
) -> None:
    n, answered = 50, 10
    job = _failed_batch_job(slow_service.store, tmp_path, n, answered)
    wanted = {f"k{i}" for i in range(answered, n)}  # the error and the missing ones
    app = make_app(_settings(slow_service.store), store=slow_service.store, service=slow_service, poll=False)
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: _row(app, "job-batch-1"), what="the batch row")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        await wait_for(pilot, lambda: "retry these 40 now, real-time, ~$" in _run_line(app), what="the offer")
        await wait_for(pilot, lambda: "t" in footer_keys(app), what="t in the footer")

        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = screen_text(app)
        assert "interactive rates" in question and "batches/failed1" in question and "40" in question
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        await wait_for(pilot, lambda: "sending, " in _run_line(app) and "/40 answered" in _run_line(app)
                       and not _run_line(app).split("sending, ")[1].startswith("0/"), what="progress")
        screen = app.screen
        assert isinstance(screen, ResultsScreen) and screen.run_status is not None
        new_key = screen.run_status.key
        assert new_key is not None
        # The new job is on the dashboard (under this screen), as a real-time job of its own.
        await wait_for(pilot, lambda: app.record(new_key) is not None and is_realtime(app.record(new_key)),
                       what="the new record read")

        await pilot.press("c")  # stop it from the keyboard
        await wait_for(pilot, lambda: screen.run_status is not None and screen.run_status.finished, timeout=10,
                       what="the run to stop")
        assert screen.run_status.state == CANCELLED
        first_sent = [key_of(c.prompt) for c in slow_emulator.realtime_calls]
        assert 0 < len(first_sent) < 40 and set(first_sent) <= wanted

        await wait_for(pilot, lambda: "t" in footer_keys(app), what="t again")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.run_status is not None and screen.run_status.finished
                       and screen.run_status.state == SUCCEEDED, timeout=20, what="the continued run to succeed")
        sent = [key_of(c.prompt) for c in slow_emulator.realtime_calls]
        assert len(sent) == len(set(sent)), "an answered key was sent again"
        assert set(sent) == wanted
        assert screen.run_status.key == new_key  # the same job, continued
        await wait_for(pilot, lambda: "v opens its results" in _run_line(app))
        assert "succeeded, 40 ok, 0 errors" in _run_line(app)

        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen is not screen)
        await wait_for(pilot, lambda: "40 ok" in screen_text(app) or "40 ok" in str(
            app.screen.query_one("#results-summary").render()), what="the new job's results")
        assert "interactive prices" in str(app.screen.query_one("#results-summary").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(pilot, lambda: "RT " in _row(app, new_key) and "succeeded" in _row(app, new_key),
                       what="the real-time row, succeeded")
        assert runs_of(app).running_keys() == set()
        # The batch job's failures are answered now: its results no longer offer to pay for them again.
        table = app.screen.query_one(JobTable)
        table.move_cursor(row=table.get_row_index("job-batch-1"))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        await wait_for(pilot, lambda: "were answered by realtime/" in _run_line(app), what="answered already")
        await wait_for(pilot, lambda: "x" in footer_keys(app), what="the footer")
        assert "t" not in footer_keys(app)


async def test_a_real_time_run_that_failed_again_is_not_called_an_answer(
    slow_service: BatchService, tmp_path: Path
) -> None:
    """QA pass 3: the batch job's results said its failures "were answered" by a run whose answers were all
    errors. They say how many failed again and where they are offered; nothing is offered twice here."""
    _failed_batch_job(slow_service.store, tmp_path, 4, 2)
    slow_service.store.add({
        "id": "rt-again", "mode": "realtime", "input_file": str(tmp_path / "data" / "big.retry-1.jsonl"), "count": 2,
        "model": "models/gemini-2.5-flash", "resubmit_of": "job-batch-1", "resubmit_of_batch": "batches/failed1",
        "batch": {"name": "realtime/rt-again", "model": "models/gemini-2.5-flash", "state": SUCCEEDED,
                  "create_time": "2026-11-23T11:00:00+00:00", "end_time": "2026-11-23T11:00:02+00:00",
                  "stats": {"request_count": 2, "successful_request_count": 0, "failed_request_count": 2}},
        "results_check": {"lines": 2, "ok": 0, "errors": 2, "missing": 0, "unexpected": 0, "duplicates": 0},
    })
    app = make_app(_settings(slow_service.store), store=slow_service.store, service=slow_service, poll=False)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_for(pilot, lambda: _row(app, "job-batch-1") and _row(app, "rt-again"), what="both rows")
        table = app.screen.query_one(JobTable)
        table.move_cursor(row=table.get_row_index("job-batch-1"))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        await wait_for(pilot, lambda: "2 of these failed again in realtime/" in _run_line(app), what="the line")
        assert "answered" not in _run_line(app) and "retry them from its results" in _run_line(app)
        await wait_for(pilot, lambda: "x" in footer_keys(app), what="the footer")
        assert "t" not in footer_keys(app)


async def test_a_run_left_going_from_the_results_browser_moves_on_the_dashboard_and_c_there_stops_it(
    slow_service: BatchService, slow_emulator: Emulator, tmp_path: Path
) -> None:
    _failed_batch_job(slow_service.store, tmp_path, 90, 5)
    app = make_app(_settings(slow_service.store), store=slow_service.store, service=slow_service, poll=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_the_offer(pilot, app, "retry these 85 now")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: "q leaves it running" in _run_line(app), what="the run going")
        await pilot.press("q")  # back to the dashboard; the App runs it on
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        new_key = next(iter(runs_of(app).running_keys()))
        await wait_for(pilot, lambda: "RT big.retry-1.jsonl" in _row(app, new_key), what="the new row")
        first = await wait_for(pilot, lambda: _done_of(_row(app, new_key), 85) > 0 and _done_of(_row(app, new_key), 85),
                               what="its progress")
        await wait_for(pilot, lambda: _done_of(_row(app, new_key), 85) > first, what="progress moving")
        table = app.screen.query_one(JobTable)
        table.move_cursor(row=table.get_row_index(new_key))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "run by this app" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "cancelled" in _row(app, new_key), timeout=10, what="the row cancelled")
        assert runs_of(app).running_keys() == set()
        assert any("Real-time run" in e.title and "cancelled" in e.message for e in app.events)
        sent = [key_of(c.prompt) for c in slow_emulator.realtime_calls]
        assert 0 < len(sent) < 85 and len(sent) == len(set(sent))
        await wait_for(pilot, lambda: "v" in footer_keys(app), what="v: a stopped run's answers are its results")


async def test_the_cost_cap_refuses_a_real_time_retry_before_anything_is_sent(
    slow_service: BatchService, slow_emulator: Emulator, tmp_path: Path
) -> None:
    _failed_batch_job(slow_service.store, tmp_path, 20, 5)
    settings = Settings(store_path=slow_service.store.path, poll_interval=600.0, bell=False, extra=CONFIG,
                        max_cost_usd=0.000001)
    app = make_app(settings, store=slow_service.store, service=slow_service, poll=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: _row(app, "job-batch-1"), what="the batch row")
        await pilot.press("v")
        await wait_for(pilot, lambda: "retry these 15 now" in _run_line(app), what="the offer")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: "over the cap" in _run_line(app), what="the refusal")
        assert slow_emulator.realtime_calls == []
        assert not any(is_realtime(r) for r in slow_service.store.read_all())
        assert any("over the cap" in str(n.message) for n in app._notifications)


async def test_the_offer_line_fits_80_columns(slow_service: BatchService, tmp_path: Path) -> None:
    _failed_batch_job(slow_service.store, tmp_path, 50, 10)
    app = make_app(_settings(slow_service.store), store=slow_service.store, service=slow_service, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_the_offer(pilot, app, "retry these 40 now, real-time, ~$")
        await pilot.pause()
        line = next(row for row in screen_text(app).splitlines() if "retry these 40" in row).rstrip()
        assert len(line) <= 80 and line.endswith("(interactive prices)"), line


async def test_no_offer_for_a_request_refused_as_written_and_the_line_says_why(
    slow_service: BatchService, slow_emulator: Emulator, tmp_path: Path
) -> None:
    """A 400 INVALID_ARGUMENT would be refused again: t is not offered, and the line says what was left out."""
    refused = {"code": 400, "message": "Invalid JSON payload: temprature", "status": "INVALID_ARGUMENT"}
    _failed_batch_job(slow_service.store, tmp_path, 6, 5, error=refused)  # one error, nothing missing
    app = make_app(_settings(slow_service.store), store=slow_service.store, service=slow_service, poll=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_the_offer(pilot, app, "no retry: 1 request refused as written (400 INVALID_ARGUMENT)")
        await pilot.pause()
        shown = next(row for row in screen_text(app).splitlines() if "no retry" in row).strip()
        assert shown == "no retry: 1 request refused as written (400 INVALID_ARGUMENT): fix the input"
        assert len(shown) <= 78  # whole in 80 columns too
        assert "t" not in footer_keys(app)
        await pilot.press("t")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog) and slow_emulator.realtime_calls == []
