"""The parts of a real-time run that need no server: the rate gate's window (with a clock the test moves), the
limits from config, a 429's retry hint, and the partial file's torn last line."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from gembatch_tui.core.realtime import call
from gembatch_tui.core.realtime.gate import RateGate
from gembatch_tui.core.realtime.limits import DEFAULT_RPM, LimitsError, limits_for
from gembatch_tui.core.realtime.partial import LineWriter, done_keys


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _try(gate: RateGate, tokens: int = 1) -> bool:
    """Whether a request may start now (a cancelled wait returns at once instead of blocking)."""
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    try:
        return gate.acquire(tokens, stop)
    finally:
        timer.cancel()


def test_the_gate_lets_rpm_requests_through_a_window_and_no_more() -> None:
    clock = Clock()
    gate = RateGate(3, None, window_s=10.0, clock=clock)
    assert all(_try(gate) for _ in range(3))
    assert not _try(gate)
    clock.now += 10.0  # the window, but not its margin: still counted
    assert not _try(gate)
    clock.now += 1.01
    assert _try(gate)


def test_the_gate_counts_tokens_and_pauses_for_a_retry_delay() -> None:
    clock = Clock()
    gate = RateGate(None, 100, window_s=10.0, clock=clock)
    assert _try(gate, 60)
    assert not _try(gate, 60)
    assert _try(gate, 40)
    clock.now += 11.1
    gate.pause(5.0)
    assert not _try(gate)
    clock.now += 5.0
    assert _try(gate, 500), "a request over the whole tpm starts alone in an empty window"


def test_limits_come_from_arguments_then_config_then_defaults() -> None:
    config = {"realtime": {"concurrency": 3, "limits": {"gemini-2.5-flash": {"rpm": 1000}, "*": {"tpm": 5000}}}}
    got = limits_for(config, "models/gemini-2.5-flash")
    assert (got.rpm, got.tpm, got.concurrency) == (1000, 5000, 3)
    other = limits_for(config, "gemini-2.5-pro", rpm=7)
    assert (other.rpm, other.tpm) == (7, 5000)
    assert limits_for({}, "x").rpm == DEFAULT_RPM
    with pytest.raises(LimitsError, match=r'realtime.limits\["\*"\].tpm'):
        limits_for({"realtime": {"limits": {"*": {"tpm": "lots"}}}}, "x")


class _Api(Exception):
    def __init__(self, code: int, details: list[dict]) -> None:
        super().__init__(f"{code}")
        self.code = code
        self.status = "RESOURCE_EXHAUSTED"
        self.message = "quota"
        self.details = {"error": {"code": code, "details": details}}


def test_a_429_waits_for_its_retry_delay_and_one_without_stops_the_run() -> None:
    hinted = _Api(429, [{"@type": "type.googleapis.com/google.rpc.QuotaFailure"},
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"}])
    assert call.retry_delay(hinted) == 26.0
    assert call.classify(hinted).action == call.WAIT and call.classify(hinted).delay == 26.0
    assert call.retry_delay(_Api(429, [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                        "retryDelay": "0.350s"}])) == 0.35
    assert call.classify(_Api(429, [])).action == call.STOP
    assert call.classify(_Api(403, [])).action == call.STOP
    assert call.classify(_Api(400, [])).action == call.RECORD
    assert call.classify(_Api(503, [])).action == call.RETRY


def _quota(quota_id: str) -> dict[str, object]:
    return {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                            "quotaId": quota_id, "quotaValue": "10"}]}


def test_a_429_without_a_hint_waits_a_minute_for_a_per_minute_quota_and_stops_for_the_day() -> None:
    """The hint is what usually says how long; without one, the QuotaFailure's quotaId still names the window."""
    minute = call.classify(_Api(429, [_quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier")]))
    assert (minute.action, minute.delay) == (call.WAIT, call.MINUTE_WAIT_S)
    assert "per-minute quota" in minute.message
    day = call.classify(_Api(429, [_quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier")]))
    assert day.action == call.STOP and "(the daily quota; run again later)" in day.message
    bare = call.classify(_Api(429, []))
    assert bare.action == call.STOP and "no retry hint: most likely the daily quota" in bare.message
    # a hint wins over the window the quota names
    hinted = call.classify(_Api(429, [_quota("GenerateRequestsPerDayPerProjectPerModel"),
                                      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]))
    assert (hinted.action, hinted.delay) == (call.WAIT, 7.0)
    assert call.quota_window(_Api(429, [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                                         "violations": "not a list"}])) is None


def test_request_fields_go_where_the_sdk_takes_them() -> None:
    contents, config = call.sdk_arguments({
        "contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"temperature": 0.1},
        "systemInstruction": {"parts": [{"text": "brief"}]}, "model": "ignored"})
    assert contents == [{"parts": [{"text": "hi"}]}]
    assert config == {"temperature": 0.1, "system_instruction": {"parts": [{"text": "brief"}]}}
    with pytest.raises(call.Rejected, match="unknown request field 'generationconfig'"):
        call.sdk_arguments({"contents": [], "generationconfig": {}})


def test_a_torn_last_line_is_cut_and_its_key_is_not_done(tmp_path: Path) -> None:
    path = tmp_path / "p.partial"
    writer = LineWriter(path)
    writer.write("a", response={"candidates": []})
    writer.write("b", error={"code": 400, "message": "no"})
    writer.close()
    with open(path, "ab") as f:
        f.write(json.dumps({"key": "c", "response": {}}).encode()[:-3])  # the process died mid-write
    keys, errors, size = done_keys(path)
    assert keys == {"a", "b"} and errors == 1
    assert path.stat().st_size == size and path.read_bytes().endswith(b"\n")
