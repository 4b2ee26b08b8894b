"""Benchmark of the real-time fallback's rate limit (issue 16). Run: python tests/bench/bench_realtime.py
[--requests 200] [--rpm 120] [--window 4] [--concurrency 8]

A real-time run of REQUESTS requests at RPM per window against the emulator with the same limit (its minute
shortened to WINDOW seconds, the emulator's test knob), through the real SDK over HTTP. Printed from the
emulator's log of every arrival: the most requests that reached it in any window, the 429s it answered, and the
run's wall time (of which the SDK's start-up, until the first request arrived).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gembatch_tui.core.api.gemini import GeminiClient  # noqa: E402
from gembatch_tui.core.realtime.limits import RealtimeLimits  # noqa: E402
from gembatch_tui.core.realtime.runner import RealtimeRun  # noqa: E402
from gembatch_tui.core.realtime.start import prepare_file  # noqa: E402
from gembatch_tui.core.store import JobStore  # noqa: E402
from gembatch_tui.core.submit.service import BatchService  # noqa: E402
from gembatch_tui.emulator import Emulator  # noqa: E402

KEY = "bench-key"


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rpm", type=int, default=120)
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-realtime-"))
    src = folder / "in.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i in range(args.requests):
            f.write(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"question {i}"}]}]}})
                    + "\n")
    with Emulator(api_key=KEY, rpm=args.rpm, rpm_window_seconds=args.window) as emu:
        client = GeminiClient(KEY, base_url=emu.url)
        service = BatchService(JobStore(folder / "jobs.jsonl"), client)
        limits = RealtimeLimits(rpm=args.rpm, tpm=None, concurrency=args.concurrency)
        prepared = prepare_file(service, src, "gemini-2.5-flash", limits)
        started = time.time()
        outcome = RealtimeRun(service, prepared.record, limits, window_s=args.window).run()
        elapsed = time.time() - started
        calls = emu.realtime_calls
    arrivals = [c.at for c in calls]
    print(f"{outcome.ok}/{args.requests} answered ({outcome.state.removeprefix('JOB_STATE_').lower()}), "
          f"limit {args.rpm} per {args.window:g} s window")
    print(f"most arrivals in any window: {max_in_window(arrivals, args.window)}; "
          f"429s: {sum(c.status == 429 for c in calls)}")
    print(f"wall time {elapsed:.2f} s (first request arrived after {min(arrivals) - started:.2f} s: SDK start-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
