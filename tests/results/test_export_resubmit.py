"""Joined export (JSONL and CSV round trips) and the resubmit-failures file."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.results.results_helpers import HOSTILE, MESSY_INPUT, copy_example

from gembatch_tui.core.results.export import FIELDS, default_export_path, export_to_file, read_export, write_export
from gembatch_tui.core.results.index import ResultsIndex
from gembatch_tui.core.results.resubmit import (
    ResubmitError,
    build_retry_file,
    link_resubmits,
    resubmit_extra,
    retry_path,
)
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.input_read import iter_requests
from gembatch_tui.core.submit.validate import validate_file


def build(record: dict[str, Any]) -> ResultsIndex:
    return ResultsIndex.build(record["results_file"], record["input_file"])


def requests_of(path: str | Path) -> dict[str, dict[str, Any]]:
    return {key: request for _line, key, request in iter_requests(path)}


# ----------------------------------------------------------------------------- export
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_round_trip(messy_job: dict[str, Any], tmp_path: Path, fmt: str) -> None:
    index = build(messy_job)
    dest = tmp_path / f"out.{fmt}"
    assert export_to_file(index, dest, fmt) == 7
    rows = read_export(dest)
    assert [tuple(r) for r in rows] == [FIELDS] * 7
    by_key = {r["key"]: r for r in rows}
    assert [r["key"] for r in rows] == ["a1", "a2", "a3", "a4", "a5", "a6", "zz"]
    assert {k: r["status"] for k, r in by_key.items()} == {
        "a1": "ok", "a2": "error", "a3": "missing", "a4": "ok", "a5": "ok", "a6": "ok", "zz": "unexpected"}
    wanted = requests_of(messy_job["input_file"])
    for key, _text in MESSY_INPUT:
        assert by_key[key]["request"] == wanted[key]
    assert by_key["zz"]["request"] is None
    assert by_key["a1"]["response_text"] == HOSTILE
    assert by_key["a4"]["response_text"] == "Penguins are birds.\nThey cannot fly."
    assert by_key["a2"]["error"] == "RESOURCE_EXHAUSTED: Resource exhausted" and by_key["a2"]["response_text"] is None
    assert by_key["a3"]["error"] == "no result for this key in the results file"
    a4 = by_key["a4"]
    assert (a4["prompt_tokens"], a4["output_tokens"], a4["thinking_tokens"], a4["cached_tokens"],
            a4["total_tokens"], a4["finish_reason"]) == (10, 20, 5, 3, 35, "STOP")
    a6 = by_key["a6"]  # no usage: unknown, never 0
    assert a6["prompt_tokens"] is None and a6["total_tokens"] is None and a6["finish_reason"] == "MAX_TOKENS"


def test_export_of_a_real_example_matches_its_files(tmp_path: Path) -> None:
    record = copy_example(tmp_path, "basic")
    out = io.StringIO()
    assert write_export(build(record), out, "jsonl") == 5
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    results = {}
    for line in Path(record["results_file"]).read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        results[obj["key"]] = obj["response"]
    wanted = requests_of(record["input_file"])
    for row in rows:
        response = results[row["key"]]
        assert row["request"] == wanted[row["key"]]
        assert row["response_text"] == response["candidates"][0]["content"]["parts"][0]["text"]
        assert row["prompt_tokens"] == response["usageMetadata"]["promptTokenCount"]
        assert row["output_tokens"] == response["usageMetadata"]["candidatesTokenCount"]
        assert row["thinking_tokens"] == 0 and row["status"] == "ok"


def test_export_paths_and_bad_format(messy_job: dict[str, Any], tmp_path: Path) -> None:
    assert default_export_path("/x/results/batch.jsonl", "csv") == Path("/x/results/batch.export.csv")
    with pytest.raises(ValueError):
        export_to_file(build(messy_job), tmp_path / "x.xml", "xml")
    assert not list(tmp_path.glob(".x.xml*"))


# ----------------------------------------------------------------------------- resubmit
def test_retry_file_holds_exactly_the_failed_keys(messy_job: dict[str, Any]) -> None:
    built = build_retry_file(build(messy_job))
    assert built.count == 2
    assert built.path == Path(messy_job["input_file"]).with_name("messy.retry-1.jsonl")
    lines = [json.loads(x) for x in built.path.read_text(encoding="utf-8").splitlines()]
    assert [list(obj) for obj in lines] == [["key", "request"]] * 2  # canonical
    assert [obj["key"] for obj in lines] == ["a2", "a3"]  # the error and the missing one, input order
    wanted = requests_of(messy_job["input_file"])
    assert all(obj["request"] == wanted[obj["key"]] for obj in lines)
    assert validate_file(built.path).ok
    # the next one does not overwrite it, and a retry of a retry does not stack suffixes
    assert build_retry_file(build(messy_job)).path.name == "messy.retry-2.jsonl"
    assert retry_path(built.path).name == "messy.retry-3.jsonl"


def test_retry_of_non_canonical_input_is_canonical(tmp_path: Path) -> None:
    inp = tmp_path / "custom.jsonl"
    inp.write_text(
        '{"custom_id": "c1", "body": {"contents": "one"}}\n'
        '{"contents": [{"parts": [{"text": "two"}]}]}\n', encoding="utf-8")
    res = tmp_path / "res.jsonl"
    res.write_text('{"key": "c1", "response": {}}\n', encoding="utf-8")
    built = build_retry_file(ResultsIndex.build(res, inp))
    assert [json.loads(x) for x in built.path.read_text(encoding="utf-8").splitlines()] == [
        {"key": "request-2", "request": {"contents": [{"parts": [{"text": "two"}]}]}}]


def test_nothing_to_retry_and_no_input(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    with pytest.raises(ResubmitError, match="nothing to resubmit"):
        build_retry_file(build(copy_example(tmp_path, "basic")))
    with pytest.raises(ResubmitError, match="cannot tell which requests failed"):
        build_retry_file(ResultsIndex.build(messy_job["results_file"], None))
    assert not list((tmp_path / "data").glob("*.retry-*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_retry_goes_to_the_results_folder_when_the_input_folder_is_read_only(messy_job: dict[str, Any]) -> None:
    folder = Path(messy_job["input_file"]).parent
    folder.chmod(0o555)
    try:
        built = build_retry_file(build(messy_job))
    finally:
        folder.chmod(0o755)
    assert built.path.parent == Path(messy_job["results_file"]).parent


def test_retry_path_falls_back_when_access_says_read_only(
    messy_job: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = str(Path(messy_job["input_file"]).parent)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == folder else real(p, mode))
    assert retry_path(messy_job["input_file"], Path(messy_job["results_file"]).parent).parent == Path(
        messy_job["results_file"]).parent


def test_link_resubmits(tmp_path: Path, messy_job: dict[str, Any]) -> None:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.add(messy_job)
    built = build_retry_file(build(messy_job))
    store.add({"id": "new", "input_file": str(built.path), "batch": {"name": "batches/new"}})
    store.add({"id": "other", "input_file": "/elsewhere.jsonl", "batch": {"name": "batches/other"}})
    assert link_resubmits(store, built.path, messy_job) == ["new"]
    new = store.get("new") or {}
    assert new["resubmit_of"] == "rec1" and new["resubmit_of_batch"] == "batches/rec1-batch"
    assert resubmit_extra(messy_job) == {"resubmit_of": "rec1", "resubmit_of_batch": "batches/rec1-batch"}
    assert link_resubmits(store, built.path, messy_job) == []  # already linked
    assert "resubmit_of" not in (store.get("other") or {})


def test_structured_output_answers_are_exported_parsed(tmp_path: Path) -> None:
    rec = copy_example(tmp_path, "structured-output")
    index = ResultsIndex.build(rec["results_file"], rec["input_file"])
    rows = [json.loads(line) for line in _jsonl(index)]
    assert len(rows) == 5 and all(r["status"] == "ok" for r in rows)
    for r in rows:  # the real answers are JSON objects, as their requests' response_schema asked
        assert isinstance(r["response_json"], dict) and r["response_json"] == json.loads(r["response_text"])
    dest = tmp_path / "out.csv"
    export_to_file(index, dest, "csv")
    assert [r["response_json"] for r in read_export(dest)] == [r["response_json"] for r in rows]
    basic = copy_example(tmp_path / "b", "basic")  # plain text answers: nothing to parse
    plain = [json.loads(line) for line in _jsonl(ResultsIndex.build(basic["results_file"], basic["input_file"]))]
    assert {r["response_json"] for r in plain} == {None}


def test_a_json_answer_cut_off_is_null_not_a_guess(tmp_path: Path) -> None:
    from tests.results.results_helpers import write_jsonl

    ask = {"contents": [{"parts": [{"text": "q"}]}], "generationConfig": {"responseMimeType": "application/json"}}
    inp = write_jsonl(tmp_path / "in.jsonl", [{"key": "a", "request": ask}, {"key": "b", "request": ask}])
    answers = {"a": '{"x": 1}', "b": '{"x": [1, 2'}
    res = write_jsonl(tmp_path / "results" / "in.jsonl", [
        {"key": k, "response": {"candidates": [{"content": {"parts": [{"text": t}], "role": "model"},
                                                "finishReason": "STOP" if k == "a" else "MAX_TOKENS"}]}}
        for k, t in answers.items()])
    rows = {r["key"]: r for r in map(json.loads, _jsonl(ResultsIndex.build(res, inp)))}
    assert rows["a"]["response_json"] == {"x": 1}
    assert rows["b"]["response_json"] is None and rows["b"]["finish_reason"] == "MAX_TOKENS"


def _jsonl(index: ResultsIndex) -> list[str]:
    out = io.StringIO()
    write_export(index, out, "jsonl")
    return out.getvalue().splitlines()


def test_retry_leaves_out_requests_refused_as_written_and_says_why(tmp_path: Path) -> None:
    """A 400 (INVALID_ARGUMENT or FAILED_PRECONDITION) fails the same way when sent again unchanged: the retry
    file holds the transient errors, blocked answers and missing keys, and its note counts and names the rest."""
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}})
                           + "\n" for i in range(6)), encoding="utf-8")
    res = tmp_path / "res.jsonl"
    res.write_text("\n".join(json.dumps(x) for x in [
        {"key": "k0", "response": {"candidates": [{"content": {"parts": [{"text": "fine"}]}}]}},
        {"key": "k1", "error": {"code": 400, "message": "Invalid value at 'temprature'", "status": "INVALID_ARGUMENT"}},
        {"key": "k2", "error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}},
        {"key": "k3", "error": {"code": "400", "message": "location not supported", "status": "FAILED_PRECONDITION"}},
        {"key": "k4", "response": {"promptFeedback": {"blockReason": "SAFETY"}}},
    ]) + "\n", encoding="utf-8")  # k5: missing
    built = build_retry_file(ResultsIndex.build(res, inp))
    assert [json.loads(x)["key"] for x in built.path.read_text(encoding="utf-8").splitlines()] == ["k2", "k4", "k5"]
    assert built.count == 3
    note = built.note()
    assert note.startswith("2 requests the service rejected as written (400 INVALID_ARGUMENT: Invalid value at")
    assert "they fail the same way; fix the input to send them" in note

    # Only refusals: nothing is written, and the message says why instead of "no failed requests".
    only = tmp_path / "only.jsonl"
    only.write_text("\n".join(res.read_text(encoding="utf-8").splitlines()[:2]) + "\n"
                    + "".join(json.dumps({"key": f"k{i}", "response": {}}) + "\n" for i in range(2, 6)),
                    encoding="utf-8")
    before = sorted(tmp_path.glob("*.retry-*"))
    with pytest.raises(ResubmitError, match=r"nothing to resubmit: 1 request the service rejected as written \(400 "):
        build_retry_file(ResultsIndex.build(only, inp))
    assert sorted(tmp_path.glob("*.retry-*")) == before
