"""split.write_parts, merge.merge_part and limits parsing, without a server."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from gembatch_tui.core.submit import media
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.poll.merge import merge_part
from gembatch_tui.core.api.pricing import ConfigError
from gembatch_tui.core.submit.split import split_reason, write_parts
from gembatch_tui.core.submit.input_read import write_normalised
from gembatch_tui.core.submit.validate import validate_file

from .support import keys_of, text_requests, write_lines


def _parts(tmp_path: Path, src: Path, **limits: int) -> list:
    out = tmp_path / "parts"
    out.mkdir(exist_ok=True)
    return write_parts(src, out, report=validate_file(src), **limits)


def test_fast_path_copies_bytes_and_names_parts(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in.jsonl", text_requests(25))
    parts = _parts(tmp_path, src, max_requests=10)
    assert [p.path.name for p in parts] == [f"in.part-00{i}-of-003.jsonl" for i in (1, 2, 3)]
    assert [p.count for p in parts] == [10, 10, 5]
    assert b"".join(p.path.read_bytes() for p in parts) == src.read_bytes()
    report = validate_file(src)
    assert sum(p.est_tokens for p in parts) == pytest.approx(report.est_input_tokens, abs=3)
    assert not list((tmp_path / "parts").glob(".*.tmp"))


def test_byte_limit_counts_whole_lines(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in.jsonl", text_requests(40))
    line = len(src.read_bytes().splitlines(keepends=True)[0])
    parts = _parts(tmp_path, src, max_bytes=line * 7 + 3)
    assert all(p.size_bytes <= line * 7 + 3 for p in parts)
    assert sum(p.count for p in parts) == 40


def test_parsed_path_normalises_and_keeps_original_keys(tmp_path: Path) -> None:
    src = tmp_path / "messy.jsonl"
    src.write_text(
        '{"contents": [{"parts": [{"text": "bare"}]}]}\n\n'
        '{"request": {"contents": [{"parts": [{"text": "no key"}]}]}}\r\n'
        '{"custom_id": "c1", "method": "POST", "body": {"contents": [{"parts": [{"text": "openai"}]}]}}\n'
        '{"key": "k4", "request": {"contents": [{"parts": [{"text": "canonical"}]}]}}'
    )
    parts = _parts(tmp_path, src, max_requests=3)
    assert [p.count for p in parts] == [3, 1]
    normalised = tmp_path / "norm.jsonl"
    write_normalised(src, normalised)
    assert b"".join(p.path.read_bytes() for p in parts) == normalised.read_bytes()
    assert keys_of(parts[0].path) == ["request-1", "request-3", "c1"]


def test_token_limit_and_oversized_request_alone(tmp_path: Path) -> None:
    lines = [{"key": f"k{i}", "request": {"contents": [{"parts": [{"text": "x" * (400 if i == 2 else 40)}]}]}}
             for i in range(6)]
    src = write_lines(tmp_path / "t.jsonl", lines)
    parts = _parts(tmp_path, src, max_tokens=25)
    assert [p.est_tokens for p in parts] == [20, 100, 20, 10]
    assert [p.count for p in parts] == [2, 1, 2, 1]


def test_media_markers_count_against_bytes_and_tokens(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"png")
    lines = [{"key": f"k{i}", "request": {"contents": [{"parts": [{"text": "look [[FILE:a.png]]"}]}]}}
             for i in range(4)]
    src = write_lines(tmp_path / "m.jsonl", lines)
    report = validate_file(src)
    assert report.media_refs == 4 and report.media_files == 1 and report.media_bytes == 3
    assert report.est_input_tokens == 4 * (2 + 258)  # "look " is 2 tokens, an image 258
    line = len(src.read_bytes().splitlines(keepends=True)[0])
    parts = _parts(tmp_path, src, max_bytes=2 * (line + media.FILE_DATA_OVERHEAD))
    assert [p.count for p in parts] == [2, 2] and [p.media_refs for p in parts] == [2, 2]
    assert b"[[FILE:a.png]]" in parts[0].path.read_bytes()  # replaced at upload time, not here


def test_split_reason() -> None:
    from gembatch_tui.core.submit.validate import ValidationReport

    report = ValidationReport(Path("x"), 5_000, 30, 900, [], 0, "", False, "generate", media_refs=10)
    assert split_reason(report, JobLimits(), None) is None
    assert "over 20 per job" in (split_reason(report, JobLimits(max_requests_per_job=20), None) or "")
    assert split_reason(report, JobLimits(max_bytes_per_job=5_000 + 10 * 256), None) is None
    assert "bytes" in (split_reason(report, JobLimits(max_bytes_per_job=5_000 + 10 * 256 - 1), None) or "")
    assert "budget of 800" in (split_reason(report, JobLimits(), 800) or "")


def _result(key: str) -> bytes:
    return json.dumps({"response": {"candidates": []}, "key": key}).encode() + b"\n"


def test_merge_part_in_order_is_a_copy(tmp_path: Path) -> None:
    part = write_lines(tmp_path / "p.jsonl", text_requests(50))
    results = tmp_path / "r.jsonl"
    results.write_bytes(b"".join(_result(f"k{i:05d}") for i in range(50)))
    out = io.BytesIO()
    merge_part(part, results, out)
    assert out.getvalue() == results.read_bytes()


def test_merge_part_reorders_drops_repeats_keeps_strangers(tmp_path: Path) -> None:
    part = write_lines(tmp_path / "p.jsonl", text_requests(200))
    keys = [f"k{i:05d}" for i in range(200)]
    shuffled = keys[:]
    random.Random(7).shuffle(shuffled)
    shuffled.remove("k00042")  # the service lost one
    shuffled.insert(5, "k00007")  # and answered one twice
    shuffled.append("stranger")  # and one the input does not have
    results = tmp_path / "r.jsonl"
    results.write_bytes(b"\n".join(_result(k).rstrip(b"\n") for k in shuffled) + b"\n\n")
    out = io.BytesIO()
    merge_part(part, results, out)
    got = [json.loads(line)["key"] for line in out.getvalue().splitlines()]
    assert got == [k for k in keys if k != "k00042"] + ["stranger"]


def test_merge_part_first_lines_in_order_then_not(tmp_path: Path) -> None:
    part = write_lines(tmp_path / "p.jsonl", text_requests(6))
    order = ["k00000", "k00001", "k00003", "k00002", "k00005", "k00004", "k00001"]
    results = tmp_path / "r.jsonl"
    results.write_bytes(b"".join(_result(k) for k in order))
    out = io.BytesIO()
    merge_part(part, results, out)
    assert [json.loads(x)["key"] for x in out.getvalue().splitlines()] == [f"k{i:05d}" for i in range(6)]


def test_limits_from_config() -> None:
    limits = JobLimits.from_config({
        "limits": {"max_requests_per_job": 10, "max_bytes_per_job": 1000, "queue_backoff_initial": 2},
        "enqueued_token_budget": {"models/gemini-2.5-flash": 3_000_000, "*": 5},
    })
    assert limits.max_requests_per_job == 10 and limits.max_bytes_per_job == 1000
    assert limits.budget_for("gemini-2.5-flash") == 3_000_000 and limits.budget_for("models/other") == 5
    assert [limits.backoff(n) for n in (1, 2, 3)] == [2, 4, 8]
    assert JobLimits.from_config({"enqueued_token_budget": 7}).budget_for("x") == 7
    assert JobLimits.from_config({}).budget_for("gemini-2.5-flash") is None  # no built-in quota numbers
    assert JobLimits().with_overrides(max_requests=3).max_requests_per_job == 3
    for bad in ({"limits": {"max_bytes_per_job": "2G"}}, {"limits": {"nope": 1}},
                {"enqueued_token_budget": {"m": -1}}, {"enqueued_token_budget": "lots"}, {"limits": []}):
        with pytest.raises(ConfigError):
            JobLimits.from_config(bad)


def test_group_summary() -> None:
    from gembatch_tui.core.submit.groups import by_group, summarise

    def part(i: int, **fields: object) -> dict:
        return {"group_id": "g1", "group_part": i, "group_parts": 3, "group_count": 30, "group_input_file": "/x.jsonl",
                "group_display_name": "x.jsonl", **fields}

    ok = {"batch": {"name": "batches/a", "state": "JOB_STATE_SUCCEEDED",
                    "stats": {"request_count": 10, "successful_request_count": 9, "failed_request_count": 1}}}
    running = {"batch": {"name": "batches/b", "state": "JOB_STATE_RUNNING", "stats": {"successful_request_count": 4}}}
    parts = by_group([part(3, local_state="queued"), {"plain": 1}, part(2, **running), part(1, **ok)])["g1"]
    assert [p["group_part"] for p in parts] == [1, 2, 3]
    summary = summarise(parts)
    assert (summary.state, summary.done, summary.failed_requests, summary.requests) == ("JOB_STATE_RUNNING", 14, 1, 30)
    assert summary.states == {"JOB_STATE_SUCCEEDED": 1, "JOB_STATE_RUNNING": 1, "LOCAL_QUEUED": 1}
    assert summarise([part(1, **ok), part(2, local_state="submit_failed")]).state == "LOCAL_SUBMIT_FAILED"
    cancelled = {"batch": {"name": "batches/c", "state": "JOB_STATE_CANCELLED"}}
    assert summarise([part(1, **cancelled), part(2, **running)]).state == "JOB_STATE_RUNNING"  # still under way
    assert summarise([part(1, **cancelled), part(2, **ok)]).state == "JOB_STATE_CANCELLED"  # nothing moves: said
    assert summarise([part(1, local_state="queued")]).state == "LOCAL_QUEUED"
    merged = [part(i, group_results_file="/r.jsonl", group_results_verified=True, **ok) for i in (1, 2, 3)]
    done = summarise(merged)
    assert done.state == "JOB_STATE_SUCCEEDED" and done.results_file == "/r.jsonl" and done.input_file == "/x.jsonl"
