"""`list` and `list --json` as printed in bulk (one write for the table, a long JSON list in chunks): the same bytes
as line by line and as one `json.dumps`, escapes before widths, the key never shown, the collector left on."""

from __future__ import annotations

import contextlib
import gc
import io
import json
from pathlib import Path

import pytest

import gembatch_tui.cli.main as cli
from gembatch_tui.cli.output import out, out_lines, print_json
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.text import json_safe

FAKE_KEY = "AIza" + "x" * 35


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(tmp_path / "home"))
    for var in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def _run(*args: str) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(list(args))
    return code, buffer.getvalue()


def test_table_escapes_cells_before_it_measures_them(tmp_path: Path) -> None:
    store = tmp_path / "jobs.jsonl"
    JobStore(store).add_many([
        {"id": "a", "input_file": "/data/plain.jsonl",
         "batch": {"name": "batches/aaa", "state": "JOB_STATE_RUNNING", "model": "models/gemini-2.5-flash",
                   "create_time": "2026-11-23T10:00:00+00:00",
                   "stats": {"request_count": 5, "successful_request_count": 2}}},
        {"id": "b", "input_file": "/data/b.jsonl", "results_file": "/r", "results_verified": True,  # /r: no file
         "batch": {"name": "batches/b\x1b[2J", "display_name": "evil\u202etxt.exe", "state": "JOB_STATE_SUCCEEDED",
                   "model": "m\x07"}},
    ])
    assert gc.isenabled()
    code, text = _run("--store", str(store), "list")
    assert code == 0 and gc.isenabled()
    # What the line-by-line table printed for this store, byte for byte.
    assert text == (
        "JOB       NAME               MODEL             STATE      PROGRESS  CREATED              RESULTS\n"
        "aaa       plain.jsonl        gemini-2.5-flash  RUNNING    2/5       2026-11-23 10:00:00  -\n"
        "b\\x1b[2J  evil\\u202etxt.exe  m\\x07             SUCCEEDED  -         -                    missing\n"
    )


def test_json_of_many_records_is_what_one_dumps_writes(tmp_path: Path) -> None:
    store = tmp_path / "jobs.jsonl"
    JobStore(store).add_many(
        {"id": f"r{i:05d}", "batch": {"name": f"batches/b{i}", "state": "JOB_STATE_PENDING",
                                      "display_name": "bell\x07 é \u202e" if i % 997 == 0 else f"part {i}"}}
        for i in range(2_345)  # more than two chunks, the last one short
    )
    code, text = _run("--store", str(store), "list", "--json")
    records = JobStore(store).read_all()
    assert code == 0
    assert text == json_safe(json.dumps(records, ensure_ascii=False)) + "\n"
    assert json.loads(text) == records and "\x07" not in text and "\u202e" not in text


@pytest.mark.parametrize("size", [0, 1, 1_000, 1_001, 3_000])
def test_print_json_chunks_join_into_one_dumps(size: int, capsys: pytest.CaptureFixture[str]) -> None:
    value = [{"n": i, "text": "x\x1b" if i % 500 == 0 else "ü"} for i in range(size)]
    print_json(value)
    assert capsys.readouterr().out == json_safe(json.dumps(value, ensure_ascii=False)) + "\n"


def test_out_lines_prints_each_line_as_out_does(capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["plain", f"key {FAKE_KEY} here", "esc \x1b[2J and \u202e", "", 42, None]
    for line in lines:
        out(line)
    one_by_one = capsys.readouterr().out
    out_lines(lines)
    assert capsys.readouterr().out == one_by_one
    assert FAKE_KEY not in one_by_one and "\x1b" not in one_by_one
