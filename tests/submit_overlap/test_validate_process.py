"""ProcessValidation: validate_file in a second process gives the very report the in-process call gives."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from gembatch_tui.core.submit import validate_process
from gembatch_tui.core.submit.validate import ValidationCancelled, validate_file


def _file(tmp_path: Path, bad: bool) -> Path:
    rows = [json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}}) for i in range(500)]
    if bad:
        rows[300] = '{"key": "k1", "request": {"contents": []}}'  # empty contents and a duplicate key
        rows[400] = json.dumps({"request": {"contents": "shorthand"}})
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("bad", [False, True])
def test_the_child_reports_what_validate_file_reports(tmp_path: Path, bad: bool) -> None:
    path = _file(tmp_path, bad)
    events: list[str] = []
    checking = validate_process.ProcessValidation(path, kind=None, allow_media_outside=False, watch=events.append)
    assert checking._proc is not None  # a process was started
    report = checking.report()
    expected = validate_file(path, max_bytes=None)
    assert report.messages() == expected.messages() and report.ok == expected.ok
    assert (report.sha256, report.request_count, report.est_input_tokens, report.needs_normalising) == (
        expected.sha256, expected.request_count, expected.est_input_tokens, expected.needs_normalising)
    assert events == (["problem", "normalising"] if bad else [])


def test_without_a_process_it_validates_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_process() -> None:
        raise RuntimeError("no process start method available")

    monkeypatch.setattr(validate_process, "_context", no_process)
    path = _file(tmp_path, bad=True)
    events: list[str] = []
    checking = validate_process.ProcessValidation(path, kind=None, allow_media_outside=False, watch=events.append)
    assert checking._proc is None
    assert checking.report().messages() == validate_file(path, max_bytes=None).messages()
    assert events == ["problem", "normalising"]


def test_a_killed_child_is_replaced_by_the_same_check_here(tmp_path: Path) -> None:
    path = _file(tmp_path, bad=True)
    checking = validate_process.ProcessValidation(path, kind=None, allow_media_outside=False, watch=None)
    checking._proc.kill()
    assert checking.report().messages() == validate_file(path, max_bytes=None).messages()


def test_cancel_ends_the_child(tmp_path: Path) -> None:
    path = _file(tmp_path, bad=False)
    cancel = threading.Event()
    cancel.set()
    checking = validate_process.ProcessValidation(path, kind=None, allow_media_outside=False, watch=None)
    proc = checking._proc
    with pytest.raises(ValidationCancelled):
        checking.report(cancel)
    assert checking._proc is None and proc is not None
