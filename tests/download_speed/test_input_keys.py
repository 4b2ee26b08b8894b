"""The input's keys read on the fast path (input_read.iter_keys, issue 18) are those of the full check, and a bad line
fails with the same message, whichever way each line goes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.results import check as results_check
from gembatch_tui.core.submit.keyset import KeySet
from gembatch_tui.core.submit.input_read import iter_keys, iter_parsed


def _plain(key: str, text: str = "hi") -> str:
    return json.dumps({"key": key, "request": {"contents": [{"parts": [{"text": text}]}]}})


LINES = [
    _plain("a"),
    "",
    "   ",
    json.dumps({"request": {"contents": [{"role": "user", "parts": [{"text": "x"}]}],
                            "generationConfig": {"temperature": 0.5}}, "key": "b"}),
    json.dumps({"key": "c", "request": {"contents": "shorthand"}}),  # expanded: the full way
    json.dumps({"request": {"contents": [{"parts": [{"text": "no key"}]}]}}),  # assigned key request-N
    json.dumps({"custom_id": "d", "body": {"contents": [{"parts": [{"text": "x"}]}]}}),
    json.dumps({"contents": [{"parts": [{"text": "bare"}]}], "key": "e"}),
    json.dumps({"key": "f", "request": {"contents": [{"parts": [{"text": "[[FILE:x.png]]"}]}]}}),
    json.dumps({"key": "g", "request": {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"tempx": 1}}}),
    json.dumps({"key": "h", "extra": 1, "request": {"contents": [{"parts": [{"text": "x"}]}]}}),
    _plain("a"),  # a repeat is the caller's to find
    _plain("ü-\u2603", "é"),
]


def _both(path: Path) -> tuple[list, str | None, list, str | None]:
    def run(it):  # noqa: ANN001, ANN202
        got: list = []
        try:
            for item in it:
                got.append(item)
        except ValueError as exc:
            return got, str(exc)
        return got, None

    full = run((line, offset, key) for line, offset, _raw, key, _req, _canon in iter_parsed(path))
    fast = run(iter_keys(path))
    return (*full, *fast)


def test_same_keys_as_the_full_check(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    full, full_err, fast, fast_err = _both(path)
    assert full_err is None and fast_err is None
    assert fast == full
    assert [k for _, _, k in fast] == ["a", "b", "c", "request-6", "d", "e", "f", "g", "h", "a", "ü-\u2603"]


BAD = [
    "not json",
    json.dumps({"key": "", "request": {"contents": [{"parts": [{"text": "x"}]}]}}),
    json.dumps({"key": 5, "request": {"contents": [{"parts": [{"text": "x"}]}]}}),
    json.dumps({"key": "x", "request": {"contents": []}}),
    json.dumps({"key": "x", "request": {"contents": [{"parts": []}]}}),
    json.dumps({"key": "x", "request": {"contents": [{"role": "boss", "parts": [{"text": "x"}]}]}}),
    json.dumps({"key": "x", "request": {"content": {"parts": [{"text": "embed"}]}}}),  # mixes kinds
    json.dumps({"key": "x", "request": {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": 3}}),
    json.dumps({"key": "x", "request": []}),
    '{"key": "x", "request": {"contents": [{"parts": [{"text": NaN}]}]}}',
    '{"key": "\\ud800", "request": {"contents": [{"parts": [{"text": "x"}]}]}}',
    "[1, 2]",
]


@pytest.mark.parametrize("bad", BAD)
def test_a_bad_line_fails_alike(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([_plain("a"), _plain("b"), bad, _plain("c")]) + "\n", encoding="utf-8")
    full, full_err, fast, fast_err = _both(path)
    assert fast == full
    assert fast_err == full_err


def test_embed_file_and_bom(tmp_path: Path) -> None:
    embed = tmp_path / "embed.jsonl"
    embed.write_text("\n".join(json.dumps({"key": f"k{i}", "request": {"content": {"parts": [{"text": "x"}]}}})
                               for i in range(3)) + "\n" + _plain("z") + "\n", encoding="utf-8")
    full, full_err, fast, fast_err = _both(embed)
    assert (fast, fast_err) == (full, full_err) and full_err is not None and len(full) == 3
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + (_plain("a") + "\n" + _plain("b") + "\n").encode())
    full, full_err, fast, fast_err = _both(bom)
    assert (fast, fast_err) == (full, full_err) and [k for _, _, k in fast] == ["a", "b"]


def test_load_input_keys_fills_in_blocks_in_order(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    n = results_check._KEY_BLOCK * 2 + 7
    path.write_text("".join(_plain(f"k{i}") + "\n" for i in range(n)) + "oops\n", encoding="utf-8")
    check = results_check.ResultsCheck()
    with KeySet() as wanted:
        assert not results_check.load_input_keys(check, path, wanted)
        assert len(wanted) == n  # the keys before the bad line, as one by one
        assert [wanted.entry(i).line for i in (0, n - 1)] == [1, n]
    assert check.input_problem is not None and f"{path}:{n + 1}:" in check.input_problem
    path.write_text("".join(_plain(f"k{i}") + "\n" for i in range(n)), encoding="utf-8")
    one_by_one: list = []

    class Adds:
        def add(self, key: str, line: int, offset: int) -> None:
            one_by_one.append((line, offset, key))

    assert results_check.load_input_keys(results_check.ResultsCheck(), path, Adds())  # type: ignore[arg-type]
    assert one_by_one == list(iter_keys(path))
