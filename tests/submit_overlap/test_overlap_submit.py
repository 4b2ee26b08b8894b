"""Submitting while validating (core/submit/overlap.py) against the emulator over real HTTP with the real SDK.

What counts is what is left on the server and in the store: nothing is created from a file with errors and its
upload does not stay; a valid file is uploaded once and created once, lost answers included; the duplicate guard,
splits, waves and interrupted submissions behave as they do for files validated first.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.models import LOCAL_SUBMIT_FAILED, batch_name, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit import overlap
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.validate import validate_file
from gembatch_tui.emulator import Emulator
from tests.service.conftest import KEY, make_service

UPLOAD = r"/upload/v1[a-z0-9]*/files$"
FINALIZE = ("X-Goog-Upload-Command", "finalize")
TEXT = "Summarise the following passage in two sentences, keeping every number exact. " * 10


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=30.0) as emulator:
        yield emulator


@pytest.fixture
def service(emu: Emulator, tmp_path: Path) -> BatchService:
    return make_service(emu, tmp_path / "store" / "jobs.jsonl", overlap_min_bytes=0)


def lines(n: int, start: int = 0) -> list[str]:
    return [json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"{i} {TEXT}"}]}]}})
            for i in range(start, start + n)]


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("".join(row + "\n" for row in rows))
    return path


def test_a_valid_file_is_uploaded_once_and_created_once(service: BatchService, emu: Emulator, tmp_path: Path) -> None:
    src = write(tmp_path / "good.jsonl", lines(3000))
    assert overlap.applies(src, service.limits, service.overlap_min_bytes)
    out = service.submit(src, model="gemini-2.5-flash")
    assert out.status == "submitted" and out.request_count == 3000, out.line()
    [rec] = service.store.read_all()
    report = validate_file(src)
    assert rec["count"] == 3000 and rec["input_sha256"] == report.sha256
    assert rec["est_input_tokens"] == report.est_input_tokens and rec["kind"] == "generate"
    assert overlap.PENDING not in rec and "local_state" not in rec
    [remote] = emu.files_snapshot()
    assert remote["name"] == rec["uploaded_file_name"]
    assert service.client.find_upload(rec["upload_token"]) == remote["name"]
    assert emu.file_bytes(rec["uploaded_file_name"]) == src.read_bytes()
    [job] = emu.batches_snapshot()
    assert job["name"] == batch_name(rec)


def test_the_duplicate_guard_still_works_by_path_and_by_content(
    service: BatchService, emu: Emulator, tmp_path: Path
) -> None:
    src = write(tmp_path / "good.jsonl", lines(500))
    first = service.submit(src, model="gemini-2.5-flash")
    again = service.submit(src, model="gemini-2.5-flash")
    assert again.status == "skipped" and again.batch_name == first.batch_name
    copy = write(tmp_path / "copy.jsonl", lines(500))
    same = service.submit(copy, model="gemini-2.5-flash")
    assert same.status == "skipped" and same.batch_name == first.batch_name
    assert len(emu.files_snapshot()) == 1 and len(emu.batches_snapshot()) == 1  # the copy's upload was deleted
    assert len(service.store.read_all()) == 1
    forced = service.submit(copy, model="gemini-2.5-flash", force=True)
    assert forced.status == "submitted" and forced.batch_name != first.batch_name
    assert len(emu.batches_snapshot()) == 2


@pytest.mark.parametrize("where", ["early", "late", "duplicate key"])
def test_a_file_with_errors_creates_nothing_and_leaves_no_upload(
    service: BatchService, emu: Emulator, tmp_path: Path, where: str
) -> None:
    rows = lines(3000)
    if where == "early":
        rows[1] = '{"key": "bad", "request": {"contents": [{"text": "no parts"}]}}'
    elif where == "late":
        rows[2990] = '{"key": "bad", "request": '
    else:
        rows.append(rows[0])  # found only when the whole file is read: the upload has finished by then
    src = write(tmp_path / "bad.jsonl", rows)
    expected = validate_file(src, max_bytes=None)
    out = service.submit(src, model="gemini-2.5-flash")
    assert out.status == "error"
    assert out.problems == expected.messages() and out.message == expected.messages()[0]
    assert out.message.startswith(f"{src}:")  # FILE:LINE: message, as before
    assert emu.files_snapshot() == [] and emu.batches_snapshot() == []
    [rec] = service.store.read_all()
    assert record_state(rec) == LOCAL_SUBMIT_FAILED and expected.messages()[0] in rec["error"]
    assert "uploaded_file_name" not in rec
    write(src, lines(3000))  # mended: a failed submission does not block the next
    assert service.submit(src, model="gemini-2.5-flash").status == "submitted"


def test_a_file_that_needs_normalising_uploads_its_normalised_copy_only(
    service: BatchService, emu: Emulator, tmp_path: Path
) -> None:
    rows = lines(2000)
    rows[1500] = json.dumps({"request": {"contents": "a shorthand string"}})
    src = write(tmp_path / "loose.jsonl", rows)
    out = service.submit(src, model="gemini-2.5-flash")
    assert out.status == "submitted", out.line()
    [remote] = emu.files_snapshot()
    sent = emu.file_bytes(remote["name"]).decode().splitlines()
    assert json.loads(sent[1500])["key"] == "request-1501" and sent[:2] == lines(2)
    assert json.loads(sent[1500])["request"]["contents"][0]["parts"] == [{"text": "a shorthand string"}]
    assert len(emu.batches_snapshot()) == 1


@pytest.mark.parametrize("outcome", ["reset", 503])
def test_a_lost_upload_answer_is_found_by_its_token(
    service: BatchService, emu: Emulator, tmp_path: Path, outcome: object
) -> None:
    src = write(tmp_path / "good.jsonl", lines(1000))
    emu.lose_answer("POST", UPLOAD, outcome, header=FINALIZE)  # type: ignore[arg-type]
    out = service.submit(src, model="gemini-2.5-flash")
    assert out.status == "submitted", out.line()
    assert len(emu.files_snapshot()) == 1 and len(emu.batches_snapshot()) == 1


def test_an_upload_left_by_a_crash_while_validating_is_never_used(
    service: BatchService, emu: Emulator, tmp_path: Path
) -> None:
    """The process died during the upload: its file (found by the token) is of a file not known to be valid."""
    src = write(tmp_path / "good.jsonl", lines(200))
    token = upload_tokens.new_token(service.store.path)
    stale = service.client.upload(src, display_name="good.jsonl", token=token)
    service.store.add({"input_file": str(src), "model": "models/gemini-2.5-flash", "display_name": "good.jsonl",
                       "upload_token": token, overlap.PENDING: True, "local_state": "submitting",
                       "submit_host": os.uname().nodename, "submit_pid": 2**22 + 12347})
    out = service.submit(src, model="gemini-2.5-flash")
    assert out.status == "submitted" and out.request_count == 200, out.line()
    [rec] = service.store.read_all()
    assert rec["uploaded_file_name"] != stale and overlap.PENDING not in rec and rec["count"] == 200
    [job] = emu.batches_snapshot()
    assert job["input_file"] == rec["uploaded_file_name"]


def test_poll_marks_a_crash_while_validating_failed_and_creates_nothing(
    service: BatchService, emu: Emulator, tmp_path: Path
) -> None:
    src = write(tmp_path / "good.jsonl", lines(200))
    token = upload_tokens.new_token(service.store.path)
    stale = service.client.upload(src, display_name="good.jsonl", token=token)
    service.store.add({"input_file": str(src), "model": "models/gemini-2.5-flash", "display_name": "good.jsonl",
                       "upload_token": token, overlap.PENDING: True, "local_state": "submitting",
                       "submit_host": os.uname().nodename, "submit_pid": 2**22 + 12348})
    report = poll_once(service)
    assert any("interrupted" in note for note in report.notes)
    [rec] = service.store.read_all()
    assert record_state(rec) == LOCAL_SUBMIT_FAILED and rec["uploaded_file_name"] == stale  # clean-up knows it
    assert emu.batches_snapshot() == []


def test_cancel_during_the_upload_leaves_nothing(service: BatchService, emu: Emulator, tmp_path: Path) -> None:
    src = write(tmp_path / "good.jsonl", lines(3000))
    cancel = threading.Event()
    out = service.submit(src, model="gemini-2.5-flash", cancel=cancel, progress=lambda done, total: cancel.set())
    assert out.status == "cancelled"
    assert service.store.read_all() == []
    assert emu.files_snapshot() == [] and emu.batches_snapshot() == []


def test_a_split_input_takes_the_ordinary_way(emu: Emulator, tmp_path: Path) -> None:
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl", overlap_min_bytes=0,
                           limits=JobLimits(max_requests_per_job=400))
    src = write(tmp_path / "many.jsonl", lines(1000))
    out = service.submit(src, model="gemini-2.5-flash")
    assert out.parts == 3, out.line()
    records = service.store.read_all()
    assert len(records) == 3 and all(rec.get("group_id") for rec in records)
    assert {r["uploaded_file_name"] for r in records} == {f["name"] for f in emu.files_snapshot()}  # none left over
    assert len(emu.batches_snapshot()) == 3


def test_a_file_over_the_byte_limit_is_validated_first(emu: Emulator, tmp_path: Path) -> None:
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl", overlap_min_bytes=0,
                           limits=JobLimits(max_bytes_per_job=100_000))
    src = write(tmp_path / "big.jsonl", lines(300))
    assert not overlap.applies(src, service.limits, 0)
    assert service.submit(src, model="gemini-2.5-flash").parts > 1


def test_small_files_are_validated_first(emu: Emulator, tmp_path: Path) -> None:
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    src = write(tmp_path / "small.jsonl", lines(10))
    assert service.overlap_min_bytes == overlap.MIN_BYTES
    assert not overlap.applies(src, service.limits, service.overlap_min_bytes)


def test_two_copies_submitted_at_once_make_one_job(emu: Emulator, tmp_path: Path) -> None:
    """The content check happens under the store lock after validation: of two submissions of the same content
    running at the same time (two processes, two store objects), one creates the job and the other skips."""
    store = tmp_path / "store" / "jobs.jsonl"
    services = [make_service(emu, store, overlap_min_bytes=0) for _ in range(2)]
    sources = [write(tmp_path / f"copy{i}.jsonl", lines(3000)) for i in range(2)]
    outcomes: list[object] = [None, None]
    start = threading.Barrier(2)

    def run(i: int) -> None:
        start.wait()
        outcomes[i] = services[i].submit(sources[i], model="gemini-2.5-flash")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    statuses = sorted(o.status for o in outcomes)  # type: ignore[union-attr]
    assert statuses == ["skipped", "submitted"], outcomes
    assert len(emu.batches_snapshot()) == 1 and len(emu.files_snapshot()) == 1
    assert len(JobStore(store).read_all()) == 1
