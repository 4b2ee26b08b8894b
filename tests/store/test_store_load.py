"""The store's load path: lines read once with their newline, parsed in chunks with the collector paused.

These pin what the load must keep doing however it is made faster: the same line numbers and reasons for bad
lines (in any chunk), CRLF and a missing last newline written back as LF, blank lines dropped, every other
byte kept, and the garbage collector left as it was found.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from gembatch_tui.core import store as store_module
from gembatch_tui.core.store import JobStore, StoreError


def _line(i: int) -> str:
    return json.dumps({"id": f"r{i:05d}", "batch": {"name": f"batches/b{i}", "state": "JOB_STATE_RUNNING"}})


def test_bad_lines_in_several_chunks_keep_their_numbers_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    lines = [_line(i) for i in range(10_000)]  # more than two parse chunks
    lines[5] = '{"id": "cut'
    lines[4_500] = "[1, 2]"
    lines[9_999] = '{"id": "r09999", "batch": "oops"}'
    path.write_text("\n".join(lines) + "\n")
    records, problems = JobStore(path).read_with_problems()
    assert len(records) == 9_997
    assert [(p.line_no, p.record) for p in problems] == [(6, False), (4_501, False), (10_000, True)]
    assert problems[0].reason == "not valid JSON: Unterminated string starting at column 8"
    assert problems[0].raw == '{"id": "cut'
    assert problems[1].reason == "not a JSON object"
    assert problems[2].reason == "batch: expected an object, got a string"
    assert [r["id"] for r in records[:6]] == ["r00000", "r00001", "r00002", "r00003", "r00004", "r00006"]


def test_crlf_blank_lines_and_missing_last_newline(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_bytes(
        _line(0).encode() + b"\r\n"
        + b"\n   \t\r\n"  # blank lines: dropped, but they still count for line numbers
        + b'{"id": "bad\r\n'
        + _line(1).encode() + b"\r\r\n"
        + _line(2).encode()  # no newline at the end
    )
    store = JobStore(path)
    records, problems = store.read_with_problems()
    assert [r["id"] for r in records] == ["r00000", "r00001", "r00002"]
    assert [(p.line_no, p.raw) for p in problems] == [(4, '{"id": "bad')]
    store.update("r00002", lambda r: r.update(seen=True))
    assert path.read_bytes().split(b"\n") == [
        _line(0).encode(), b'{"id": "bad', _line(1).encode(),
        json.dumps(dict(json.loads(_line(2)), seen=True)).encode(), b"",
    ]
    assert [p.line_no for p in JobStore(path).problems()] == [2]
    assert store.problems()[0].line_no == 2  # the writer's own renumbering agrees with a fresh read


def test_non_utf8_line_is_reported_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_bytes(_line(0).encode() + b"\n" + b'{"id": "\xff\xfe"}\n' + _line(1).encode() + b"\n")
    store = JobStore(path)
    records, problems = store.read_with_problems()
    assert [r["id"] for r in records] == ["r00000", "r00001"]
    assert [p.line_no for p in problems] == [2]
    store.update("r00001", lambda r: r.update(seen=True))
    assert path.read_bytes().split(b"\n")[1] == b'{"id": "\xff\xfe"}'


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_is_left_as_it_was(tmp_path: Path, enabled: bool) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text("".join(_line(i) + "\n" for i in range(100)))
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        store = JobStore(path)
        assert len(store.read_all()) == 100
        assert gc.isenabled() is enabled
        store.update("r00001", lambda r: r.update(seen=True))
        assert len(JobStore(path).read_all()) == 100
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_collector_comes_back_after_a_failed_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text(_line(0) + "\n")

    def broken(lines: list[bytes]) -> list[object]:
        raise MemoryError

    monkeypatch.setattr(store_module, "_parse_bulk", broken)
    assert gc.isenabled()
    with pytest.raises(MemoryError):
        JobStore(path).read_all()
    assert gc.isenabled()


def test_directory_in_place_of_the_store_is_still_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.mkdir()
    with pytest.raises(StoreError, match="is a directory"):
        JobStore(path).read_all()
