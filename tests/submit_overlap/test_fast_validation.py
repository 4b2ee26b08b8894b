"""Validation reads lines with orjson first: what it reports must be exactly what the standard library's reading gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.submit import input_line, validate


def _write(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _both(monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[validate.ValidationReport, validate.ValidationReport]:
    fast = validate.validate_file(path)
    monkeypatch.setattr(input_line, "fast_loads", None)
    slow = validate.validate_file(path)
    return fast, slow


def _same(a: validate.ValidationReport, b: validate.ValidationReport) -> None:
    assert a.messages() == b.messages()
    assert [w.format(a.path) for w in a.warnings] == [w.format(b.path) for w in b.warnings]
    assert (a.request_count, a.est_input_tokens, a.sha256, a.needs_normalising, a.kind) == (
        b.request_count, b.est_input_tokens, b.sha256, b.needs_normalising, b.kind)


def test_orjson_is_used_and_agrees_on_good_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert input_line.fast_loads is not None  # orjson is a dependency: the fast path is the one measured
    lines = [json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": "é" * i}]}]}}).encode()
             for i in range(50)]
    lines.append(json.dumps({"request": {"contents": "shorthand"}}).encode())
    fast, slow = _both(monkeypatch, _write(tmp_path, lines))
    assert fast.ok and fast.request_count == 51 and fast.needs_normalising
    _same(fast, slow)


def test_a_huge_integer_is_read_as_the_standard_library_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson reads 2**70 as a float; a positive integer field must still be accepted, as json reads it."""
    line = b'{"key": "a", "request": {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": %d}}' % 2**70
    fast, slow = _both(monkeypatch, _write(tmp_path, [line]))
    _same(fast, slow)
    assert fast.ok, fast.messages()
    bad = b'{"key": "a", "request": {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 1.5}}'
    fast, slow = _both(monkeypatch, _write(tmp_path, [bad]))
    _same(fast, slow)
    assert not fast.ok


@pytest.mark.parametrize("line", [
    b'{"key": "a", "request": {"contents": [{"parts": [{"text": NaN}]}]}}',
    b'{"key": "a", "request": {"contents": [{"parts": [{"text": "\\ud800"}]}]}}',
    b'{"key": "a", "request": {"contents": [{"parts": [{"text": "x"}]}]}',
    b'{"key": "a", "request": {"contents": [{"parts": [{"text": "\xff"}]}]}}',
    b'[1, 2]',
    b'{"key": "a", "request": {"contents": [{"parts": [{"txet": "x"}]}]}}',
])
def test_refused_or_odd_lines_give_the_standard_librarys_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: bytes
) -> None:
    good = b'{"key": "g", "request": {"contents": [{"parts": [{"text": "x"}]}]}}'
    fast, slow = _both(monkeypatch, _write(tmp_path, [good, line]))
    _same(fast, slow)


def test_a_bom_on_line_one_still_needs_normalising(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = b'\xef\xbb\xbf{"key": "a", "request": {"contents": [{"parts": [{"text": "x"}]}]}}'
    fast, slow = _both(monkeypatch, _write(tmp_path, [line]))
    _same(fast, slow)
    assert fast.ok and fast.needs_normalising
