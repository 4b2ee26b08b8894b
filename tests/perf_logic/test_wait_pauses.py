"""`submit --wait` does not sit out a whole poll interval after a job that ends in seconds: its pauses start at
2 s and double up to the interval; `poll` without it keeps the interval as given."""

from __future__ import annotations

from typing import Any

import pytest

from gembatch_tui.core.poll import poller, waiting


class _Report:
    def __init__(self, active: int) -> None:
        self.active, self.failed = active, False


def _pauses(monkeypatch: pytest.MonkeyPatch, passes_active: int, **kw: Any) -> list[float]:
    left = iter([1] * passes_active + [0])
    monkeypatch.setattr(poller, "poll_once", lambda service, **_kw: _Report(next(left)))
    slept: list[float] = []
    result = waiting.wait_for(object(), None, interval_s=30.0, sleep=slept.append,  # type: ignore[arg-type]
                              clock=lambda: 0.0, **kw)
    assert not result.timed_out
    return slept


def test_pauses_start_small_and_double_up_to_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _pauses(monkeypatch, 7, first_pause_s=2.0) == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_without_a_first_pause_every_pause_is_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _pauses(monkeypatch, 3) == [30.0, 30.0, 30.0]


def test_a_first_pause_over_the_interval_is_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _pauses(monkeypatch, 2, first_pause_s=45.0) == [30.0, 30.0]
