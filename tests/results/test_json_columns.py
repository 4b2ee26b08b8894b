"""JSON error columns point at the real column (issue 15, point 13): the 1-based character column of the line, as
an editor shows it, whichever parser failed (json or orjson) and for bad UTF-8 too; in the results check and the
results browser's rows."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from gembatch_tui.core import jsonfast
from gembatch_tui.core.jsonpos import error_column, json_error_text
from gembatch_tui.core.results.check import verify_results
from gembatch_tui.core.results.rows import join_row

# (the line, the character an editor puts the cursor on for the error, counted from 1 after any BOM)
LINES = [
    (b'{"key": "a", "request": {"contents": [x]}}', 39),
    ('{"key": "é€", "request": {"contents": [y]}}'.encode(), 40),  # é and € are 2 and 3 bytes, one column each
    ('\ufeff{"key": "a", "request": {"contents": [x]}}'.encode(), 39),  # a BOM is invisible in an editor
    (b'{"key": "c",\t"request": {"contents": }}', 38),  # a tab is one character
    (b'{"key": "b", "request": \xff {}}', 25),  # bad UTF-8: the column of the bad byte, not its 0-based offset
    ('{"k": "日本語", x}'.encode(), 14),
    (b'{"key": "broken", "request": {"contents": [ {"parts": \n', 55),  # cut short: the end of the line
    (b'{"key": "cut", "request": \r\n', 27),
]


@pytest.mark.parametrize(("raw", "column"), LINES)
@pytest.mark.parametrize("parser", [json.loads, jsonfast.loads], ids=["json", "jsonfast"])
def test_both_parsers_report_the_column_an_editor_shows(raw: bytes, column: int, parser) -> None:  # noqa: ANN001
    with pytest.raises((ValueError, RecursionError)) as caught:
        parser(raw)
    assert error_column(raw, caught.value) == column
    assert f"at column {column}" in json_error_text(raw, caught.value)


@pytest.mark.parametrize(("raw", "column"), [(r, c) for r, c in LINES if b"\xff" not in r and not r.startswith(b"\xef")])
def test_orjson_errors_give_the_same_column(raw: bytes, column: int) -> None:
    """orjson's own error (its message, its position) gives the same column as json's."""
    with pytest.raises(orjson.JSONDecodeError) as caught:
        orjson.loads(raw)
    assert error_column(raw, caught.value) == column


def test_bad_utf8_names_the_byte_and_its_column() -> None:
    raw = b'{"key": "b", "request": \xff {}}'
    with pytest.raises(UnicodeDecodeError) as caught:
        raw.decode("utf-8")
    assert json_error_text(raw, caught.value) == "not valid UTF-8 at column 25 (byte 0xff)"


def test_results_check_and_rows_use_the_column(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    ok = {"key": "a", "response": {"candidates": [{"content": {"parts": [{"text": "hi"}]}}]}}
    bad = '{"key": "ü", "response": {"x": ]}}'.encode()  # the ] is character 32 (ü is two bytes)
    results.write_bytes(json.dumps(ok).encode() + b"\n" + bad + b"\n" + b'{"key": "z", \xfe}\n')
    check = verify_results(results, None)
    messages = {p.line: p.message for p in check.parse_errors}
    assert messages[2] == "not valid JSON: Expecting value at column 32"
    assert messages[3] == "not valid UTF-8 at column 14 (byte 0xfe)"
    row = join_row(1, "invalid", 0, 2, None, bad)
    assert row.problem == "results line 2: not valid JSON: Expecting value at column 32"
