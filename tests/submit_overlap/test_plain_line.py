"""The fast reading of plain lines (plain_line.py): taken for the commonest line, and never a different verdict.

Every file here is validated twice: as the product does (orjson, plain lines by the fast path) and by the standard
library's full check of every line (`input_line.fast_loads` None), and the two reports must agree in every message and figure.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from gembatch_tui.core.api.pricing import estimate_request_tokens
from gembatch_tui.core.submit import input_line, validate
from gembatch_tui.core.submit.plain_line import plain_request

PLAIN = {"key": "k", "request": {"contents": [{"parts": [{"text": "hello"}]}]}}


def _write(tmp_path: Path, lines: list[bytes], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _agree(monkeypatch: pytest.MonkeyPatch, path: Path) -> validate.ValidationReport:
    events: list[str] = []
    fast = validate.validate_file(path, watch=events.append)
    with monkeypatch.context() as m:
        m.setattr(input_line, "fast_loads", None)
        slow_events: list[str] = []
        slow = validate.validate_file(path, watch=slow_events.append)
    assert fast.messages() == slow.messages()
    assert [w.format(path) for w in fast.warnings] == [w.format(path) for w in slow.warnings]
    assert (fast.ok, fast.request_count, fast.est_input_tokens, fast.sha256, fast.needs_normalising, fast.kind,
            fast.first_lines, fast.media_refs) == (
        slow.ok, slow.request_count, slow.est_input_tokens, slow.sha256, slow.needs_normalising, slow.kind,
        slow.first_lines, slow.media_refs)
    assert events == slow_events
    return fast


def _line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def test_plain_lines_skip_the_full_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [_line({"key": f"k{i}", "request": {"contents": [
        {"role": "user", "parts": [{"text": "q" * i}, {"text": "🙂"}]}, {"role": "model", "parts": [{"text": "a"}]}],
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 10}}}) for i in range(40)]
    full: list[int] = []
    check_line = validate._check_line

    def counted(raw: bytes, line_no: int, checker: Any, *, fast: bool) -> Any:
        full.append(line_no)
        return check_line(raw, line_no, checker, fast=fast)

    monkeypatch.setattr(validate, "_check_line", counted)
    report = _agree(monkeypatch, _write(tmp_path, lines))
    assert report.ok and report.request_count == 40
    assert full == list(range(1, 41))  # only the full check's own run (the json reading) called it


@pytest.mark.parametrize("obj", [
    {"key": "k", "request": {"contents": [{"parts": [{"text": ""}]}]}},  # empty text: 1 token
    {"key": "k", "request": {"contents": [{"role": "system", "parts": [{"text": "x"}]}]}},
    {"key": "k", "request": {"contents": [{"role": None, "parts": [{"text": "x"}]}]}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x", "thought": True}]}]}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": 5}]}]}},
    {"key": "k", "request": {"contents": [{"parts": []}]}},
    {"key": "k", "request": {"contents": []}},
    {"key": "k", "request": {"contents": "shorthand"}},
    {"key": "k", "request": {"contents": ["shorthand"]}},
    {"key": "k", "request": {"contents": [{"parts": ["shorthand"]}]}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}], "extra": 1}]}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"temprature": 1}}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": None}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": []}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}]}], "generation_config": {"top_k": 3},
                             "generationConfig": {"topP": 0.5}}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}]}], "systemInstruction": "be brief"}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}]}], "tools": [{}]}},
    {"key": "k", "request": {"content": {"parts": [{"text": "x"}]}}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}]}], "content": {"parts": [{"text": "x"}]}}},
    {"key": "", "request": {"contents": [{"parts": [{"text": "x"}]}]}},
    {"key": 7, "request": {"contents": [{"parts": [{"text": "x"}]}]}},
    {"key": "k", "request": []},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "x"}]}]}, "metadata": {"a": 1}},
    {"request": {"contents": [{"parts": [{"text": "x"}]}]}},
    {"custom_id": "k", "body": {"contents": [{"parts": [{"text": "x"}]}]}},
    {"key": "k", "request": {"contents": [{"parts": [{"text": "see [[FILE:nowhere.png]]"}]}]}},
    {"key": "[[FILE:x]]", "request": {"contents": [{"parts": [{"text": "x"}]}]}},
])
def test_odd_lines_get_the_full_checks_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, obj: Any) -> None:
    _agree(monkeypatch, _write(tmp_path, [_line(PLAIN), _line(obj), _line({**PLAIN, "key": "k"})]))


@pytest.mark.parametrize("raw", [
    b'{"key": "a", "key": "b", "request": {"contents": [{"parts": [{"text": "x"}]}]}}',
    b'{"key": "a", "request": {"contents": [{"parts": [{"text": "x"}]}]}, "request": {"contents": []}}',
    b'{"key": "a", "request": {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"seed": %d}}}' % 2**70,
    b'{"key": "\\ud83d\\ude42", "request": {"contents": [{"parts": [{"text": "\\u00e9\\ud83d\\ude42"}]}]}}',
    b'{"key": "a", "request": {"contents": [{"parts": [{"text": "x"}]}]}}\r',
    b'\xef\xbb\xbf{"key": "a", "request": {"contents": [{"parts": [{"text": "x"}]}]}}',
])
def test_raw_spellings_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: bytes) -> None:
    _agree(monkeypatch, _write(tmp_path, [raw, _line({**PLAIN, "key": "z"})]))
    _agree(monkeypatch, _write(tmp_path, [_line({**PLAIN, "key": "z"}), raw], "second.jsonl"))


def test_an_embedding_file_then_a_plain_generate_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embed = _line({"key": "e", "request": {"content": {"parts": [{"text": "x"}]}}})
    report = _agree(monkeypatch, _write(tmp_path, [embed, _line(PLAIN)]))
    assert not report.ok and "a file cannot mix both" in report.messages()[0]
    assert not _agree(monkeypatch, _write(tmp_path, [_line(PLAIN), embed], "other.jsonl")).ok


def test_the_token_estimate_is_pricings(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(18)
    for _ in range(300):
        contents = [{"parts": [{"text": "é🙂x"[: rng.randrange(4)] * rng.randrange(9)}
                               for _ in range(rng.randrange(1, 4))]} for _ in range(rng.randrange(1, 3))]
        request = {"contents": contents}
        plain = plain_request({"key": "k", "request": request})
        assert plain == ("k", estimate_request_tokens(request))


def _mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """A random near-miss of a plain line: fields dropped, renamed, retyped or added."""
    choices = [None, 0, 2**70, 1.5, True, "", "t", [], {}, [{"text": "y"}], {"parts": [{"text": "z"}]}]
    if isinstance(value, dict):
        out = {k: _mutate(rng, v, depth + 1) if rng.random() < 0.7 else v for k, v in value.items()}
        roll = rng.random()
        if roll < 0.1 and out:
            out.pop(rng.choice(list(out)))
        elif roll < 0.2:
            out[rng.choice(["role", "text", "key", "generationConfig", "temperature", "Text", "request", "x"])] = (
                rng.choice(choices))
        return out
    if isinstance(value, list):
        out_list = [_mutate(rng, v, depth + 1) for v in value]
        if rng.random() < 0.15:
            out_list.append(rng.choice(choices))
        if rng.random() < 0.1:
            out_list = []
        return out_list
    return rng.choice(choices) if rng.random() < 0.15 else value


def test_random_near_misses_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1804)
    base = {"key": "k", "request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                                    "generationConfig": {"temperature": 0.1}}}
    for round_no in range(20):
        lines = [_line({**_mutate(rng, base), "key": f"k{round_no}-{i}"} if rng.random() < 0.5 else _mutate(rng, base))
                 for i in range(40)]
        _agree(monkeypatch, _write(tmp_path, lines, f"r{round_no}.jsonl"))
