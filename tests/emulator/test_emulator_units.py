"""Pure pieces of the emulator, without HTTP: timeline, pagination, timestamps, synthesis, result lines."""

from __future__ import annotations

import json
from array import array
from pathlib import Path

import pytest

from gembatch_tui.emulator import KNOWN_MODELS, results, synth, util
from gembatch_tui.emulator import batches as b
from gembatch_tui.emulator.catalog import GENERATE
from gembatch_tui.emulator.errors import ApiError


def _record(n: int = 4, failed: tuple[int, ...] = (), job: float = 100.0, expiry: float = 1000.0) -> b.BatchRecord:
    return b.BatchRecord(
        batch_id="x" * 40, kind=GENERATE, model="models/gemini-2.5-flash", display_name=None, input_file=None,
        input_path=None, inline=[], request_count=n, failed=array("I", failed), created=0.0, job_seconds=job,
        expiry_seconds=expiry, seq=1,
    )


def test_timeline() -> None:
    rec = _record(n=4, failed=(1,))
    assert rec.evaluate(0).state == b.PENDING
    assert rec.evaluate(14.9).state == b.PENDING
    running = rec.evaluate(15 + 85 * 0.5)
    assert running.state == b.RUNNING and running.processed == 2
    assert rec.counts(running.processed) == (1, 1)
    assert running.update_time == pytest.approx(15 + 85 * 0.5)
    done = rec.evaluate(100)
    assert (done.state, done.processed, done.end_time) == (b.SUCCEEDED, 4, 100)
    rec.cancelled_at = 50
    assert rec.evaluate(200).state == b.CANCELLED


def test_expiry_and_failure() -> None:
    assert _record(job=100, expiry=60).evaluate(60).state == b.EXPIRED
    assert _record(job=100, expiry=60).evaluate(59).state == b.RUNNING
    assert _record(job=100, expiry=100).evaluate(100).state == b.SUCCEEDED
    failing = _record(n=0)
    failing.fail_reason = "empty"
    assert failing.evaluate(10).state == b.PENDING
    assert failing.evaluate(15).state == b.FAILED
    op = failing.to_operation(failing.evaluate(15))
    assert op["done"] is True and op["error"]["message"] == "empty" and "response" not in op


def test_rfc3339() -> None:
    assert util.rfc3339(0) == "1970-01-01T00:00:00.000000000Z"
    assert util.rfc3339(1.5, 6) == "1970-01-01T00:00:01.500000Z"
    assert util.rfc3339(1.9999999999) == "1970-01-01T00:00:02.000000000Z"


def test_paginate_exact_multiple_has_no_token() -> None:
    items = list(range(1, 5))
    page, token = util.paginate(items, lambda i: i, "2", None)
    assert page == [4, 3] and token
    page, token = util.paginate(items, lambda i: i, "2", token)
    assert page == [2, 1] and token is None
    assert util.paginate([], lambda i: i, None, None) == ([], None)
    with pytest.raises(ApiError):
        util.paginate(items, lambda i: i, "x", None)


def test_known_models_constant() -> None:
    for name in ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-2.0-flash",
                 "gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-embedding-001", "text-embedding-004"):
        assert name in KNOWN_MODELS


def test_every_model_the_submit_screen_offers_is_one_the_emulator_knows() -> None:
    """Submit asks models.get first: a model we offer that the demo's server did not know would be refused."""
    from gembatch_tui.core.api.models_catalog import MODELS

    assert [m.id for m in MODELS if m.id not in KNOWN_MODELS] == []


def test_schema_answers_follow_property_ordering() -> None:
    rng = synth.rng_for(0, 0, "x")
    schema = {"type": "OBJECT", "properties": {"b": {"type": "NUMBER"}, "a": {"type": "STRING"}},
              "propertyOrdering": ["a", "b"]}
    value = synth.value_for_schema(schema, "Tokyo is hot", rng)
    assert list(value) == ["a", "b"] and isinstance(value["b"], float)
    js = {"type": "object", "properties": {"n": {"type": ["integer", "null"]}, "e": {"enum": ["x", "y"]}}}
    value = synth.value_for_schema(js, "p", rng)
    assert isinstance(value["n"], int) and value["e"] in ("x", "y")


def test_max_output_tokens_truncates() -> None:
    req = {"contents": [{"parts": [{"text": "Explain " * 50}]}], "generationConfig": {"maxOutputTokens": 5}}
    resp = results.generate_response(req, "models/gemini-2.0-flash", 0, 0)
    cand = resp["candidates"][0]
    assert cand["finishReason"] == "MAX_TOKENS" and len(cand["content"]["parts"][0]["text"]) <= 20
    assert resp["usageMetadata"]["candidatesTokenCount"] == 5


def test_result_lines_vary_field_order(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(
        json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"question {i}"}]}]}}) + "\n"
        for i in range(200)))
    out = tmp_path / "out.jsonl"
    size, sha = results.write_results(src, out, GENERATE, "models/gemini-2.5-flash", 0)
    raw = out.read_bytes()
    assert size == len(raw) and len(sha) == 64
    lines = [json.loads(x) for x in raw.splitlines()]
    assert [x["key"] for x in lines] == [f"k{i}" for i in range(200)]
    first = [next(iter(x)) for x in lines]
    assert 0.05 < first.count("key") / 200 < 0.5  # key first on some lines, last on most
    assert len({tuple(x["response"]) for x in lines}) > 5  # response field order varies


def test_over_long_line_is_an_error_not_a_memory_spike(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(results, "MAX_LINE_BYTES", 100)
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"key":"a","request":{"contents":[{"parts":[{"text":"hi"}]}]}}\n' + b"x" * 1000 + b"\n")
    scan = results.scan_input(src, GENERATE)
    assert (scan.requests, list(scan.failed)) == (2, [1])
