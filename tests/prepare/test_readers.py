"""The streaming readers: a JSON list read across buffer boundaries keeps its records and their lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.prepare import readers
from gembatch_tui.core.prepare.readers import Source, SourceError


def test_a_json_list_is_read_element_by_element_across_small_buffers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(readers, "JSON_CHUNK", 7)  # every element and most strings straddle a buffer boundary
    records = [{"id": i, "text": "é \"x\"\n" * (i % 4), "nested": {"a": [i, None]}} for i in range(40)]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
    got = list(Source(path).records())
    assert [r[2] for r in got] == records
    assert [r[0] for r in got] == list(range(1, 41))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(lines[line - 1].strip() == "{" for _row, line, _rec in got)  # the line each record starts on
    path.write_text("[]")
    assert list(Source(path).records()) == []


@pytest.mark.parametrize(("text", "message"), [
    ('{"a": 1}', ":1: expected a JSON list of objects"),
    ('[{"a": 1},\n{"b": }]', ":2: not valid JSON: Expecting value"),
    ('[{"a": 1}\n{"b": 2}]', ":2: expected ',' or ']' after record 1"),
    ('[{"a": 1}', ":1: the list is not closed"),
    ('[{"a": 1}] x', ":1: text after the end of the list"),
])
def test_a_broken_json_list_says_which_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SourceError) as caught:
        list(Source(path).records())
    assert str(caught.value).startswith(f"{path}{message}")


def test_a_csv_header_must_name_its_columns_once(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(SourceError, match=r"t.csv:1: column 'a' appears twice \(columns 1 and 3\)"):
        Source(path)
    path.write_bytes(b"title\n\xff\xfe\n")
    with pytest.raises(SourceError, match=r"t.csv:2: not UTF-8 text \(byte 0xff"):  # read with the header
        list(Source(path).records())
    path.write_bytes(b"title\n" + b"plain text\n" * 2000 + b"\xff\n")
    with pytest.raises(SourceError, match=r"t.csv:2002: not UTF-8 text"):
        list(Source(path).records())
    with pytest.raises(SourceError, match="cannot tell the format"):
        Source(tmp_path / "t.xlsx")
