"""Jobs created with inline requests (the SDK's `src=[...]`) and adopted into the store get their answers written
to a results file, in the same format and with the same record fields as a downloaded file job's results.

Real google-genai SDK creates the jobs, real HTTP to the emulator; the clock moves by hand."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
from pathlib import Path

import pytest
from google import genai

from gembatch_tui.core import paths
from gembatch_tui.core.poll import inline_results
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.results.export import write_export
from gembatch_tui.core.submit.importer import import_job_info
from gembatch_tui.core.models import SUCCEEDED, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.results.index import ResultsIndex
from gembatch_tui.core.submit.service import BatchService
from tests.manual_clock import ManualClock
from tests.trust_adopted.conftest import MODEL, finish_jobs

SRC = [
    {"contents": "What is 2+2?", "metadata": {"key": "q1"}},
    {"contents": "Name a colour"},  # no metadata: its key is its position, "2"
    {"contents": [{"parts": [{"text": "describe"}, {"file_data": {"file_uri": "files/gone123", "mime_type": "image/png"}}],
                   "role": "user"}],
     "metadata": {"key": "bad"}},  # names a file that does not exist: the service answers an error for it
]


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _create_inline(sdk: genai.Client) -> str:
    return str(sdk.batches.create(model=MODEL, src=SRC, config={"display_name": "inline-job"}).name)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.is_dir() else []


def test_adopted_inline_job_gets_a_verified_results_file(service: BatchService, sdk: genai.Client,
                                                         clock: ManualClock) -> None:
    name = _create_inline(sdk)
    service.store.add({"batch": {"name": name}})  # adopted: a record holding only the batch name

    first = poll_once(service)
    assert not first.errors and not first.downloads
    assert record_state(service.resolve(name)) in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")

    finish_jobs(clock)
    report = poll_once(service)
    assert not report.errors, report.errors
    assert [c.new for c in report.changes] == [SUCCEEDED]
    assert len(report.downloads) == 1 and report.downloads[0].ok, report.downloads
    results_dir = paths.fallback_results_dir()
    target = results_dir / f"{name.split('/')[1]}.jsonl"
    assert report.downloads[0].path == target
    assert "3 results: 2 ok, 1 error" in report.downloads[0].message

    # The same lines a file job's output has: key + response, or key + error.
    lines = _lines(target)
    assert [line["key"] for line in lines] == ["q1", "2", "bad"]
    assert set(lines[0]) == {"key", "response"} and set(lines[2]) == {"key", "error"}
    assert "gone123" in lines[2]["error"]["message"]
    remote = sdk.batches.get(name=name).dest.inlined_responses  # what the SDK itself reads from the job
    assert lines[0]["response"]["candidates"][0]["content"]["parts"][0]["text"] == remote[0].response.text
    assert lines[1]["response"]["candidates"][0]["content"]["parts"][0]["text"] == remote[1].response.text

    rec = service.resolve(name)
    assert rec["results_file"] == str(target) and rec["results_verified"] is True
    assert rec["results_source"] == "inline"
    assert rec["results_check"] == {"lines": 3, "ok": 2, "errors": 1, "missing": 0, "unexpected": 0, "duplicates": 0}
    remote_tokens = sum(r.response.usage_metadata.total_token_count for r in remote[:2])
    assert rec["usage"]["ok"] == 2 and rec["usage"]["errors"] == 1 and rec["usage"]["total"] == remote_tokens
    assert rec["usage"]["source"]["size"] == target.stat().st_size
    assert rec["batch"]["model"] == f"models/{MODEL}" and rec["batch"]["stats"]["request_count"] == 3
    assert "results_error" not in rec
    data = target.read_bytes()
    assert rec["results_bytes"] == len(data) and rec["results_sha256"] == hashlib.sha256(data).hexdigest()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert _leftovers(results_dir) == []  # no partial file left behind

    # The results browser's index and export read it like any job's results.
    index = ResultsIndex.build(target, None)
    out = io.StringIO()
    assert write_export(index, out, "jsonl") == 3
    exported = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [e["key"] for e in exported] == ["q1", "2", "bad"]

    # Saved once: the next pass neither reads the job again for it nor rewrites the file.
    before = target.stat().st_mtime_ns
    again = poll_once(service)
    assert not again.downloads and not again.errors
    assert target.stat().st_mtime_ns == before


def test_import_line_naming_an_inline_job_without_input_file(service: BatchService, sdk: genai.Client,
                                                             clock: ManualClock, tmp_path: Path) -> None:
    legacy = _create_inline(sdk)
    nested = _create_inline(sdk)
    finish_jobs(clock)
    info = tmp_path / "job-info.jsonl"
    info.write_text(
        json.dumps({"job_name": legacy, "final_state": "JOB_STATE_SUCCEEDED"}) + "\n"
        + json.dumps({"batch": {"name": nested, "state": "JOB_STATE_SUCCEEDED", "model": f"models/{MODEL}"}}) + "\n"
    )
    imported = import_job_info(info, service.store)
    assert imported.ok and sorted(imported.imported) == sorted([legacy, nested])
    for name in (legacy, nested):
        rec = service.resolve(name)
        assert "input_file" not in rec
        # Succeeded by the line's word but with no output named: read from the server before anything else.
        assert rec["batch"]["state"] == "JOB_STATE_UNSPECIFIED" and rec["imported_state"] == SUCCEEDED

    report = poll_once(service)
    assert not report.errors, report.errors
    assert sorted(d.name for d in report.downloads if d.ok) == sorted([legacy, nested])
    for name in (legacy, nested):
        rec = service.resolve(name)
        assert record_state(rec) == SUCCEEDED and rec["results_verified"] is True
        assert [line["key"] for line in _lines(Path(rec["results_file"]))] == ["q1", "2", "bad"]


def test_inline_job_with_an_input_file_is_verified_against_it(service: BatchService, sdk: genai.Client,
                                                              clock: ManualClock, tmp_path: Path) -> None:
    name = _create_inline(sdk)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    src = inputs / "questions.jsonl"
    src.write_text("".join(json.dumps({"key": k, "request": {"contents": [{"parts": [{"text": "q"}]}]}}) + "\n"
                           for k in ("q1", "2", "bad")))
    service.store.add({"input_file": str(src), "batch": {"name": name}})
    finish_jobs(clock)
    report = poll_once(service)
    assert len(report.downloads) == 1 and report.downloads[0].ok, report.downloads
    assert report.downloads[0].path == inputs / "results" / "questions.jsonl"
    assert "input not compared" not in report.downloads[0].message  # keys were compared with the input
    assert service.resolve(name)["results_check"]["missing"] == 0

    # Another job's results already have that name: they are never replaced.
    other = _create_inline(sdk)
    service.store.add({"input_file": str(src), "batch": {"name": other}})
    finish_jobs(clock)
    second = poll_once(service)
    assert len(second.downloads) == 1 and second.downloads[0].ok
    assert second.downloads[0].path != inputs / "results" / "questions.jsonl"
    assert second.downloads[0].path.parent == inputs / "results"
    assert [line["key"] for line in _lines(inputs / "results" / "questions.jsonl")] == ["q1", "2", "bad"]


def test_a_wrong_reply_writes_nothing_and_a_later_pass_saves_the_results(
        service: BatchService, sdk: genai.Client, emu: Emulator, clock: ManualClock) -> None:
    name = _create_inline(sdk)
    service.store.add({"batch": {"name": name}})
    finish_jobs(clock)
    assert not poll_once(service, download=False).errors  # now SUCCEEDED in the store, results not saved
    before = service.resolve(name)
    results_dir = paths.fallback_results_dir()

    for body in (b'{"name": "batches/../../escaped", "metadata": {"state": "BATCH_STATE_SUCCEEDED", '
                 b'"output": {"inlinedResponses": {"inlinedResponses": [{"response": {}}, {"response": {}}, '
                 b'{"response": {}}]}}}}',
                 b"{}", b'{"name": "' + name.encode() + b'", "metadata": {"state": "BATCH_STATE_RUNNING"}}'):
        emu.lose_answer("GET", r"/batches/[a-z0-9]+$", body)
        report = poll_once(service)
        assert len(report.downloads) == 1 and not report.downloads[0].ok
        assert report.failed
        rec = service.resolve(name)
        assert rec["batch"] == before["batch"]  # the reply touched nothing it was not asked about
        assert "results_file" not in rec and rec["results_error"]
        assert not results_dir.exists() or list(results_dir.iterdir()) == []
    assert not (results_dir.parent.parent / "escaped.jsonl").exists()

    fine = poll_once(service)
    assert len(fine.downloads) == 1 and fine.downloads[0].ok
    rec = service.resolve(name)
    assert rec["results_verified"] is True and "results_error" not in rec and rec["results_attempts"] == 3


def test_a_transient_error_is_retried_by_the_reader(service: BatchService, sdk: genai.Client, emu: Emulator,
                                                    clock: ManualClock) -> None:
    name = _create_inline(sdk)
    service.store.add({"batch": {"name": name}})
    finish_jobs(clock)
    assert not poll_once(service, download=False).errors
    emu.fail_next("GET", r"/batches/[a-z0-9]+$", 503, times=2)
    report = poll_once(service)
    assert len(report.downloads) == 1 and report.downloads[0].ok


@pytest.mark.filterwarnings("ignore:batches.create_embeddings")
def test_inline_embeddings_are_counted_as_vectors(service: BatchService, emu: Emulator, clock: ManualClock) -> None:
    beta = genai.Client(api_key=service.client._api_key, http_options={"base_url": emu.url, "api_version": "v1beta"})
    job = beta.batches.create_embeddings(
        model="gemini-embedding-001",
        src={"inlined_requests": {"contents": ["alpha", "beta"], "config": {"output_dimensionality": 8}}},
    )
    service.store.add({"batch": {"name": job.name}})
    finish_jobs(clock)
    report = poll_once(service)
    assert len(report.downloads) == 1 and report.downloads[0].ok, report.downloads
    rec = service.resolve(str(job.name))
    assert rec["results_check"]["embeddings"] == 2 and rec["results_check"]["embedding_dims"] == 8
    assert "usage" not in rec
    lines = _lines(Path(rec["results_file"]))
    assert [line["key"] for line in lines] == ["1", "2"]
    assert len(lines[0]["response"]["embedding"]["values"]) == 8


def test_a_succeeded_record_without_its_output_file_finds_it(service: BatchService, sdk: genai.Client,
                                                              clock: ManualClock, tmp_path: Path) -> None:
    """A file job whose record says SUCCEEDED but never learnt its output file: the read finds the file, and
    the next pass downloads it (not an error)."""
    data = tmp_path / "in.jsonl"
    data.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
    uploaded = sdk.files.upload(file=str(data), config={"mime_type": "jsonl"})
    name = str(sdk.batches.create(model=MODEL, src=uploaded.name).name)
    finish_jobs(clock)
    service.store.add({"batch": {"name": name, "state": SUCCEEDED}})
    first = poll_once(service)
    assert not first.failed and not first.downloads
    assert any("downloaded on the next pass" in note for note in first.notes)
    assert service.resolve(name)["batch"]["dest"]["file_name"] == f"files/batch-{name.split('/')[1]}"
    second = poll_once(service)
    assert len(second.downloads) == 1 and second.downloads[0].ok
    assert [line["key"] for line in _lines(second.downloads[0].path)] == ["a"]


# ----------------------------------------------------------------------------- the pieces, directly
def test_a_hostile_batch_name_stays_in_the_results_dir(service: BatchService) -> None:
    folder = paths.fallback_results_dir()
    for name in ("batches/../../escape", "batches/..", "batches/a/../../../b", "batches/\x1b]52;c;x\x07"):
        target, alternative, ours = service.results_targets({"batch": {"name": name}})
        assert not ours
        for path in (target, alternative):
            assert path.parent == folder and paths.inside(folder, path), path
    # A recorded results_file elsewhere is never written to.
    target, _alt, ours = service.results_targets({"batch": {"name": "batches/ok"},
                                                          "results_file": "/etc/hostname"})
    assert not ours and target == folder / "ok.jsonl"


def test_result_line_keys_and_shapes() -> None:
    assert inline_results.result_line({"response": {"x": 1}, "metadata": {"key": "k"}}, 0) == \
        {"key": "k", "response": {"x": 1}}
    assert inline_results.result_line({"response": {}}, 4)["key"] == "5"
    assert inline_results.result_line({"response": {}, "metadata": {"key": ""}}, 0)["key"] == "1"
    assert inline_results.result_line({"response": {}, "metadata": {"key": 7}}, 0)["key"] == "7"
    assert inline_results.result_line({"error": {"code": 400, "message": "m"}}, 0) == \
        {"key": "1", "error": {"code": 400, "message": "m"}}
    assert inline_results.result_line({"metadata": {"key": "k"}}, 0)["error"]["message"] == inline_results.NO_ANSWER
    with pytest.raises(inline_results.ReplyError):
        inline_results.result_line("not an object", 0)


def test_inline_items_checks_the_reply() -> None:
    ok = {"name": "batches/a", "metadata": {"state": "BATCH_STATE_SUCCEEDED",
                                             "output": {"inlinedResponses": {"inlinedResponses": [{"response": {}}]}}}}
    assert inline_results.inline_items(ok, "batches/a") == [{"response": {}}]
    only_response = {"name": "batches/a", "metadata": {"state": "BATCH_STATE_SUCCEEDED"},
                     "response": {"inlinedResponses": {"inlinedResponses": []}}}
    assert inline_results.inline_items(only_response, "batches/a") == []
    with_file = {"name": "batches/a", "metadata": {"state": "JOB_STATE_SUCCEEDED",
                                                   "output": {"responsesFile": "files/batch-a"}}}
    assert inline_results.inline_items(with_file, "batches/a") == "files/batch-a"
    for bad in (ok | {"name": "batches/b"}, {"name": 5}, [], None,
                {"name": "batches/a", "metadata": {"state": "BATCH_STATE_FAILED"}},
                {"name": "batches/a", "metadata": {"state": "BATCH_STATE_SUCCEEDED"}},
                {"name": "batches/a", "metadata": {"state": "BATCH_STATE_SUCCEEDED", "output": {"inlinedResponses": 3}}}):
        with pytest.raises(inline_results.ReplyError):
            inline_results.inline_items(bad, "batches/a")


def test_needs_results_only_for_succeeded_jobs_without_output_or_saved_results(tmp_path: Path) -> None:
    base = {"batch": {"name": "batches/a", "state": SUCCEEDED}}
    assert inline_results.needs_results(base)
    assert not inline_results.needs_results({"batch": {"name": "batches/a", "state": "JOB_STATE_RUNNING"}})
    assert not inline_results.needs_results({"batch": {**base["batch"], "dest": {"file_name": "files/batch-a"}}})
    assert not inline_results.needs_results({**base, "remote_deleted": {"batch": True}})
    assert not inline_results.needs_results({**base, "remote_missing_at": "2026-01-01T00:00:00+00:00"})
    saved = tmp_path / "r.jsonl"
    saved.write_text("{}\n")
    assert not inline_results.needs_results({**base, "results_file": str(saved), "results_verified": True})
    assert inline_results.needs_results({**base, "results_file": str(tmp_path / "gone.jsonl"), "results_verified": True})
    assert inline_results.needs_results({**base, "results_file": 123, "results_verified": True})


def test_answers_with_any_text_are_written_as_valid_lines(tmp_path: Path) -> None:
    partial = tmp_path / ".r.partial"
    items = [{"response": {"text": "héllo ✓"}, "metadata": {"key": "u"}}, {"response": {"text": "\ud800 lone"}}]
    embeds, size, sha = inline_results._write(partial, items)
    data = partial.read_bytes()
    assert not embeds and size == len(data) and sha == hashlib.sha256(data).hexdigest()
    lines = [json.loads(x) for x in data.decode("utf-8").splitlines()]
    assert lines[0] == {"key": "u", "response": {"text": "héllo ✓"}}
    assert lines[1]["key"] == "2" and lines[1]["response"]["text"] == "\ud800 lone"


def test_emulator_answers_inline_jobs_as_the_reference_says(service: BatchService, sdk: genai.Client,
                                                            clock: ManualClock) -> None:
    """§4.2: the answers in metadata.output and again in response, as inlinedResponses.inlinedResponses[], each
    `response` or `error` with the request's metadata echoed back; done only when final; stats as strings."""
    name = _create_inline(sdk)
    running = service.client.reader.get_json(name)
    assert "done" not in running and "output" not in running["metadata"] and "response" not in running
    finish_jobs(clock)
    op = service.client.reader.get_json(name)
    assert op["done"] is True and op["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    items = op["metadata"]["output"]["inlinedResponses"]["inlinedResponses"]
    assert op["response"]["inlinedResponses"]["inlinedResponses"] == items
    assert op["response"]["@type"].endswith("GenerateContentBatchOutput") and "responsesFile" not in op["response"]
    assert [i.get("metadata") for i in items] == [{"key": "q1"}, None, {"key": "bad"}]
    assert [("response" in i, "error" in i) for i in items] == [(True, False), (True, False), (False, True)]
    assert op["metadata"]["batchStats"] == {"requestCount": "3", "successfulRequestCount": "2",
                                            "failedRequestCount": "1"}


def test_cleanup_deletes_an_inline_job_only_while_its_saved_results_are_intact(
        service: BatchService, sdk: genai.Client, clock: ManualClock) -> None:
    """For an inline job the job itself is the only remote copy of its answers: cleanup plans to delete it once
    the results file is verified, and not after that file was damaged."""
    from gembatch_tui.core.cleanup import plan as cleanup

    name = _create_inline(sdk)
    service.store.add({"batch": {"name": name}})
    finish_jobs(clock)
    assert name not in {a.target for a in cleanup.plan_cleanup(service.store.read_all()).actions}
    poll_once(service, download=False)
    assert name not in {a.target for a in cleanup.plan_cleanup(service.store.read_all()).actions}
    assert poll_once(service).downloads[0].ok
    rec = service.resolve(name)
    assert cleanup.results_problem(rec, fresh=True) is None
    assert name in {a.target for a in cleanup.plan_cleanup(service.store.read_all()).actions}
    path = Path(rec["results_file"])
    path.write_bytes(path.read_bytes()[:-20])  # damaged after verification
    assert cleanup.results_problem(rec, fresh=True) is not None
    assert name not in {a.target for a in cleanup.plan_cleanup(service.store.read_all()).actions}
