"""`run --realtime`'s progress on a log (stderr not a terminal) is a line when something moved: QA pass 3 saw
"19/20 answered" five times while the last answer was retried."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gembatch_tui.cli import realtime


def test_the_same_progress_is_not_written_again(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(realtime, "PROGRESS_LINE_EVERY", 0.0)
    line = realtime._ProgressLine("in.jsonl")
    assert not line.tty
    for done in (19, 19, 19, 20, 20):
        line(SimpleNamespace(done=done, total=20, errors=1, paused=0.0))
    line(SimpleNamespace(done=20, total=20, errors=1, paused=12.0))
    assert capsys.readouterr().err.splitlines() == [
        "in.jsonl: 19/20 answered (1 errors)",
        "in.jsonl: 20/20 answered (1 errors)",
        "in.jsonl: 20/20 answered (1 errors), paused 12s by the server",
    ]
