"""Unit tests for core.validate: the example files, the bad-input corpus, normalisation and cancellation."""

from __future__ import annotations

import hashlib
import os
import json
import threading
from pathlib import Path

import pytest

from gembatch_tui.core.submit import validate as validate_mod
from gembatch_tui.core.submit.input_line import Problem, detect_kind
from gembatch_tui.core.submit.input_read import iter_keys, iter_requests, write_normalised
from gembatch_tui.core.submit.validate import MAX_REPORTED, ValidationCancelled, validate_file

EXAMPLES = Path("/work/shared/examples")
REQ = {"contents": [{"parts": [{"text": "hello"}]}]}
EMB = {"content": {"parts": [{"text": "hello"}]}}


def line(obj: object) -> str:
    return json.dumps(obj)


def canon(key: str, request: dict | None = None) -> str:
    return line({"key": key, "request": request or REQ})


def write(tmp_path: Path, text: str | bytes, name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


@pytest.mark.parametrize("name", ["basic.jsonl", "structured-output.jsonl"])
def test_examples_validate_ok(name: str) -> None:
    report = validate_file(EXAMPLES / name)
    assert report.ok, report.messages()
    assert report.request_count == 5
    assert report.problems == [] and report.problem_count == 0
    assert report.kind == "generate"
    assert report.needs_normalising is False
    assert report.sha256 == hashlib.sha256((EXAMPLES / name).read_bytes()).hexdigest()
    assert report.size_bytes == (EXAMPLES / name).stat().st_size
    assert report.path.is_absolute()
    assert 5 <= report.est_input_tokens < 1000
    assert len(report.first_lines) == 5 and report.first_lines[0].startswith('{"key": "request_1"')
    assert [k for _, k, _ in iter_requests(EXAMPLES / name)] == [f"request_{i}" for i in range(1, 6)]


# id -> (file lines, expected [(line, message substring)])
BAD_CASES: dict[str, tuple[list[str], list[tuple[int, str]]]] = {
    "not_json": (
        [canon("a"), '{"key": "b", "request": {"contents": [1 2]}}'],
        [(2, "not valid JSON: Expecting ',' delimiter at column 41")],
    ),
    "missing_request": ([canon("a"), line({"key": "b", "req": REQ})], [(2, "no 'request' object")]),
    "missing_contents": ([canon("a"), canon("b", {"generationConfig": {}})], [(2, "request has no 'contents'")]),
    "empty_contents": (
        [canon("a", {"contents": []})],
        [(1, "'contents' must be a non-empty list or a string, not empty")],
    ),
    "contents_number": (
        [canon("a", {"contents": 5})],
        [(1, "'contents' must be a non-empty list or a string, not a number")],
    ),
    "contents_item_bad": (
        [canon("a", {"contents": [{"parts": [{"text": "x"}]}, 3]})],
        [(1, "'contents'[1] must be an object like {\"role\": \"user\", \"parts\": [...]}, not a number")],
    ),
    # shapes the service's parser rejects, line by line, hours after the upload (request_shape.py)
    "content_is_a_part": (
        [canon("a", {"contents": [{"text": "hi"}]})],
        [(1, "'contents'[0] has 'text' but no 'parts'")],
    ),
    "content_without_parts": ([canon("a", {"contents": [{"role": "user"}]})], [(1, "'contents'[0] has no 'parts' list")]),
    "parts_a_string": (
        [canon("a", {"contents": [{"parts": "hi"}]})],
        [(1, "'contents'[0].parts must be a list of parts, not a string")],
    ),
    "parts_empty": ([canon("a", {"contents": [{"parts": []}]})], [(1, "'contents'[0].parts must not be empty")]),
    "part_not_object": (
        [canon("a", {"contents": [{"parts": [{"text": "x"}, 5]}]})],
        [(1, "'contents'[0].parts[1] must be an object like {\"text\": ...}, not a number")],
    ),
    "part_empty": ([canon("a", {"contents": [{"parts": [{}]}]})], [(1, "'contents'[0].parts[0] has no data")]),
    "text_not_string": (
        [canon("a", {"contents": [{"parts": [{"text": ["x"]}]}]})],
        [(1, "'contents'[0].parts[0].text must be a string, not a list")],
    ),
    "two_kinds_in_a_part": (
        [canon("a", {"contents": [{"parts": [{"text": "x", "inlineData": {"data": ""}}]}]})],
        [(1, "'contents'[0].parts[0] has both 'text' and 'inlineData'")],
    ),
    "file_data_not_object": (
        [canon("a", {"contents": [{"parts": [{"file_data": "files/x"}]}]})],
        [(1, "'contents'[0].parts[0].file_data must be an object, not a string")],
    ),
    "role_not_string": (
        [canon("a", {"contents": [{"role": 1, "parts": [{"text": "x"}]}]})],
        [(1, "'contents'[0].role must be a string ('user' or 'model'), not a number")],
    ),
    "role_assistant": (
        [canon("a", {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]})],
        [(1, "'contents'[0].role 'assistant' is not one the service accepts ('user' or 'model'); did you mean 'model'?")],
    ),
    "generation_config_not_object": (
        [canon("a", {**REQ, "generationConfig": "fast"})],
        [(1, "'generationConfig' must be an object, not a string")],
    ),
    "system_instruction_without_parts": (
        [canon("a", {**REQ, "systemInstruction": {"text": "be brief"}})],
        [(1, "'systemInstruction' has 'text' but no 'parts'")],
    ),
    "system_instruction_number": (
        [canon("a", {**REQ, "system_instruction": 3})],
        [(1, "'system_instruction' must be an object like")],
    ),
    "tools_not_list": ([canon("a", {**REQ, "tools": {"x": 1}})], [(1, "'tools' must be a list of objects, not an object")]),
    "embed_parts_empty": ([canon("a", {"content": {"parts": []}})], [(1, "'content'.parts must not be empty")]),
    "embed_dimensions": (
        [canon("a", {**EMB, "outputDimensionality": "8"})],
        [(1, "'outputDimensionality' must be a positive whole number, not '8'")],
    ),
    "request_not_object": ([line({"key": "a", "request": [1]})], [(1, "'request' must be an object, not an array")]),
    "key_not_string": ([line({"key": 7, "request": REQ})], [(1, "'key' must be a non-empty string")]),
    "key_empty": ([line({"key": "", "request": REQ})], [(1, "'key' must be a non-empty string")]),
    "non_object_line": (
        [canon("a"), "[1, 2]", '"text"', '""', "null"],
        [(2, "expected a JSON object, got an array"), (3, "expected a JSON object, got a string"),
         (4, "expected a JSON object, got a string"), (5, "expected a JSON object, got null")],
    ),
    "custom_id_missing": ([line({"body": REQ})], [(1, "'custom_id' must be a non-empty string")]),
    "body_not_object": ([line({"custom_id": "x", "body": "hi"})], [(1, "'body' must be an object, not a string")]),
    "duplicate": ([canon("x"), canon("a"), "", canon("a")], [(4, "duplicate key 'a' (first seen on line 2)")]),
    "duplicate_three": (
        [canon("a"), canon("a"), canon("a")],
        [(2, "duplicate key 'a' (first seen on line 1)"), (3, "duplicate key 'a' (first seen on line 1)")],
    ),
    "assigned_collides": (
        [canon("request-2"), line({"request": REQ})],
        [(2, "duplicate key 'request-2' (first seen on line 1)")],
    ),
    "custom_id_collides": (
        [canon("q"), line({"custom_id": "q", "body": REQ})],
        [(2, "duplicate key 'q' (first seen on line 1)")],
    ),
    "mixed_kinds": (
        [canon("a"), canon("b", EMB)],
        [(2, "an embedding request ('content'), but line 1 is a generate request ('contents')")],
    ),
    "embed_bad_content": (
        [canon("a", EMB), canon("b", {"content": ""})],
        [(2, "'content' must be an object or a non-empty string")],
    ),
    "embed_missing_content": ([canon("a", EMB), canon("b", {"model": "m"})], [(2, "request has no 'content'")]),
}


@pytest.mark.parametrize("lines,expected", BAD_CASES.values(), ids=list(BAD_CASES))
def test_bad_lines(tmp_path: Path, lines: list[str], expected: list[tuple[int, str]]) -> None:
    report = validate_file(write(tmp_path, "\n".join(lines) + "\n"))
    assert not report.ok
    assert report.problem_count == len(expected)
    assert [p.line for p in report.problems] == [line_no for line_no, _ in expected]
    for problem, (_, message) in zip(report.problems, expected):
        assert message in problem.message


@pytest.mark.parametrize(
    "data,expected",
    [
        ((canon("a") + "\n").encode() + b'{"key": "b\xff", "request": {}}\n', (2, 11, "0xff")),
        ('{"key": "café", "request": {"contents": "x"}}\n'.encode("latin-1") + (canon("b") + "\n").encode(), (1, 13, "0xe9")),
    ],
)
def test_invalid_utf8_line(tmp_path: Path, data: bytes, expected: tuple[int, int, str]) -> None:
    # the 1-based character column an editor shows (core/jsonpos), not a 0-based byte offset
    report = validate_file(write(tmp_path, data))
    line_no, column, byte = expected
    assert [(p.line, p.message) for p in report.problems] == [
        (line_no, f"not valid UTF-8 at column {column} (byte {byte})")
    ]


@pytest.mark.parametrize(
    "setup,message",
    [
        ("missing", "file not found"),
        ("directory", "is a directory"),
        ("empty", "file has no requests"),
        ("blank_only", "file has no requests"),
        ("binary", "not a text file (NUL byte at byte offset 3)"),
        ("oversized", "over the 100 B limit"),
    ],
)
def test_whole_file_problems(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "f.jsonl"
    if setup == "directory":
        path.mkdir()
    elif setup == "empty":
        path.write_bytes(b"")
    elif setup == "blank_only":
        path.write_bytes(b"\n   \n\t\r\n")
    elif setup == "binary":
        path.write_bytes(b"PK\x03\x00\x14\x00" + bytes(range(256)))
    elif setup == "oversized":
        path.write_text((canon("a") + "\n") * 5)
    report = validate_file(path, max_bytes=100) if setup == "oversized" else validate_file(path)
    assert not report.ok
    assert report.problem_count == 1
    assert report.problems[0].line is None
    assert message in report.problems[0].message
    assert report.messages() == [f"{report.path}: {report.problems[0].message}"]
    if setup == "oversized":
        assert report.size_bytes == path.stat().st_size and report.request_count == 0 and report.sha256 == ""


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, canon("a") + "\n")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(validate_mod, "open", denied, raising=False)
    report = validate_file(path)
    assert [(p.line, p.message) for p in report.problems] == [(None, "cannot read file: Permission denied")]


def test_blank_lines_are_ignored_but_counted_in_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "\n" + canon("a") + "\n  \n{bad\n")
    report = validate_file(path)
    assert report.request_count == 2
    assert [p.line for p in report.problems] == [4]
    assert report.needs_normalising is True  # the blank lines are dropped from the uploaded copy


def test_problem_format_and_truncation(tmp_path: Path) -> None:
    assert Problem(3, "boom").format(Path("/x/y.jsonl")) == "/x/y.jsonl:3: boom"
    assert Problem(None, "boom").format("y.jsonl") == "y.jsonl: boom"
    n = MAX_REPORTED + 50
    path = write(tmp_path, "nope\n" * n + (canon("a") + "\n") * 3)
    report = validate_file(path)
    assert report.problem_count == n + 2  # every bad line plus two repeats of 'a'
    assert len(report.problems) == MAX_REPORTED
    assert [p.line for p in report.problems] == list(range(1, MAX_REPORTED + 1))
    assert report.messages()[-1] == "... and 52 more problems"
    assert report.messages()[0] == f"{report.path}:1: not valid JSON: Expecting value at column 1"


def test_many_duplicates_are_all_counted(tmp_path: Path) -> None:
    lines = [canon(f"k{i % 500}") for i in range(2000)]
    report = validate_file(write(tmp_path, "\n".join(lines) + "\n"))
    assert report.problem_count == 1500
    assert report.problems[0] == Problem(501, "duplicate key 'k0' (first seen on line 1)")
    assert report.problems[-1].line == 500 + MAX_REPORTED


def test_embed_file_kind(tmp_path: Path) -> None:
    path = write(tmp_path, canon("a", EMB) + "\n" + canon("b", {"content": "plain"}) + "\n")
    report = validate_file(path)
    assert report.ok and report.kind == "embed"
    assert validate_file(path, kind="generate").problems[0] == Problem(
        1, "an embedding request ('content') in a batch of generate requests"
    )
    assert detect_kind(EMB) == "embed" and detect_kind(REQ) == "generate" and detect_kind({}) == "generate"


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, ("\ufeff" + canon("a") + "\r\n" + canon("b") + "\r\n").encode())
    report = validate_file(path)
    assert report.ok and report.needs_normalising
    out = tmp_path / "out.jsonl"
    assert write_normalised(path, out) == 2
    lines = out.read_bytes().split(b"\n")
    assert json.loads(lines[0]) == {"key": "a", "request": REQ} and not lines[0].startswith(b"\xef\xbb\xbf")
    assert lines[1] == canon("b").encode() and lines[2] == b""


def test_normalisation(tmp_path: Path) -> None:
    system = {"parts": [{"text": "be brief"}]}
    original = "\n".join(
        [
            canon("k1"),
            line({"request": REQ}),
            line({"contents": "just text", "system_instruction": system}),
            line({"key": "own", "contents": [{"parts": [{"text": "x"}]}]}),
            line({"custom_id": "oa-1", "method": "POST", "url": "/v1/x", "body": REQ}),
            "",
            line({"key": "k7", "request": REQ, "metadata": {"n": 1}}),
        ]
    ) + "\n"
    path = write(tmp_path, original)
    before = path.read_bytes()
    report = validate_file(path)
    assert report.ok, report.messages()
    assert report.needs_normalising and report.request_count == 6
    out = tmp_path / "norm.jsonl"
    assert write_normalised(path, out) == 6
    assert path.read_bytes() == before
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows == [
        {"key": "k1", "request": REQ},
        {"key": "request-2", "request": REQ},
        # the SDK's string shorthand, which the service's parser rejects, goes up in the object form
        {"key": "request-3", "request": {"contents": [{"role": "user", "parts": [{"text": "just text"}]}],
                                         "system_instruction": system}},
        {"key": "own", "request": {"contents": [{"parts": [{"text": "x"}]}]}},
        {"key": "oa-1", "request": REQ},
        {"key": "k7", "request": REQ, "metadata": {"n": 1}},
    ]
    assert all(list(r)[0] == "key" for r in rows)
    assert [(n, k) for n, k, _ in iter_requests(path)] == [
        (1, "k1"), (2, "request-2"), (3, "request-3"), (4, "own"), (5, "oa-1"), (7, "k7")
    ]
    assert validate_file(out).ok and not validate_file(out).needs_normalising
    offsets = [o for _, o, _ in iter_keys(path)]
    assert [before[o:].split(b"\n", 1)[0] for o in offsets][0] == canon("k1").encode()


def test_write_normalised_keeps_unicode_and_refuses_bad_input(tmp_path: Path) -> None:
    lines = [line({"request": {"contents": "héllo \ud83d\ude00"}}), line({"request": {"contents": "\ud800"}})]
    path = write(tmp_path, "\n".join(lines) + "\n")
    out = tmp_path / "o.jsonl"
    assert write_normalised(path, out) == 2
    first, second = out.read_bytes().splitlines()
    assert "héllo 😀".encode() in first
    assert json.loads(second)["request"]["contents"] == [{"role": "user", "parts": [{"text": "\ud800"}]}]
    with pytest.raises(ValueError, match="refusing to overwrite"):
        write_normalised(path, path)
    bad = write(tmp_path, canon("a") + "\n{oops\n", "bad.jsonl")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not valid JSON"):
        write_normalised(bad, tmp_path / "o2.jsonl")
    with pytest.raises(ValueError, match=r":2: not valid JSON"):
        list(iter_requests(bad))


def test_long_line(tmp_path: Path) -> None:
    blob = "A" * (12 * 1024 * 1024)
    request = {"contents": [{"parts": [{"inline_data": {"mime_type": "image/png", "data": blob}}, {"text": "what?"}]}]}
    path = write(tmp_path, canon("img", request) + "\n" + canon("t") + "\n")
    report = validate_file(path)
    assert report.ok and report.request_count == 2
    assert report.est_input_tokens == (258 + 2) + 2
    assert report.first_lines[0].endswith("…") and len(report.first_lines[0]) == 301


def test_progress_and_cancel(tmp_path: Path) -> None:
    text = "".join(canon(f"k{i}", {"contents": "x" * 1000}) + "\n" for i in range(3000))  # ~3 MB
    path = write(tmp_path, text)
    size = path.stat().st_size
    calls: list[tuple[int, int]] = []
    validate_file(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert 3 <= len(calls) <= 6
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ValidationCancelled):
        validate_file(path, cancel=cancel)

    cancel = threading.Event()
    seen: list[int] = []

    def stop_after_first_mib(done: int, total: int) -> None:
        seen.append(done)
        if done > 0:
            cancel.set()

    with pytest.raises(ValidationCancelled):
        validate_file(path, progress=stop_after_first_mib, cancel=cancel)
    assert max(seen) < size


def test_hash_collision_between_different_keys_is_not_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gembatch_tui.core.submit import keyset

    real = keyset.key_hash
    monkeypatch.setattr(keyset, "key_hash", lambda key: 42 if key in ("alpha", "omega") else real(key))
    path = write(tmp_path, canon("alpha") + "\n" + canon("omega") + "\n" + canon("b") + "\n" + canon("b") + "\n")
    report = validate_file(path)
    assert [(p.line, p.message) for p in report.problems] == [(4, "duplicate key 'b' (first seen on line 3)")]
    assert report.problem_count == 1


@pytest.mark.parametrize("run_size", [3, 7, 1 << 18])
def test_keyset_spilled_runs_match_in_memory(run_size: int) -> None:
    from gembatch_tui.core.submit.keyset import KeySet

    keys = [f"k{i % 37}" for i in range(200)] + ["solo"]
    with KeySet(run_size) as ks, KeySet(run_size) as other:
        for i, key in enumerate(keys):
            ks.add(key, i + 1, i * 10)
        for i, key in enumerate(["k1", "k2", "nope", "k2"]):
            other.add(key, i + 1, i)
        pairs, total = ks.duplicates(5)
        assert total == 200 - 37
        assert [(r.line, f.line) for r, f in pairs] == [(38, 1), (39, 2), (40, 3), (41, 4), (42, 5)]
        assert pairs[0][0].offset == 370
        missing, count = ks.difference(other, 3)
        assert count == 36  # 37 distinct k* keys + 'solo', minus k1 and k2
        assert [e.line for e in missing] == [1, 4, 5]
        assert ks.duplicates(5) == (pairs, total)  # repeatable
        extra, n_extra = other.difference(ks, 10)
        assert (n_extra, [e.line for e in extra]) == (1, [3])
        with pytest.raises(RuntimeError):
            ks.add("late", 999, 0)
    with KeySet() as empty, KeySet() as one:
        one.add("x", 1, 0)
        assert empty.duplicates(5) == ([], 0)
        assert empty.difference(one, 5) == ([], 0)
        assert [e.line for e in one.difference(empty, 5)[0]] == [1]


def test_validate_with_spilled_key_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gembatch_tui.core.submit import keyset

    monkeypatch.setattr(keyset, "RUN_SIZE", 4)
    lines = [canon(f"k{i}") for i in range(30)] + [canon("k3"), line({"request": REQ}), canon("k29")]
    report = validate_file(write(tmp_path, "\n".join(lines) + "\n"))
    assert [(p.line, p.message) for p in report.problems] == [
        (31, "duplicate key 'k3' (first seen on line 4)"),
        (33, "duplicate key 'k29' (first seen on line 30)"),
    ]


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"key": "a", "request": {"contents": "x", "n": ' + "9" * 5000 + "}}", "not valid JSON: Exceeds the limit"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON: nested too deeply"),
    ],
    ids=["huge-number", "deep-nesting"],
)
def test_hostile_json_is_a_line_problem(tmp_path: Path, text: str, message: str) -> None:
    report = validate_file(write(tmp_path, canon("ok") + "\n" + text + "\n"))
    assert report.problem_count == 1 and report.problems[0].line == 2
    assert report.problems[0].message.startswith(message)


# --- the SDK's string shorthand, expanded in the uploaded copy ---------------------------------------------------


def test_string_shorthand_is_valid_and_uploaded_in_object_form(tmp_path: Path) -> None:
    text = {"text": "q"}
    path = write(tmp_path, "\n".join([
        canon("s1", {"contents": "one"}),
        canon("s2", {"contents": ["two", {"role": "model", "parts": [text]}]}),
        canon("s3", {"contents": [{"parts": ["three", text]}], "systemInstruction": "be brief"}),
    ]) + "\n")
    report = validate_file(path)
    assert report.ok and report.warnings == [] and report.needs_normalising, report.messages()
    out = tmp_path / "up.jsonl"
    write_normalised(path, out)
    rows = [json.loads(x)["request"] for x in out.read_text().splitlines()]
    assert rows == [
        {"contents": [{"role": "user", "parts": [{"text": "one"}]}]},
        {"contents": [{"role": "user", "parts": [{"text": "two"}]}, {"role": "model", "parts": [text]}]},
        {"contents": [{"parts": [{"text": "three"}, text]}], "systemInstruction": {"parts": [{"text": "be brief"}]}},
    ]
    again = validate_file(out)
    assert again.ok and not again.needs_normalising  # the uploaded copy is canonical: no string left


def test_embedding_string_content_is_expanded(tmp_path: Path) -> None:
    path = write(tmp_path, canon("e", {"content": "vector me", "taskType": "RETRIEVAL_DOCUMENT"}) + "\n")
    report = validate_file(path)
    assert report.ok and report.kind == "embed" and report.needs_normalising
    [(_, _, request)] = list(iter_requests(path))
    assert request == {"content": {"parts": [{"text": "vector me"}]}, "taskType": "RETRIEVAL_DOCUMENT"}


def test_unknown_fields_inside_contents_are_warnings_not_errors(tmp_path: Path) -> None:
    lines = [canon(f"k{i}", {"contents": [{"rol": "user", "parts": [{"txt": "hi"}]}]}) for i in range(3)]
    report = validate_file(write(tmp_path, "\n".join(lines) + "\n"))
    assert report.ok, report.messages()
    assert [(w.line, w.message) for w in report.warnings] == [
        (1, "unknown field 'txt' in a part (did you mean 'text'?): the service rejects requests with unknown "
            "fields; also on 2 more lines"),
        (1, "unknown field 'rol' in a content (did you mean 'role'?): the service rejects requests with unknown "
            "fields; also on 2 more lines"),
    ]


@pytest.mark.parametrize("name", ["basic.jsonl", "structured-output.jsonl"])
def test_examples_have_no_warnings(name: str) -> None:
    report = validate_file(EXAMPLES / name)
    assert report.ok and report.warnings == [] and not report.needs_normalising


def test_every_valid_shape_of_a_part_passes(tmp_path: Path) -> None:
    parts = [
        {"text": "t"}, {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
        {"file_data": {"file_uri": "https://x/files/a", "mime_type": "image/png"}},
        {"functionCall": {"name": "f", "args": {}}}, {"function_response": {"name": "f", "response": {}}},
        {"text": "t", "thought": True, "thoughtSignature": "c2ln"},
    ]
    request = {"contents": [{"role": "user", "parts": parts}, {"role": "model", "parts": [{"text": "a"}]}],
               "systemInstruction": {"role": "system", "parts": [{"text": "s"}]}, "generationConfig": {},
               "tools": [{"functionDeclarations": []}], "safetySettings": [], "labels": {"a": "b"}}
    report = validate_file(write(tmp_path, canon("k", request) + "\n"))
    assert report.ok and report.warnings == [] and not report.needs_normalising, report.messages()


# --- [[FILE:...]] outside the input file's directory ------------------------------------------------------------


def _media_tree(tmp_path: Path) -> tuple[Path, Path]:
    """in/ (the input's directory, with pics/a.png) and secret.txt beside it, outside."""
    (tmp_path / "in" / "pics").mkdir(parents=True)
    (tmp_path / "in" / "pics" / "a.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("secret")
    return tmp_path / "in", tmp_path / "secret.txt"


def _refs_file(folder: Path, *refs: str) -> Path:
    lines = [canon(f"k{i}", {"contents": [{"parts": [{"text": f"see [[FILE:{ref}]]"}]}]}) for i, ref in enumerate(refs)]
    return write(folder, "\n".join(lines) + "\n")


def test_media_outside_the_input_directory_is_refused_unless_allowed(tmp_path: Path) -> None:
    folder, secret = _media_tree(tmp_path)
    (folder / "link.txt").symlink_to(secret)  # inside by name, outside once resolved
    (folder / "pics" / "up").symlink_to(tmp_path)  # a directory link pointing out
    system = [r for r in ("/etc/hostname", "/etc/passwd") if Path(r).is_file()][:1]
    refs = ["pics/a.png", str(folder / "pics" / "a.png"), "../secret.txt", str(secret), "link.txt",
            "pics/up/secret.txt", *system]
    path = _refs_file(folder, *refs)
    report = validate_file(path)
    root = os.path.realpath(folder)
    assert not report.ok
    assert [(p.line, p.message) for p in report.problems] == [
        (n, f"referenced file {refs[n - 1]!r} is outside the input file's directory {root}; move it there, or "
            "pass --allow-media-outside to `gembatch-tui submit` to upload it anyway")
        for n in range(3, len(refs) + 1)
    ]
    allowed = validate_file(path, allow_media_outside=True)
    assert allowed.ok and allowed.problems == [] and allowed.media_refs == len(refs), allowed.messages()


def test_media_inside_a_symlinked_input_directory_is_inside(tmp_path: Path) -> None:
    folder, _secret = _media_tree(tmp_path)
    alias = tmp_path / "alias"
    alias.symlink_to(folder)  # the user names the input through a link to its directory
    path = _refs_file(folder, "pics/a.png")
    report = validate_file(alias / path.name)
    assert report.ok and report.media_files == 1, report.messages()
