"""The one-pass check of a downloaded results file (core/results_stream.py) gives exactly what the three separate
reads gave: `results.verify_results` with the standard library's parser, `ledger.usage_from_file`, and the sha256
of `results_fingerprint.compute`, for awkward files and at every chunk boundary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core import jsonfast
from gembatch_tui.core.results import ledger, check as results, fingerprint as results_fingerprint
from gembatch_tui.core.results.stream import StreamVerifier, verify_file

GOOD = [
    b'{"key": "a", "response": {"candidates": [], "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 5}}}',
    b'{"response": {"usage_metadata": {"prompt_token_count": 2}, "modelVersion": "m"}, "key": "b"}',
    b'{"key": "c", "error": {"code": 500, "status": "INTERNAL", "message": "x"}}',
    b'{"key": "u1", "response": {"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2,'
    b' "thoughtsTokenCount": 1, "cachedContentTokenCount": 1, "promptTokensDetails": [{"tokenCount": 4}]}}}',
    b'{"key": "u2", "response": {"usageMetadata": {"promptTokenCount": 0}, "model_version": "v"}}',
    b'{"key": "u3", "response": {"usageMetadata": {"promptTokenCount": -3, "candidatesTokenCount": 5}}}',
    b'{"key": "u4", "response": {"usageMetadata": {"promptTokenCount": true, "candidatesTokenCount": "7"}}}',
    b'{"key": "u5", "response": {"usageMetadata": {"promptTokenCount": 2, "candidates_token_count": 9}}}',
    b'{"key": "u6", "response": {"usageMetadata": {"promptTokenCount": null, "prompt_token_count": 6}}}',
    b'{"key": "u7", "response": {"usageMetadata": null, "usage_metadata": {"promptTokenCount": 8}}}',
    b'{"key": "u8", "response": {"usage_metadata": {"prompt_token_count": 8}}, "error": null}',
    b'{"key": 5, "response": {"usageMetadata": {"promptTokenCount": 8}}}',
]
AWKWARD = [
    b'{"key": "d", "response": {"usageMetadata": {"promptTokenCount": 123456789012345678901234567890}}}',
    b'{"key": "e", "response": {"usageMetadata": {"promptTokenCount": NaN, "candidatesTokenCount": 4}}}',
    b'\xef\xbb\xbf{"key": "f", "response": {}}',
    b'{"key": "g\\ud800", "response": {"usageMetadata": {"promptTokenCount": 1.0}}}',
    b'   ',
    b'{"key": "h", "response": {}}\r',
    b'{"key": "a", "response": {}}',  # a duplicate
    b'{"key": "i", "response": {}',  # truncated
    b'[1, 2]',
    b'{"key": "", "response": {}}',
    b'{"key": "j"}',
    b'{"key": "k", "response": {}, "x": 1e400}',
    b'\xff\xfe',
    b'',
]
# Lines a shape decoder (core/results/usual_line.py) could read unlike the standard library: bytes that are not UTF-8
# inside a string it skips, UTF-8 it must let through, counts past 64 bits, repeated names, snake_case beside camelCase.
SHAPES = [
    b'{"key": "v1", "response": {"text": "bad \xff\xfe utf-8", "usageMetadata": {"promptTokenCount": 1}}}',
    b'{"key": "v2", "response": {"text": "overlong \xc0\xaf", "usageMetadata": {"promptTokenCount": 1}}}',
    b'{"key": "v3", "response": {"text": "cut \xe2\x82", "usageMetadata": {"promptTokenCount": 1}}}',
    b'{"key": "v4", "response": {"text": "surrogate \xed\xa0\x80", "usageMetadata": {"promptTokenCount": 2}}}',
    '{"key": "v5", "response": {"text": "caf\u00e9 \U0001f600", "usageMetadata": {"promptTokenCount": 2}}}'.encode(),
    '{"key": "v6\u00e9", "error": {"message": "\u00fcber"}}'.encode(),
    b'{"key": "v7", "response": {"usageMetadata": {"promptTokenCount": 18446744073709551616, "totalTokenCount": 9}}}',
    b'{"key": "v8", "key": "v9", "response": {"usageMetadata": {"promptTokenCount": 1}}, "response": {}}',
    b'{"key": "w1", "response": {"usageMetadata": {"promptTokenCount": 1, "prompt_token_count": null}}}',
    b'{"key": "w2", "error": {"code": 429}, "response": "no"}',
    b'{"key": "w3", "error": null, "response": {"usageMetadata": {"candidatesTokenCount": 3}}}',
    b'{"key": "w4", "response": {"usageMetadata": {"promptTokenCount": 1, "promptTokenCount": -1}}}',
    b'{"key": "w5", "response": {"usageMetadata": {}, "modelVersion": 7}}',
    b'{"key": "w6", "response": {"candidates": [{"content": {"parts": [{"text": "\\u0000 \\" \\\\"}]}}]}}',
    b'{"key": "w7", "response": {"text": "tab\tinside"}}',
    b'{"key": "w8", "response": {"x": [1, 2,]}}',
    b'{"key": "w9", "response": {"usageMetadata": {"promptTokenCount": 3}}, "x": 1' + b"0" * 4300 + b'}',
    b'{"key": "x1", "response": {"usageMetadata": {"promptTokenCount": 1e400, "candidatesTokenCount": 2}}}',
    b'{"key": "x2", "response": {"usageMetadata": {"promptTokenCount": -Infinity}}}',
]


def stdlib_check(path: Path, inp: Path | None, expected: int | None) -> results.ResultsCheck:
    fast, jsonfast.loads = jsonfast.loads, json.loads
    try:
        return results.verify_results(path, inp, expected_count=expected)
    finally:
        jsonfast.loads = fast


def streamed(path: Path, inp: Path | None, expected: int | None, chunk: int):
    verifier = StreamVerifier(inp, expected_count=expected)
    data = path.read_bytes()
    for i in range(0, len(data), chunk):
        verifier.feed(data[i:i + chunk])
    return verifier.finish(path)


@pytest.mark.parametrize("lines,trailing", [(GOOD, True), (GOOD, False), (GOOD + AWKWARD, True),
                                            (AWKWARD + GOOD, False), (SHAPES + GOOD, True),
                                            (GOOD + SHAPES + AWKWARD, False)])
@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_one_pass_equals_three_reads(tmp_path: Path, lines: list[bytes], trailing: bool, chunk: int) -> None:
    res = tmp_path / "results.jsonl"
    res.write_bytes(b"\n".join(lines) + (b"\n" if trailing else b""))
    inp = tmp_path / "input.jsonl"
    inp.write_text("".join(json.dumps({"key": k, "request": {"contents": [{"parts": [{"text": "q"}]}]}}) + "\n"
                           for k in ("a", "b", "c", "z")))
    for input_path, expected in ((inp, None), (None, 3), (tmp_path / "gone.jsonl", None)):
        out = streamed(res, input_path if input_path is None or input_path.exists() else None, expected, chunk)
        want = stdlib_check(res, input_path if input_path is None or input_path.exists() else None, expected)
        assert out.check == want
        assert out.fingerprint == results_fingerprint.compute(res)
        usage = ledger.usage_from_file(res)
        usage.source_size = usage.source_mtime_ns = None
        assert out.usage == usage


@pytest.mark.parametrize("lines,trailing", [(GOOD + AWKWARD, True), (AWKWARD + GOOD, False),
                                            (GOOD + SHAPES + AWKWARD, False), ([], False)])
def test_a_finished_file_checked_in_one_read_equals_three_reads(tmp_path: Path, lines: list[bytes],
                                                               trailing: bool) -> None:
    """`verify_file` (merges and imports): the verdicts of `verify_results`, also for an input that is gone or a
    results file that is, and the fingerprint and usage of the same read."""
    res = tmp_path / "results.jsonl"
    res.write_bytes(b"\n".join(lines) + (b"\n" if trailing else b""))
    inp = tmp_path / "input.jsonl"
    inp.write_text("".join(json.dumps({"key": k, "request": {}}) + "\n" for k in ("a", "b", "c", "z")))
    for input_path, expected in ((inp, None), (None, 3), (tmp_path / "gone.jsonl", 2), (inp, 4)):
        out = verify_file(res, input_path, expected_count=expected, usage=True)
        assert out.check == stdlib_check(res, input_path, expected)
        assert out.fingerprint == results_fingerprint.compute(res)
        usage = ledger.usage_from_file(res)
        usage.source_size = usage.source_mtime_ns = None
        assert out.usage == usage
        assert verify_file(res, input_path, expected_count=expected).usage is None
    gone = tmp_path / "no-results.jsonl"
    out = verify_file(gone, inp)
    assert out.check == stdlib_check(gone, inp, None) and not out.check.ok
    assert "cannot read results file" in out.check.parse_errors[0].message


def test_orjson_and_stdlib_agree_on_what_they_both_accept() -> None:
    for line in GOOD + AWKWARD:
        try:
            want = json.loads(line)
        except ValueError as exc:
            with pytest.raises(ValueError) as got:
                jsonfast.loads(line)
            assert str(got.value) == str(exc)
            continue
        got_obj = jsonfast.loads(line)
        if got_obj == got_obj:  # NaN compares unequal to itself
            assert got_obj == want or jsonfast.has_float(got_obj.get("response", {}).get("usageMetadata"))


@pytest.mark.parametrize("first", [
    b'{"key": "a", "response": {"modelVersion": null, "model_version": "m2", "usageMetadata": {"totalTokenCount": 4}}}',
    b'{"key": "a", "response": {"model_version": "m2", "usageMetadata": {"totalTokenCount": 4}}}',
    b'{"key": "a", "response": {"modelVersion": "m1", "model_version": "m2", "usageMetadata": {"totalTokenCount": 4}}}',
    b'{"key": "a", "response": {"modelVersion": ["m1"], "usageMetadata": {"totalTokenCount": 4}}}',
])
def test_the_model_version_is_read_as_usage_reads_it(tmp_path: Path, first: bytes) -> None:
    res = tmp_path / "results.jsonl"
    res.write_bytes(first + b"\n" + GOOD[0].replace(b'"a"', b'"b"') + b"\n")
    out = streamed(res, None, 2, 1 << 20)
    want = ledger.usage_from_file(res)
    assert out.usage is not None and out.usage.model_version == want.model_version


def test_a_line_read_by_its_shape_is_one_the_standard_library_reads_alike() -> None:
    from gembatch_tui.core.results import usual_line

    read_by_shape = 0
    for raw in GOOD + AWKWARD + SHAPES:
        line = usual_line.read(raw)
        if line is None:
            continue
        read_by_shape += 1
        want = json.loads(raw)  # raises where the shape accepted a line the standard library refuses
        assert line.key == want.get("key") and line.error == want.get("error")
        if line.response is not None and line.response.usageMetadata is not None:
            meta = want["response"]["usageMetadata"]
            assert line.response.usageMetadata.promptTokenCount == meta.get("promptTokenCount", 0)
    assert read_by_shape >= 10
    for raw in SHAPES[:3] + SHAPES[-3:-2]:  # not UTF-8 in a skipped string, a number past json's int limit
        assert usual_line.read(raw) is None
