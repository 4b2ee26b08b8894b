"""Jobs imported from gembatch's legacy flat job-info format get model, count, state, stats and results from the
server on the next poll, exactly as a job submitted by gembatch-tui: verified against the input file when it is
there, without when it is not. Real SDK creates the jobs (as gembatch did), real HTTP to the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google import genai

from gembatch_tui.core.submit.importer import import_job_info
from gembatch_tui.core.models import LOCAL_MISSING, SUCCEEDED, UNSPECIFIED, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.service import BatchService
from tests.manual_clock import ManualClock
from tests.trust_adopted.conftest import MODEL, finish_jobs

KEYS = ["request_1", "request_2", "request_3", "request_4"]


def _input(folder: Path, name: str = "batch_requests.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(
        json.dumps({"key": k, "request": {"contents": [{"parts": [{"text": f"question {k}"}]}]}}) + "\n\n" for k in KEYS
    ))  # blank lines between requests: count is the requests, not the lines
    return path


def _gembatch_submit(sdk: genai.Client, path: Path) -> tuple[str, str]:
    """What gembatch 0.1.0 did: upload the JSONL, create a file batch job. Returns (job name, uploaded file)."""
    uploaded = sdk.files.upload(file=str(path), config={"mime_type": "jsonl", "display_name": path.name})
    job = sdk.batches.create(model=MODEL, src=uploaded.name, config={"display_name": f"batch-job-{path.stem}"})
    return str(job.name), str(uploaded.name)


def _legacy_line(name: str, uploaded: str, input_file: str, final_state: str | None = SUCCEEDED) -> dict:
    line = {"input_file": input_file, "job_name": name, "uploaded_file_name": uploaded,
            "display_name": "batch-job-batch_requests", "created_at": "2025-07-13T01:01:38.807581",
            "completed_at": "2025-07-13T01:03:03.448724", "duration_seconds": 84}
    if final_state is not None:
        line["final_state"] = final_state
    return line


def _import(tmp_path: Path, service: BatchService, lines: list[dict]) -> None:
    info = tmp_path / "job-info.jsonl"
    info.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = import_job_info(info, service.store)
    assert report.ok, report.problems


def _result_keys(path: Path) -> list[str]:
    return [json.loads(x)["key"] for x in path.read_text().splitlines() if x.strip()]


def test_legacy_job_with_its_input_gets_everything_and_verified_results(
        service: BatchService, sdk: genai.Client, clock: ManualClock, tmp_path: Path) -> None:
    work = tmp_path / "work"
    src = _input(work / "1-simple")
    name, uploaded = _gembatch_submit(sdk, src)
    finish_jobs(clock)
    _import(work, service, [_legacy_line(name, uploaded, "1-simple/batch_requests.jsonl")])

    rec = service.resolve(name)
    assert rec["input_file"] == str(src)
    assert rec["count"] == len(KEYS)  # as submit records it: the input's requests
    assert rec["batch"]["state"] == UNSPECIFIED and rec["imported_state"] == SUCCEEDED

    report = poll_once(service)
    assert not report.errors, report.errors
    assert [(c.old, c.new) for c in report.changes] == [(UNSPECIFIED, SUCCEEDED)]
    assert len(report.downloads) == 1 and report.downloads[0].ok, report.downloads
    assert "input not compared" not in report.downloads[0].message  # verified against the input's keys
    assert "4 results: 4 ok" in report.downloads[0].message

    rec = service.resolve(name)
    assert record_state(rec) == SUCCEEDED
    assert rec["batch"]["model"] == f"models/{MODEL}"
    assert rec["batch"]["stats"]["request_count"] == len(KEYS) == rec["count"]
    assert rec["batch"]["dest"]["file_name"] == f"files/batch-{name.split('/')[1]}"
    assert rec["results_file"] == str(work / "1-simple" / "results" / "batch_requests.jsonl")
    assert rec["results_verified"] is True and rec["results_check"]["missing"] == 0
    assert rec["results_check"]["lines"] == len(KEYS) and rec["usage"]["ok"] == len(KEYS)
    assert _result_keys(Path(rec["results_file"])) == KEYS
    assert rec["duration_seconds"] == 84 and rec["uploaded_file_name"] == uploaded  # the line's fields kept

    again = poll_once(service)
    assert not again.changes and not again.downloads and again.active == 0


def test_legacy_job_whose_input_is_gone_is_downloaded_without_the_key_check(
        service: BatchService, sdk: genai.Client, clock: ManualClock, tmp_path: Path) -> None:
    src = _input(tmp_path / "moved")
    name, uploaded = _gembatch_submit(sdk, src)
    finish_jobs(clock)
    _import(tmp_path, service, [_legacy_line(name, uploaded, str(tmp_path / "elsewhere" / "batch_requests.jsonl"))])
    assert "count" not in service.resolve(name)  # nothing to count it from: the server's stats say it

    report = poll_once(service)
    assert len(report.downloads) == 1 and report.downloads[0].ok, report.downloads
    assert "input not compared" in report.downloads[0].message
    rec = service.resolve(name)
    assert rec["batch"]["model"] == f"models/{MODEL}" and rec["batch"]["stats"]["request_count"] == len(KEYS)
    assert rec["results_verified"] is True and _result_keys(Path(rec["results_file"])) == KEYS


def test_legacy_job_still_running_at_import_is_followed_to_the_end(
        service: BatchService, sdk: genai.Client, clock: ManualClock, tmp_path: Path) -> None:
    src = _input(tmp_path / "run")
    name, uploaded = _gembatch_submit(sdk, src)
    _import(tmp_path, service, [_legacy_line(name, uploaded, str(src), final_state=None)])
    first = poll_once(service)
    assert not first.downloads and first.active == 1
    assert service.resolve(name)["batch"]["model"] == f"models/{MODEL}"
    finish_jobs(clock)
    done = poll_once(service)
    assert len(done.downloads) == 1 and done.downloads[0].ok and done.active == 0


@pytest.mark.parametrize("claimed", [SUCCEEDED, "JOB_STATE_FAILED"])
def test_legacy_job_gone_from_the_server_ends_missing(service: BatchService, sdk: genai.Client, clock: ManualClock,
                                                      tmp_path: Path, claimed: str) -> None:
    """An old gembatch job deleted since: the poll ends (the job is marked missing), nothing is downloaded."""
    src = _input(tmp_path / "old")
    name, uploaded = _gembatch_submit(sdk, src)
    finish_jobs(clock)
    sdk.batches.delete(name=name)
    _import(tmp_path, service, [_legacy_line(name, uploaded, str(src), final_state=claimed)])
    first = poll_once(service)
    assert not first.downloads and first.active == 1
    second = poll_once(service)
    assert [c.new for c in second.changes] == [LOCAL_MISSING] and second.active == 0 and not second.downloads
    rec = service.resolve(name)
    assert rec["imported_state"] == claimed and "results_file" not in rec


def test_nested_line_with_model_and_output_keeps_its_state_and_downloads(
        service: BatchService, sdk: genai.Client, clock: ManualClock, tmp_path: Path) -> None:
    """gembatch's nested format already holds what the server said: it downloads without another read."""
    src = _input(tmp_path / "nested")
    name, uploaded = _gembatch_submit(sdk, src)
    finish_jobs(clock)
    dest = f"files/batch-{name.split('/')[1]}"
    sdk.batches.get(name=name)  # the job finishes (and its output is written) when it is first read
    _import(tmp_path, service, [{"input_file": str(src), "count": len(KEYS), "uploaded_file_name": uploaded,
                                 "batch": {"name": name, "model": f"models/{MODEL}", "state": SUCCEEDED,
                                           "dest": {"file_name": dest}}}])
    assert service.resolve(name)["batch"]["state"] == SUCCEEDED
    report = poll_once(service)
    assert report.polled == 0 and len(report.downloads) == 1 and report.downloads[0].ok
    assert "input not compared" not in report.downloads[0].message


def _gembatch_results(sdk: genai.Client, name: str, src: Path) -> Path:
    """What gembatch's poll did on success: download the output to results/<input name>, delete the job."""
    job = sdk.batches.get(name=name)
    out = src.parent / "results" / src.name
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(sdk.files.download(file=job.dest.file_name))
    sdk.batches.delete(name=name)
    return out


def test_results_gembatch_downloaded_are_taken_when_they_match_the_input(
        service: BatchService, sdk: genai.Client, clock: ManualClock, tmp_path: Path) -> None:
    """gembatch deleted the job after downloading: its file is verified at import, and polls neither download
    nor fail; the job ends missing on the server with its results safe on disk."""
    src = _input(tmp_path / "done")
    name, uploaded = _gembatch_submit(sdk, src)
    finish_jobs(clock)
    results = _gembatch_results(sdk, name, src)
    before = results.read_bytes()
    _import(tmp_path, service, [_legacy_line(name, uploaded, str(src))])
    rec = service.resolve(name)
    assert rec["results_file"] == str(results) and rec["results_verified"] is True
    assert rec["results_source"] == "gembatch" and rec["results_check"]["lines"] == len(KEYS)
    assert rec["results_check"]["missing"] == 0 and rec["usage"]["ok"] == len(KEYS)
    assert rec["results_bytes"] == len(before)
    for _ in range(2):
        report = poll_once(service)
        assert not report.downloads and not report.failed
    assert record_state(service.resolve(name)) == LOCAL_MISSING and results.read_bytes() == before


def test_results_that_do_not_match_the_input_are_downloaded_again(
        service: BatchService, sdk: genai.Client, clock: ManualClock, tmp_path: Path) -> None:
    src = _input(tmp_path / "damaged")
    name, uploaded = _gembatch_submit(sdk, src)
    finish_jobs(clock)
    job = sdk.batches.get(name=name)
    results = src.parent / "results" / src.name
    results.parent.mkdir()
    results.write_bytes(sdk.files.download(file=job.dest.file_name).splitlines(keepends=True)[0])  # truncated
    _import(tmp_path, service, [_legacy_line(name, uploaded, str(src))])
    assert not service.resolve(name).get("results_verified")
    report = poll_once(service)
    assert len(report.downloads) == 1 and report.downloads[0].ok and report.downloads[0].path == results
    rec = service.resolve(name)
    assert _result_keys(results) == KEYS and rec["results_verified"] is True and "results_source" not in rec


def test_a_results_file_two_jobs_would_share_is_taken_for_neither(
        service: BatchService, sdk: genai.Client, clock: ManualClock, tmp_path: Path) -> None:
    src = _input(tmp_path / "twice")
    first, up1 = _gembatch_submit(sdk, src)
    second, up2 = _gembatch_submit(sdk, src)
    finish_jobs(clock)
    _gembatch_results(sdk, second, src)
    _import(tmp_path, service, [_legacy_line(first, up1, str(src)), _legacy_line(second, up2, str(src))])
    assert not any(service.resolve(n).get("results_verified") for n in (first, second))
