"""A real-time run stays under its requests-per-minute limit as the server counts it, and honours a 429's retryDelay.

The emulator's minute is shortened (`rpm_window_seconds`, a test knob) and so is the run's (`window_s`), so 200
requests at 120 a "minute" take a few seconds; what is measured is the emulator's log of every arrival."""

from __future__ import annotations

import time
from pathlib import Path

from gembatch_tui.core.models import SUCCEEDED
from gembatch_tui.core.realtime.limits import RealtimeLimits
from gembatch_tui.core.realtime.runner import RealtimeRun
from gembatch_tui.core.realtime.start import NEW, prepare_file
from gembatch_tui.emulator import Emulator
from tests.realtime.conftest import KEY, key_of, make_service, result_lines, write_input


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_200_requests_at_rpm_120_stay_under_the_limit(tmp_path: Path) -> None:
    window = 4.0
    with Emulator(api_key=KEY, rpm=120, rpm_window_seconds=window) as emu:
        service = make_service(emu, tmp_path / "jobs.jsonl")
        src = write_input(tmp_path / "in.jsonl", 200)
        limits = RealtimeLimits(rpm=120, tpm=None, concurrency=8)
        prepared = prepare_file(service, src, "gemini-2.5-flash", limits)
        assert prepared.status == NEW
        started = time.monotonic()
        outcome = RealtimeRun(service, prepared.record, limits, window_s=window).run()
        elapsed = time.monotonic() - started
        calls = emu.realtime_calls
    assert outcome.state == SUCCEEDED and outcome.ok == 200 and outcome.errors == 0
    arrivals = [c.at for c in calls]
    assert _max_in_window(arrivals, window) <= 120, "more requests reached the server in one window than the limit"
    assert [c.status for c in calls].count(429) == 0
    assert elapsed >= window, "200 requests at 120 a window cannot finish inside one window"
    lines = result_lines(outcome.results_file)
    assert sorted(line["key"] for line in lines) == sorted(f"k{i}" for i in range(200))
    assert sorted(key_of(c.prompt) for c in calls) == sorted(f"k{i}" for i in range(200))  # each sent once


def test_a_429_pauses_every_worker_until_its_retry_delay(tmp_path: Path) -> None:
    """The run's own limit is off: the server's 10 a second answers 429, and after each 429 nothing more is sent
    until its retryDelay has passed (requests already on the wire aside)."""
    window = 1.0
    with Emulator(api_key=KEY, rpm=10, rpm_window_seconds=window) as emu:
        service = make_service(emu, tmp_path / "jobs.jsonl")
        src = write_input(tmp_path / "in.jsonl", 30)
        limits = RealtimeLimits(rpm=None, tpm=None, concurrency=4)
        prepared = prepare_file(service, src, "gemini-2.5-flash", limits)
        outcome = RealtimeRun(service, prepared.record, limits, window_s=window).run()
        calls = emu.realtime_calls
    assert outcome.state == SUCCEEDED and outcome.ok == 30
    ok_times = sorted(c.at for c in calls if c.status == 200)
    refused = [c for c in calls if c.status == 429]
    assert refused, "the server's limit was never reached: the test proves nothing"
    for c in refused:
        admitted_before = [t for t in ok_times if c.at - window < t <= c.at]
        free_at = admitted_before[0] + window  # when the oldest counted request left the window: the retryDelay
        early = [o for o in calls if c.at + 0.2 < o.at < free_at - 0.05]
        assert not early, f"requests sent during a retryDelay: {early}"
    assert len(refused) < 30, "a client that retried at once would have met hundreds of 429s"
