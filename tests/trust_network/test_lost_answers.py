"""A create or an upload whose answer is lost after the server acted never makes a second billed job or file.

The emulator performs the request and then loses its answer (`Emulator.lose_answer`): a reset, a 5xx, or a
malformed 200. The real google-genai client talks to it over HTTP. What counts is what is left on the server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.poll import poller
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.models import LOCAL_SUBMIT_FAILED, LOCAL_SUBMITTING, batch_name, record_state
from gembatch_tui.core.api.upload_tokens import token_of
from tests.service.conftest import KEY, make_service

CREATE = r":batchGenerateContent$"
UPLOAD = r"/upload/v1[a-z0-9]*/files$"
FINALIZE = ("X-Goog-Upload-Command", "finalize")


@pytest.fixture
def emu() -> Emulator:
    with Emulator(api_key=KEY, job_seconds=30.0) as emulator:
        yield emulator


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "batch1.jsonl"
    path.parent.mkdir()
    lines = [
        {"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"question {i}"}]}]}} for i in range(3)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _uploads(emu: Emulator) -> list[dict]:
    return [f for f in emu.files_snapshot() if f["source"] == "UPLOADED"]


def _assert_exactly_one_job(emu: Emulator, service, input_file: Path) -> None:
    jobs = emu.batches_snapshot()
    assert len(jobs) == 1, f"duplicate jobs on the server: {[j['name'] for j in jobs]}"
    uploads = _uploads(emu)
    assert len(uploads) == 1, f"orphan uploads: {[u['name'] for u in uploads]}"
    records = service.store.read_all()
    assert len(records) == 1
    rec = records[0]
    assert batch_name(rec) == jobs[0]["name"]
    assert rec["uploaded_file_name"] == uploads[0]["name"] == jobs[0]["input_file"]
    assert token_of(uploads[0]["display_name"]) == rec["upload_token"]
    assert record_state(rec) not in (LOCAL_SUBMIT_FAILED, LOCAL_SUBMITTING)


@pytest.mark.parametrize("outcome", ["reset", 500, 503, b"", b'{"name": 5}', b"not json"])
def test_lost_create_answer_makes_one_job(emu: Emulator, tmp_path: Path, input_file: Path, outcome) -> None:
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    emu.lose_answer("POST", CREATE, outcome)
    out = service.submit(input_file, model="gemini-2.5-flash")
    assert out.status == "submitted", out.line()
    _assert_exactly_one_job(emu, service, input_file)
    assert out.batch_name == emu.batches_snapshot()[0]["name"]


def test_failed_creates_then_a_lost_answer_still_make_one_job(emu: Emulator, tmp_path: Path, input_file: Path) -> None:
    """Two 503s that did not act (the listing shows no job, so the create is tried again), then one that acted."""
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    emu.fail_next("POST", CREATE, 503, times=2)
    out = service.submit(input_file, model="gemini-2.5-flash")
    assert out.status == "submitted", out.line()
    _assert_exactly_one_job(emu, service, input_file)
    service2_input = input_file.with_name("batch2.jsonl")
    service2_input.write_bytes(input_file.read_bytes().replace(b"question", b"another"))
    emu.fail_next("POST", CREATE, 500, times=1)
    emu.lose_answer("POST", CREATE, 503, times=1)
    out2 = service.submit(service2_input, model="gemini-2.5-flash")
    assert out2.status == "submitted", out2.line()
    assert len(emu.batches_snapshot()) == 2
    assert {batch_name(r) for r in service.store.read_all()} == {j["name"] for j in emu.batches_snapshot()}


def test_a_create_that_cannot_be_resolved_now_is_adopted_by_poll(
    emu: Emulator, tmp_path: Path, input_file: Path
) -> None:
    """The answer is lost and the listing fails too: the record keeps `submitting` (no owner) and says why;
    the next poll looks, finds the job and adopts it. Nothing is created a second time."""
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    emu.lose_answer("POST", CREATE, "reset")
    emu.fail_next("GET", r"/batches$", 503, times=50)
    out = service.submit(input_file, model="gemini-2.5-flash")
    assert out.status == "error"
    assert "unknown" in out.message and "poll" in out.message
    rec = service.store.read_all()[0]
    assert record_state(rec) == LOCAL_SUBMITTING and "submit_pid" not in rec
    assert len(emu.batches_snapshot()) == 1
    # the service answers again
    emu._faults._rules.clear()
    report = poller.poll_once(service, download=False)
    assert any("recovered interrupted submission" in note for note in report.notes), report
    _assert_exactly_one_job(emu, service, input_file)


@pytest.mark.parametrize("outcome", ["reset", 500, 503])
def test_lost_upload_finalize_answer_leaves_one_file(
    emu: Emulator, tmp_path: Path, input_file: Path, outcome
) -> None:
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    emu.lose_answer("POST", UPLOAD, outcome, header=FINALIZE)
    out = service.submit(input_file, model="gemini-2.5-flash")
    assert out.status == "submitted", out.line()
    _assert_exactly_one_job(emu, service, input_file)


def test_an_upload_refused_with_429_is_tried_again(emu: Emulator, tmp_path: Path, input_file: Path) -> None:
    """A 429 says nothing was stored: the upload is simply sent again after the backoff, not failed at once
    (with a hint to pay interactive prices for a blip)."""
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    emu.fail_next("POST", UPLOAD, 429, times=2)
    out = service.submit(input_file, model="gemini-2.5-flash")
    assert out.status == "submitted", out.line()
    _assert_exactly_one_job(emu, service, input_file)


def test_upload_whose_answer_was_lost_before_a_kill_is_found_by_its_token(
    emu: Emulator, tmp_path: Path, input_file: Path
) -> None:
    """A process that died between the upload and recording its name: the token in the record finds the file,
    and the job is created from it, without a second upload."""
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    emu.lose_answer("POST", UPLOAD, "reset", header=FINALIZE)
    emu.lose_answer("GET", r"/files$", "reset", times=50)  # the lookup cannot run: the submission fails
    out = service.submit(input_file, model="gemini-2.5-flash")
    assert out.status == "error"
    assert len(_uploads(emu)) == 1 and not emu.batches_snapshot()
    rec = service.store.read_all()[0]
    assert rec.get("upload_token") and not rec.get("uploaded_file_name")
    # As a crash would have left it: `submitting`, owned by nobody.
    def crashed(r: dict) -> None:
        r.update(local_state="submitting")
        r.pop("submit_pid", None)

    service.store.update(rec["id"], crashed)
    emu._faults._lost.clear()
    poller.poll_once(service, download=False)
    rec = service.store.read_all()[0]
    assert rec["uploaded_file_name"] == _uploads(emu)[0]["name"]
    assert len(_uploads(emu)) == 1


def test_a_refused_connection_fails_fast_and_names_the_url(tmp_path: Path, input_file: Path) -> None:
    import socket
    import time

    from gembatch_tui.core.api.gemini import GeminiClient
    from gembatch_tui.core.submit.service import BatchService
    from gembatch_tui.core.store import JobStore

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    client = GeminiClient(KEY, base_url=url, retry_initial_delay=1.0, retry_max_delay=8.0)
    service = BatchService(JobStore(tmp_path / "store" / "jobs.jsonl"), client)
    started = time.monotonic()
    out = service.submit(input_file, model="gemini-2.5-flash")
    elapsed = time.monotonic() - started
    assert out.status == "error"
    assert f"cannot reach {url} (connection refused)" in out.message
    assert KEY not in out.message
    assert elapsed < 5, f"a refused connection was retried for {elapsed:.1f} s"


@pytest.mark.parametrize(
    "body",
    [b"", b"{}", b'{"name": 5, "metadata": {"state": "BATCH_STATE_SUCCEEDED"}}', b"[1, 2]", b"<html>",
     b'{"name": "batches/someoneelse", "metadata": {"state": "BATCH_STATE_SUCCEEDED"}}',
     b'{"name": "batches/../../etc", "metadata": {"state": "BATCH_STATE_SUCCEEDED"}}',
     b'{"name": "NAME", "metadata": "oops"}'],
)
def test_a_malformed_get_answer_never_touches_the_record(
    emu: Emulator, tmp_path: Path, input_file: Path, body: bytes
) -> None:
    service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
    out = service.submit(input_file, model="gemini-2.5-flash")
    assert out.status == "submitted"
    before = service.store.read_all()[0]
    name = batch_name(before)
    emu.lose_answer("GET", "/" + name + "$", body.replace(b"NAME", name.encode()))
    report = poller.poll_once(service, download=False)
    assert report.errors and "malformed answer" in report.errors[0], report
    after = service.store.read_all()[0]
    assert after["batch"] == before["batch"]
    # The next pass, with an honest answer, polls the same job as before.
    report = poller.poll_once(service, download=False)
    assert not report.errors
    assert batch_name(service.store.read_all()[0]) == name
