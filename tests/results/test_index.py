"""ResultsIndex: rows joined by key (never by position), statuses, missing/unexpected lists, filters, rows."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.results.results_helpers import EXAMPLES, HOSTILE, MESSY_RESULTS, copy_example, write_jsonl

from gembatch_tui.core.results.index import (
    DUPLICATE,
    ERROR,
    INVALID,
    MISSING,
    OK,
    UNEXPECTED,
    IndexCancelled,
    ResultsIndex,
    pretty_answer,
    preview_line,
)


def build(record: dict[str, Any], **kw: Any) -> ResultsIndex:
    return ResultsIndex.build(record["results_file"], record["input_file"], **kw)


@pytest.mark.parametrize("name", ["basic", "structured-output"])
def test_real_examples_join_to_their_inputs(tmp_path: Path, name: str) -> None:
    index = build(copy_example(tmp_path, name))
    assert len(index) == 5 and index.counts[OK] == 5 and index.keys_compared
    rows = index.summaries(index.all_rows())
    assert [r.key for r in rows] == [f"request_{i}" for i in range(1, 6)]
    # each row's answer is the one whose result line carries its key, wherever that line is
    by_key = {}
    for line in (EXAMPLES / "results" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        by_key[obj["key"]] = obj["response"]
    for summary in rows:
        response = by_key[summary.key]
        assert summary.tokens == response["usageMetadata"]["totalTokenCount"]
        assert summary.finish_reason == "STOP"
        full = index.row(summary.row)
        assert full.result is not None
        assert full.result.text == response["candidates"][0]["content"]["parts"][0]["text"]
        assert full.request is not None and "contents" in full.request


def test_structured_answers_are_pretty_printed(tmp_path: Path) -> None:
    index = build(copy_example(tmp_path, "structured-output"))
    row = index.row(0)
    assert row.answer_text() == json.dumps(json.loads(row.result.text), indent=2, ensure_ascii=False)  # type: ignore[union-attr]
    assert index.summaries([0])[0].preview.startswith('{"locations_and_temperatures": [{"location": "Tokyo"')
    # the request shows snake_case as the user wrote it
    assert '"response_mime_type": "application/json"' in row.request_json()


def test_messy_results_are_matched_by_key(messy_job: dict[str, Any]) -> None:
    index = build(messy_job)
    rows = index.summaries(index.all_rows())
    assert [(r.key, r.status) for r in rows] == [
        ("a1", "ok"), ("a2", "error"), ("a3", "missing"), ("a4", "ok"), ("a5", "ok"), ("a6", "ok"),
        ("zz", "unexpected"),
    ]
    assert index.counts[OK] == 4 and index.counts[ERROR] == 1 and index.counts[MISSING] == 1
    assert index.counts[UNEXPECTED] == 1
    assert index.keys_with(MISSING) == ["a3"]
    assert index.keys_with(UNEXPECTED) == ["zz"]
    assert index.summary() == "7 rows: 4 ok, 1 error, 1 missing, 1 unexpected"
    by_key = {r.key: r for r in rows}
    assert by_key["a2"].preview == "RESOURCE_EXHAUSTED: Resource exhausted"
    assert by_key["a3"].preview == "no result for this key in the results file"
    assert by_key["a4"].tokens == 35 and by_key["a4"].preview == "Penguins are birds."
    assert by_key["a6"].usage_missing and by_key["a6"].tokens is None and by_key["a6"].finish_reason == "MAX_TOKENS"
    assert by_key["a5"].preview == '{"b": 1, "a": [1, 2]}'
    assert by_key["a1"].preview == HOSTILE  # data, kept as it is: the UI escapes it


def test_rows_in_full(messy_job: dict[str, Any]) -> None:
    index = build(messy_job)
    missing = index.row(2)
    assert missing.key == "a3" and missing.result is None and missing.input_line == 3
    assert missing.request == {"contents": [{"parts": [{"text": "This one never comes back"}]}]}
    unexpected = index.row(6)
    assert unexpected.key == "zz" and unexpected.request is None and unexpected.result_line == 2
    error = index.row(1)
    assert json.loads(error.error_json()) == MESSY_RESULTS[2]["error"]
    assert error.answer_text() == ""
    assert index.row(4).answer_text() == '{\n  "b": 1,\n  "a": [\n    1,\n    2\n  ]\n}'


def test_errors_only_and_text_search(messy_job: dict[str, Any]) -> None:
    index = build(messy_job)
    assert list(index.not_ok_rows()) == [1, 2, 6]
    # case-insensitive, over key, request text, answer text and error
    assert list(index.search("penguins")[0]) == [3]  # request "PENGUINS" and answer "Penguins"
    assert list(index.search("cannot fly")[0]) == [3]
    assert list(index.search("exhausted")[0]) == [1]
    assert list(index.search("never comes")[0]) == [2]
    assert list(index.search("ZZ")[0]) == [6]
    assert list(index.search("@click")[0]) == [0]
    assert list(index.search("quota", index.not_ok_rows())[0]) == [1]
    assert list(index.search("nothing like this")[0]) == []
    found, capped = index.search("a", cap=2)
    assert len(found) == 2 and capped


def test_search_finds_escaped_and_non_ascii_text(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", [{"key": "k1", "request": {"contents": "Où est le café?"}},
                                              {"key": "k2", "request": {"contents": "say \"hi\" / bye"}}])
    res = write_jsonl(tmp_path / "res.jsonl", [  # json.dumps escapes É as \u00c9 and " as \"
        {"key": "k1", "response": {"candidates": [{"content": {"parts": [{"text": "CAFÉ CRÈME"}]}}]}},
        {"key": "k2", "response": {"candidates": [{"content": {"parts": [{"text": 'He said "hi"'}]}}]}},
    ])
    index = ResultsIndex.build(res, inp)
    assert "\\u00c9" in res.read_text(encoding="utf-8")
    assert list(index.search("café crème")[0]) == [0]
    assert list(index.search("OÙ EST")[0]) == [0]
    assert list(index.search('said "hi')[0]) == [1]
    assert list(index.search("hi\" / bye")[0]) == [1]


def test_search_can_be_cancelled(messy_job: dict[str, Any]) -> None:
    index = build(messy_job)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(IndexCancelled):
        index.search("a", cancel=cancel)


def test_duplicates_invalid_lines_and_blank_lines(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", [{"key": k, "request": {"contents": "hi"}} for k in ("k1", "k2")])
    res = tmp_path / "res.jsonl"
    res.write_text(
        '{"key": "k2", "response": {}}\n'
        "\n"
        "this is not json\n"
        '{"key": "k2", "error": {"code": 500, "message": "again"}}\n'
        '{"response": {}}\n'
        '{"key": "k1", "response": {}}\n',
        encoding="utf-8",
    )
    index = ResultsIndex.build(res, inp)
    rows = index.summaries(index.all_rows())
    assert [(r.key, r.status) for r in rows] == [
        ("k1", "ok"), ("k2", "ok"),  # the first line of a repeated key is the one joined
        ("(results line 3)", "invalid"), ("k2", "duplicate"), ("(results line 5)", "invalid"),
    ]
    assert index.counts[DUPLICATE] == 1 and index.counts[INVALID] == 2
    assert rows[2].preview.startswith("results line 3: not valid JSON")
    assert rows[4].preview == "results line 5: result has no 'key'"


def test_without_a_usable_input_rows_are_the_results_in_file_order(messy_job: dict[str, Any], tmp_path: Path) -> None:
    alone = ResultsIndex.build(messy_job["results_file"], None)
    assert [r.key for r in alone.summaries(alone.all_rows())] == ["a4", "zz", "a2", "a1", "a6", "a5"]
    assert not alone.keys_compared and "no input file" in alone.summary()
    gone = ResultsIndex.build(messy_job["results_file"], tmp_path / "nope.jsonl")
    assert gone.input_problem and "cannot read input file" in gone.input_problem
    assert len(gone) == 6 and gone.counts[MISSING] == 0 and gone.counts[UNEXPECTED] == 0
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"nokey": 1}])
    invalid = ResultsIndex.build(messy_job["results_file"], bad)
    assert invalid.input_problem and invalid.input_problem.startswith("input file is not valid")


def test_unreadable_results_raise_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        ResultsIndex.build(tmp_path / "none.jsonl", None)


def test_progress_and_result_hook(messy_job: dict[str, Any]) -> None:
    seen: list[str] = []
    ticks: list[tuple[int, int]] = []
    index = build(messy_job, on_result=lambda obj: seen.append(obj["key"]),
                  progress=lambda d, t: ticks.append((d, t)))
    assert seen == ["a4", "zz", "a2", "a1", "a6", "a5"]
    total = index.input_size + index.results_size
    assert ticks[-1] == (total, total)


def test_text_helpers() -> None:
    assert pretty_answer('  {"a":1}\n') == '{\n  "a": 1\n}'
    assert pretty_answer("{not json}") == "{not json}"
    assert preview_line("\n\n  first line  \nsecond") == "first line"
    assert preview_line("[1, 2]") == "[1, 2]"
    assert len(preview_line("x" * 1000)) == 200


def test_a_withheld_answer_is_an_error_to_see_and_send_again(tmp_path: Path) -> None:
    """The Batch API counts a SAFETY stop with no answer as a success; the browser shows it as the error it is to
    the user, as it does a blocked prompt, so "errors only" and a resubmit of the failed requests include it."""
    req = {"contents": [{"parts": [{"text": "q"}], "role": "user"}]}
    inp = write_jsonl(tmp_path / "in.jsonl", [{"key": k, "request": req} for k in ("fine", "cut", "gone", "prompt")])
    answer = {"content": {"parts": [{"text": "An answer."}], "role": "model"}, "finishReason": "STOP"}
    res = write_jsonl(tmp_path / "res.jsonl", [
        {"key": "fine", "response": {"candidates": [answer]}},
        {"key": "cut", "response": {"candidates": [{**answer, "finishReason": "RECITATION"}]}},
        {"key": "gone", "response": {"candidates": [{"finishReason": "SAFETY", "index": 0}],
                                     "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}},
        {"key": "prompt", "response": {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}},
    ])
    index = ResultsIndex.build(str(res), str(inp))
    rows = {r.key: r for r in index.summaries(index.all_rows())}
    assert {k: r.status for k, r in rows.items()} == {"fine": "ok", "cut": "ok", "gone": "error", "prompt": "error"}
    assert rows["gone"].preview == "answer blocked: SAFETY"
    assert rows["prompt"].preview == "blocked: PROHIBITED_CONTENT"
    assert rows["cut"].preview == "An answer."  # cut short by RECITATION, but an answer: shown, not hidden
    assert index.counts[ERROR] == 2 and index.keys_with(ERROR) == ["gone", "prompt"]


def test_a_finish_reason_that_is_not_a_string_is_read_as_an_answer(tmp_path: Path) -> None:
    """A hostile or damaged line with an object or a list as finishReason: the index pass goes on (an unhashable
    value once stopped the blocked-answer check with a TypeError)."""
    req = {"contents": [{"parts": [{"text": "q"}], "role": "user"}]}
    inp = write_jsonl(tmp_path / "in.jsonl", [{"key": k, "request": req} for k in ("obj", "list")])
    res = write_jsonl(tmp_path / "res.jsonl", [
        {"key": "obj", "response": {"candidates": [{"finishReason": {"SAFETY": 1}}]}},
        {"key": "list", "response": {"candidates": [{"finishReason": ["SAFETY"]}]}},
    ])
    index = ResultsIndex.build(str(res), str(inp))
    assert [(r.key, r.status) for r in index.summaries(index.all_rows())] == [("obj", "ok"), ("list", "ok")]
