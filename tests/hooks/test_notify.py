"""The app's finish notification: exact OSC 9 / OSC 777 bytes, tmux's passthrough, and outside text made inert."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from gembatch_tui.core.config import ConfigFileError, build_settings
from gembatch_tui.tui import notify
from gembatch_tui.tui.polling import PollOwner

EVIL = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b31m\u202eevil\u2066\x85\x7f\t\u200f\x1b\\"


def test_osc9_bytes() -> None:
    assert notify.sequence("osc9", "gembatch-tui", "q.jsonl: succeeded") == "\x1b]9;gembatch-tui: q.jsonl: succeeded\x07"


def test_osc777_bytes_and_a_title_without_semicolons() -> None:
    assert notify.sequence("osc777", "gembatch-tui", "q.jsonl: failed") == (
        "\x1b]777;notify;gembatch-tui;q.jsonl: failed\x07")
    assert notify.sequence("osc777", "a;b", "x") == "\x1b]777;notify;a,b;x\x07"


def test_inside_tmux_the_sequence_goes_through_the_dcs_passthrough_with_its_escapes_doubled() -> None:
    assert notify.sequence("osc9", "gembatch-tui", "done", tmux=True) == (
        "\x1bPtmux;\x1b\x1b]9;gembatch-tui: done\x07\x1b\\")
    assert notify.inside_tmux({"TMUX": "/tmp/tmux-1000/default,1,0"}) and not notify.inside_tmux({})


@pytest.mark.parametrize("kind", notify.KINDS)
@pytest.mark.parametrize("tmux", [False, True])
def test_text_from_outside_cannot_add_escapes(kind: str, tmux: bool) -> None:
    seq = notify.sequence(kind, "gembatch-tui", notify.finished_text([(EVIL, "succeeded")]), tmux=tmux)
    body = seq.removeprefix("\x1bPtmux;\x1b\x1b]" if tmux else "\x1b]").removesuffix("\x07\x1b\\" if tmux else "\x07")
    assert all(ch.isprintable() for ch in body), repr(body)
    assert "\\x1b]52;c;" in body and "\\u202e" in body  # spelt out, so the user still sees what the name holds
    assert seq.count("\x07") == 1


def test_long_text_is_cut() -> None:
    seq = notify.sequence("osc9", "t", "x" * 5000)
    assert len(seq) < notify.MAX_CHARS + 20 and seq.endswith("…\x07")


def test_several_jobs_make_one_summary() -> None:
    text = notify.finished_text([("a", "succeeded"), ("b", "failed"), ("c", "succeeded")])
    assert text == "3 jobs finished: 2 succeeded, 1 failed"


class _Driver:
    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, data: str) -> None:
        self.written.append(data)


class _App(PollOwner):
    """PollOwner's notification with a driver that records what would reach the terminal."""

    def __init__(self, **settings: object) -> None:
        self.settings = SimpleNamespace(**settings)
        self.is_headless = False
        self._driver = _Driver()

    def bell(self) -> None:
        self._driver.write("\x07")


@pytest.mark.parametrize(("settings", "expected"), [
    ({"notify": "osc9", "bell": True}, ["\x1b]9;gembatch-tui: q.jsonl: succeeded\x07", "\x07"]),
    ({"notify": "osc777", "bell": False}, ["\x1b]777;notify;gembatch-tui;q.jsonl: succeeded\x07"]),
    ({"notify": "bell", "bell": True}, ["\x07"]),
    ({"notify": "none", "bell": True}, []),
])
def test_the_app_writes_the_notification_through_its_driver(settings: dict, expected: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    app = _App(**settings)
    app._notify_finished([("q.jsonl", "succeeded")])
    assert app._driver.written == expected


def test_the_app_wraps_it_for_tmux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")
    app = _App(notify="osc9", bell=False)
    app._notify_finished([("q.jsonl", "succeeded")])
    assert app._driver.written == ["\x1bPtmux;\x1b\x1b]9;gembatch-tui: q.jsonl: succeeded\x07\x1b\\"]


def _settings(home: Path, config: dict) -> object:
    (home / "config.json").write_text(json.dumps(config))
    return build_settings(store=None, results_dir=None, api_key=None, demo=False)


def test_notify_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(tmp_path))
    assert _settings(tmp_path, {}).notify == "bell"  # type: ignore[attr-defined]
    assert _settings(tmp_path, {"bell": False}).notify == "none"  # type: ignore[attr-defined]
    assert _settings(tmp_path, {"notify": "osc777"}).notify == "osc777"  # type: ignore[attr-defined]
    with pytest.raises(ConfigFileError, match="notify must be one of bell, osc9, osc777, none"):
        _settings(tmp_path, {"notify": "osc99"})
