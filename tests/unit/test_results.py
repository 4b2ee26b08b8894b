"""Unit tests for core.results: verifying results files by key and flattening result lines."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from gembatch_tui.core.results.check import ResultLine, parse_result_line, verify_results
from gembatch_tui.core.submit.input_line import Problem

EXAMPLES = Path("/work/shared/examples")
REQ = {"contents": [{"parts": [{"text": "hi"}]}]}


def ok_line(key: str, text: str = "answer", key_last: bool = False) -> dict:
    response = {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 5, "totalTokenCount": 8},
        "modelVersion": "gemini-2.5-flash",
    }
    return {"response": response, "key": key} if key_last else {"key": key, "response": response}


def err_line(key: str) -> dict:
    return {"error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"},
            "key": key}


def write_input(tmp_path: Path, keys: list[str]) -> Path:
    path = tmp_path / "input.jsonl"
    path.write_text("".join(json.dumps({"key": k, "request": REQ}) + "\n" for k in keys))
    return path


def write_results(tmp_path: Path, rows: list[dict | str]) -> Path:
    path = tmp_path / "results.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("name", ["basic.jsonl", "structured-output.jsonl"])
def test_real_results_verify_ok(name: str) -> None:
    check = verify_results(EXAMPLES / "results" / name, EXAMPLES / name, expected_count=5)
    assert check.ok and check.keys_compared and check.input_problem is None
    assert (check.lines, check.ok_count, check.error_count) == (5, 5, 0)
    assert check.summary() == "5 results: 5 ok, 0 errors; 0 missing, 0 unexpected"


def test_real_result_lines_parse() -> None:
    rows = [parse_result_line(json.loads(x)) for x in (EXAMPLES / "results" / "basic.jsonl").read_text().splitlines()]
    assert [r.key for r in rows] == [f"request_{i}" for i in range(1, 6)]
    first = rows[0]
    assert first.ok and first.finish_reason == "STOP" and first.error is None
    assert first.usage == {"promptTokenCount": 14, "candidatesTokenCount": 900, "thoughtsTokenCount": 0,
                           "cachedContentTokenCount": 0, "totalTokenCount": 914}
    assert first.text.startswith("The fundamental difference between renewable")
    assert first.model_version == "gemini-2.5-flash-lite-preview-06-17"
    assert first.embedding_dims is None


def test_shuffled_results_with_varying_key_position_verify_ok(tmp_path: Path) -> None:
    keys = [f"k{i}" for i in range(40)]
    rows: list[dict | str] = [ok_line(k, key_last=i % 2 == 0) for i, k in enumerate(keys)]
    random.Random(7).shuffle(rows)
    check = verify_results(write_results(tmp_path, rows), write_input(tmp_path, keys), expected_count=40)
    assert check.ok, check
    assert check.summary() == "40 results: 40 ok, 0 errors; 0 missing, 0 unexpected"


def test_error_missing_unexpected_duplicate(tmp_path: Path) -> None:
    input_path = write_input(tmp_path, ["a", "b", "c", "d", "e"])
    rows: list[dict | str] = [ok_line("c"), err_line("a"), ok_line("zz", key_last=True), ok_line("c"), "", ok_line("e")]
    check = verify_results(write_results(tmp_path, rows), input_path)
    assert not check.ok
    assert (check.lines, check.ok_count, check.error_count) == (5, 4, 1)
    assert (check.missing_keys, check.missing_count) == (["b", "d"], 2)
    assert (check.unexpected_keys, check.unexpected_count) == (["zz"], 1)
    assert (check.duplicate_keys, check.duplicate_count) == (["c"], 1)
    assert check.parse_errors == [] and check.keys_compared
    assert check.summary() == "5 results: 4 ok, 1 error; 2 missing, 1 unexpected, 1 duplicate"


def test_error_lines_alone_are_still_ok(tmp_path: Path) -> None:
    check = verify_results(write_results(tmp_path, [err_line("b"), ok_line("a")]), write_input(tmp_path, ["a", "b"]))
    assert check.ok and check.error_count == 1


def test_parse_errors_and_expected_count(tmp_path: Path) -> None:
    rows: list[dict | str] = [ok_line("a"), "{broken", "[1]", {"response": {}}, {"key": "b"}, ok_line("c")]
    check = verify_results(write_results(tmp_path, rows), write_input(tmp_path, ["a", "b", "c"]), expected_count=3)
    assert not check.ok
    assert check.parse_errors == [
        Problem(None, "results have 6 lines, batch stats say 3"),
        Problem(2, "not valid JSON: Expecting property name enclosed in double quotes at column 2"),
        Problem(3, "expected a JSON object"),
        Problem(4, "result has no 'key'"),
        Problem(5, "result for key 'b' has neither 'response' nor 'error'"),
    ]
    assert check.parse_error_count == 5
    assert check.missing_count == 0  # 'b' came back, only malformed


def test_assigned_input_keys_match(tmp_path: Path) -> None:
    input_path = tmp_path / "input.jsonl"
    input_path.write_text(json.dumps({"request": REQ}) + "\n\n" + json.dumps(REQ) + "\n")
    check = verify_results(write_results(tmp_path, [ok_line("request-3"), ok_line("request-1")]), input_path)
    assert check.ok, check


def test_many_missing_keys_are_capped_and_ordered(tmp_path: Path) -> None:
    keys = [f"k{i:04d}" for i in range(300)]
    check = verify_results(write_results(tmp_path, [ok_line("k0100")]), write_input(tmp_path, keys[::-1]))
    assert check.missing_count == 299
    assert check.missing_keys == [k for k in keys[::-1] if k != "k0100"][:50]


def test_unreadable_results_file_is_a_parse_error(tmp_path: Path) -> None:
    check = verify_results(tmp_path / "nope.jsonl", write_input(tmp_path, ["a"]))
    assert not check.ok
    assert check.parse_errors[0].line is None and "No such file or directory" in check.parse_errors[0].message


@pytest.mark.parametrize("case", ["none", "missing", "invalid"])
def test_input_problems_skip_key_comparison_only(tmp_path: Path, case: str) -> None:
    results = write_results(tmp_path, [ok_line("a"), ok_line("a"), err_line("b")])
    input_path: Path | None = None
    if case == "missing":
        input_path = tmp_path / "gone.jsonl"
    elif case == "invalid":
        input_path = tmp_path / "input.jsonl"
        input_path.write_text(json.dumps({"key": "a", "request": REQ}) + "\nnope\n")
    check = verify_results(results, input_path, expected_count=3)
    assert check.parse_errors == [] and check.keys_compared is False
    assert (check.duplicate_keys, check.ok_count, check.error_count) == (["a"], 2, 1)
    assert check.missing_count == check.unexpected_count == 0
    expected_problem = {
        "none": None,
        "missing": "cannot read input file: No such file or directory",
        "invalid": "input file is not valid: " + str(input_path) + ":2: not valid JSON",
    }[case]
    if expected_problem is None:
        assert check.input_problem is None
        assert check.summary().endswith("1 duplicate (input not compared)")
    else:
        assert check.input_problem is not None and expected_problem in check.input_problem
        assert "(input not compared: " in check.summary()
    assert not check.ok  # the duplicate alone makes it not ok


def test_no_input_given_can_still_be_ok(tmp_path: Path) -> None:
    check = verify_results(write_results(tmp_path, [ok_line("a"), err_line("b")]), None, expected_count=2)
    assert check.ok and not check.keys_compared


@pytest.mark.parametrize(
    "obj,expected",
    [
        (err_line("x"), ResultLine("x", False, error="INVALID_ARGUMENT: Request contains an invalid argument.",
                                   error_code=400)),
        ({"key": "x", "error": {"code": 500, "message": "boom"}}, ResultLine("x", False, error="error 500: boom",
                                                                            error_code=500)),
        (
            {"key": "t", "response": {"candidates": [{"content": {"parts": [
                {"text": "thinking...", "thought": True}, {"text": "Hello, "}, {"thoughtSignature": "abc"},
                {"text": "world"}]}, "finishReason": "MAX_TOKENS"}],
                "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1373, "thoughtsTokenCount": 1582,
                                  "totalTokenCount": 2960, "cachedContentTokenCount": "4"}}},
            ResultLine("t", True, text="Hello, world", finish_reason="MAX_TOKENS",
                       usage={"promptTokenCount": 5, "candidatesTokenCount": 1373, "thoughtsTokenCount": 1582,
                              "cachedContentTokenCount": 4, "totalTokenCount": 2960}),
        ),
        (
            {"key": "s", "response": {"candidates": [], "prompt_feedback": {"block_reason": "SAFETY"},
                                      "usage_metadata": {"prompt_token_count": 9, "total_token_count": 9}}},
            ResultLine("s", True, error="blocked: SAFETY",
                       usage={"promptTokenCount": 9, "candidatesTokenCount": 0, "thoughtsTokenCount": 0,
                              "cachedContentTokenCount": 0, "totalTokenCount": 9}),
        ),
        (  # the answer withheld: only a thought came back before the SAFETY stop
            {"key": "w", "response": {"candidates": [{"content": {"parts": [{"text": "hm", "thought": True}]},
                                                      "finishReason": "SAFETY", "index": 0}],
                                      "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}},
            ResultLine("w", True, finish_reason="SAFETY", error="answer blocked: SAFETY",
                       usage={"promptTokenCount": 8, "candidatesTokenCount": 0, "thoughtsTokenCount": 0,
                              "cachedContentTokenCount": 0, "totalTokenCount": 8}),
        ),
        (  # text came before the RECITATION stop: an answer, cut short, not an error
            {"key": "r", "response": {"candidates": [{"content": {"parts": [{"text": "Once upon"}]},
                                                      "finish_reason": "RECITATION"}]}},
            ResultLine("r", True, text="Once upon", finish_reason="RECITATION", usage=dict.fromkeys(
                ["promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount",
                 "totalTokenCount"], 0)),
        ),
        (
            {"response": {"embedding": {"values": [0.1, 0.2, 0.3]}}, "key": "e"},
            ResultLine("e", True, embedding_dims=3, usage=dict.fromkeys(
                ["promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount",
                 "totalTokenCount"], 0)),
        ),
        (
            {"key": "e2", "response": {"embeddings": [{"values": [0.0] * 768}]}},
            ResultLine("e2", True, embedding_dims=768, usage=dict.fromkeys(
                ["promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount",
                 "totalTokenCount"], 0)),
        ),
    ],
)
def test_parse_result_line(obj: dict, expected: ResultLine) -> None:
    assert parse_result_line(obj) == expected


@pytest.mark.parametrize(
    "obj,message",
    [({"response": {}}, "no 'key'"), ({"key": ""}, "no 'key'"), ({"key": "a"}, "neither"), ([1], "not a JSON object")],
)
def test_parse_result_line_rejects(obj: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_result_line(obj)  # type: ignore[arg-type]


def test_verify_with_spilled_key_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gembatch_tui.core.submit import keyset

    monkeypatch.setattr(keyset, "RUN_SIZE", 5)
    keys = [f"k{i}" for i in range(60)]
    rows: list[dict | str] = [ok_line(k) for k in keys if k not in ("k7", "k44")] + [ok_line("k9"), ok_line("new")]
    random.Random(3).shuffle(rows)
    check = verify_results(write_results(tmp_path, rows), write_input(tmp_path, keys))
    assert (check.missing_keys, check.unexpected_keys, check.duplicate_keys) == (["k7", "k44"], ["new"], ["k9"])
    assert (check.missing_count, check.unexpected_count, check.duplicate_count) == (2, 1, 1)
