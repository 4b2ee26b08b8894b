"""Submit, status, list, poll, results, cancel and delete through the service, checked in the store it writes
and on the emulator (the real SDK over real HTTP on both sides); errors carry the CLI's sentences."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.validate import validate_file
from gembatch_tui.emulator import Emulator
from tests.manual_clock import ManualClock
from tests.server.support import Server, job_path, multipart, requests_jsonl, wait_until


def _remote(emu: Emulator) -> dict[str, str]:
    return {f"batches/{b['name'].rsplit('/', 1)[-1]}": b["state"] for b in emu.batches_snapshot()}


def _uploads(server: Server) -> list[Path]:
    root = server.home / "uploads"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _submit(server: Server, data: bytes, query: str = "filename=q.jsonl") -> dict:
    answer = server.post(f"/jobs?{query}", data, headers={"Content-Type": "application/jsonl"})
    assert answer.status == 201, answer
    return answer.json()


def test_a_raw_upload_is_submitted_once_into_the_store_and_to_the_emulator(server: Server, emulator: Emulator) -> None:
    body = _submit(server, requests_jsonl(3), "filename=questions.jsonl&display_name=from-rest")
    assert body["status"] == "submitted"
    [name] = body["batch_names"]
    assert body["message"] == f"submitted {name} (3 requests)"
    [record] = JobStore(server.store_path).read_all()
    assert record["batch"]["name"] == name and record["count"] == 3
    assert record["display_name"] == "from-rest"
    assert Path(record["input_file"]).read_bytes() == requests_jsonl(3)  # kept: results go beside it
    assert Path(record["input_file"]).name == "questions.jsonl"
    assert body["jobs"] == [record]
    assert name in _remote(emulator)

    # The same content again, as a multipart form: skipped as already submitted, its copy not kept.
    form, content_type = multipart("file", "again.jsonl", requests_jsonl(3))
    again = server.post("/jobs", form, headers={"Content-Type": content_type})
    assert again.status == 200, again
    assert again.json()["message"] == f"skipped (already submitted as {name})"
    assert [r["id"] for r in again.json()["jobs"]] == [record["id"]]
    assert len(_uploads(server)) == 1 and len(emulator.batches_snapshot()) == 1

    forced = server.post("/jobs?force=true", form, headers={"Content-Type": content_type})
    assert forced.status == 201, forced
    assert len(emulator.batches_snapshot()) == 2 and len(JobStore(server.store_path).read_all()) == 2
    assert forced.json()["jobs"][0]["display_name"] == "again.jsonl"


def test_a_bad_file_is_refused_with_the_cli_messages_and_leaves_nothing(server: Server, emulator: Emulator,
                                                                        tmp_path: Path) -> None:
    data = requests_jsonl(2) + b'{"key": "x", "request": {"contents": "oops", "bogus": 1}\n' + b"not json\n"
    answer = server.post("/jobs?filename=bad.jsonl", data)
    assert answer.status == 400, answer
    local = tmp_path / "bad.jsonl"
    local.write_bytes(data)
    expected = [m.replace(str(local), "bad.jsonl") for m in validate_file(local, max_bytes=None).messages()]
    error = answer.json()["error"]
    assert error["problems"] == expected and len(expected) >= 2
    assert error["message"] == f"{expected[0]} (+{error['problem_count'] - 1} more)"
    assert expected[0].startswith("bad.jsonl:3: ")
    assert _uploads(server) == [] and emulator.batches_snapshot() == []
    assert JobStore(server.store_path).read_all() == []


def test_an_embedding_model_for_generate_requests_is_refused_as_the_cli_does(server: Server) -> None:
    answer = server.post("/jobs?filename=g.jsonl&model=gemini-embedding-001", requests_jsonl(1))
    assert (answer.status, answer.message) == (
        400, "g.jsonl: this file holds generate requests, but gemini-embedding-001 is an embedding model")
    assert server.post("/jobs?kind=sideways", requests_jsonl(1)).message == (
        "kind: 'sideways' is not one of auto, generate, embed")


def test_an_upload_over_the_limit_is_413_and_leaves_no_file(server: Server, emulator: Emulator) -> None:
    big = requests_jsonl(1000)  # about 70 KB; the fixture's limit is 64 KiB
    assert len(big) > 64 * 1024
    sized = server.post("/jobs?filename=big.jsonl", big)
    assert sized.status == 413 and "64 KiB" not in sized.message
    assert sized.message == f"the upload is {len(big)} bytes; this service takes at most {64 * 1024} bytes"

    def chunks():  # no Content-Length: the limit is found while the body arrives
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]

    streamed = server.post("/jobs?filename=big.jsonl", chunks())
    assert streamed.status == 413, streamed
    assert streamed.message == f"the upload is over {64 * 1024} bytes, the most this service takes"
    form, content_type = multipart("file", "big.jsonl", big)
    assert server.post("/jobs", (form[i:i + 8192] for i in range(0, len(form), 8192)),
                       headers={"Content-Type": content_type}).status == 413
    assert _uploads(server) == [] and list((server.home / "uploads").iterdir()) == []
    assert emulator.batches_snapshot() == [] and JobStore(server.store_path).read_all() == []
    assert server.get("/jobs").status == 200  # still serving


def test_a_form_without_the_file_field_says_which_field(server: Server) -> None:
    form, content_type = multipart("upload", "x.jsonl", requests_jsonl(1))
    answer = server.post("/jobs", form, headers={"Content-Type": content_type})
    assert (answer.status, answer.message) == (400, "no file in the form: send the JSONL as the form field 'file'")
    assert _uploads(server) == []


def test_status_list_cancel_delete(server: Server, emulator: Emulator, clock: ManualClock) -> None:
    first = _submit(server, requests_jsonl(2, "a"), "filename=a.jsonl")["jobs"][0]
    second = _submit(server, requests_jsonl(2, "b"), "filename=b.jsonl")["jobs"][0]
    name = first["batch"]["name"]
    bare = name.split("/", 1)[1]
    for ref in (name, bare, first["id"], first["id"][:10], first["input_file"]):
        status = server.get(job_path(ref))
        assert status.status == 200, (ref, status)
        assert [r["id"] for r in status.json()["jobs"]] == [first["id"]]
    assert server.get(f"/jobs/{name}").json()["jobs"][0]["id"] == first["id"]  # slashes as they are
    missing = server.get(job_path("batches/nothere"))
    assert (missing.status, missing.message) == (404, f"batches/nothere: no such job in {server.store_path}")

    clock.advance(31)  # both running now
    polled = server.post("/poll")
    assert polled.status == 200
    assert {c["to"] for c in polled.json()["changes"]} == {"RUNNING"}
    assert [r["id"] for r in server.get("/jobs?state=running").json()["jobs"]] == [first["id"], second["id"]]
    assert server.get("/jobs?state=succeeded").json()["jobs"] == []
    bad = server.get("/jobs?state=bogus")
    assert bad.status == 400 and bad.message.startswith("state: ") and "bogus" in bad.message

    refused = server.request("DELETE", job_path(name))
    assert (refused.status, refused.message) == (409, f"{name}: {name} is RUNNING (as last polled): cancel it first, "
                                                       "or `poll` it if it may have ended since")

    cancelled = server.post(job_path(name, "/cancel"))
    assert cancelled.status == 200, cancelled
    assert cancelled.json()["jobs"] == [{"job": name, "state": "CANCELLED", "skipped": False,
                                         "message": f"{name}: cancel requested, now CANCELLED"}]
    assert _remote(emulator)[name] == "BATCH_STATE_CANCELLED"
    again = server.post(job_path(name, "/cancel"))
    assert (again.status, again.message) == (409, f"{name} is already CANCELLED; nothing to cancel")
    assert [r["id"] for r in server.get("/jobs?state=cancelled,running").json()["jobs"]] == [first["id"], second["id"]]

    deleted = server.request("DELETE", job_path(bare))
    assert deleted.status == 200, deleted
    assert any(line.startswith(f"remote batch job {name}") for line in deleted.json()["deleted"])
    assert any(line.startswith("local record ") for line in deleted.json()["deleted"])
    assert name not in _remote(emulator)
    assert [r["id"] for r in JobStore(server.store_path).read_all()] == [second["id"]]
    assert server.get(job_path(name)).status == 404


def test_results_are_streamed_byte_identical_once_verified(server: Server, emulator: Emulator,
                                                          clock: ManualClock) -> None:
    record = _submit(server, requests_jsonl(40), "filename=r.jsonl")["jobs"][0]
    name = record["batch"]["name"]
    early = server.get(job_path(name, "/results"))
    assert (early.status, early.message) == (409, f"{name} is PENDING: it has no results to fetch")
    clock.advance(61)
    wait_until(lambda: server.post("/poll", token="").json()["downloads"], what="the download")
    [saved] = JobStore(server.store_path).read_all()
    assert saved["results_verified"] is True
    answer = server.get(job_path(name, "/results"))
    assert answer.status == 200, answer
    assert answer.headers["content-type"].startswith("application/jsonl")
    assert answer.body == Path(saved["results_file"]).read_bytes()
    assert len([json.loads(line) for line in answer.body.splitlines()]) == 40
    part = server.get(job_path(name, "/results"), headers={"Range": "bytes=100-199"})  # a download resumed
    assert (part.status, part.body) == (206, answer.body[100:200])
    size = len(answer.body)
    bad = server.get(job_path(name, "/results"), headers={"Range": "bytes=abc"})  # the service's error shape too
    assert (bad.status, bad.message) == (400, "Range header 'bytes=abc': range must be requested")
    past = server.get(job_path(name, "/results"), headers={"Range": f"bytes={size + 10}-"})
    assert (past.status, past.message) == (416, f"Range header 'bytes={size + 10}-': the results file has "
                                                f"{size:,} bytes")
    assert past.headers["content-range"] == f"bytes */{size}"

    Path(saved["results_file"]).write_bytes(answer.body + b"\n")  # changed since it was verified: not served
    changed = server.get(job_path(name, "/results"))
    assert changed.status == 409 and changed.message.startswith(f"{name}: ")


def test_every_route_is_in_the_openapi_document(server: Server) -> None:
    from gembatch_tui.server.app import make_app
    from gembatch_tui.server.jobs import Context
    from gembatch_tui.server.openapi import OPEN_PATHS

    document = server.get("/openapi.json", token=None).json()
    assert document["openapi"].startswith("3.")
    app = make_app(Context(None, "m"), "token", "file")  # type: ignore[arg-type] # only its routes are read
    served = {(route.path.replace(":path", ""), method.lower())
              for route in app.routes if route.path not in OPEN_PATHS
              for method in route.methods if method != "HEAD"}
    listed = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == listed
    assert {"/jobs", "/jobs/{job}", "/jobs/{job}/results", "/jobs/{job}/cancel", "/poll"} <= {p for p, _ in listed}
    page = server.get("/docs", token=None)
    assert all(path in page.body.decode() for path, _ in listed)


def test_errors_are_json_for_unknown_routes_and_methods(server: Server) -> None:
    assert (server.get("/nowhere").status, server.get("/nowhere").message) == (404, "Not Found")
    wrong = server.request("PUT", "/jobs")
    assert wrong.status == 405 and wrong.message == "Method Not Allowed"


def test_the_service_polls_and_downloads_on_its_own(tmp_path: Path, emulator: Emulator, clock: ManualClock) -> None:
    from tests.server.support import start_server

    server = start_server(tmp_path / "home", emulator.url, "--poll-interval", "0.2")
    try:
        name = _submit(server, requests_jsonl(3), "filename=bg.jsonl")["batch_names"][0]
        clock.advance(61)
        saved = wait_until(lambda: [r for r in JobStore(server.store_path).read_all() if r.get("results_verified")],
                           what="the background download")
        assert saved[0]["batch"]["name"] == name
        assert server.get(job_path(name, "/results")).body == Path(saved[0]["results_file"]).read_bytes()
    finally:
        assert server.stop() == 0
    assert any(line.startswith(f"poll: {name}: results saved to ") for line in server.stderr), server.stderr


def test_a_slow_submission_does_not_hold_up_other_requests(tmp_path: Path) -> None:
    """Each Batch API call takes 1 s here: while a submission waits on them (in a worker thread), the service
    still answers other requests at once."""
    import threading
    import time

    from tests.server.support import KEY, start_server

    with Emulator(api_key=KEY, job_seconds=600, latency_ms=1000) as emu:
        server = start_server(tmp_path / "home", emu.url, "--poll-interval", "0")
        try:
            answers: list = []
            worker = threading.Thread(target=lambda: answers.append(server.post("/jobs?filename=s.jsonl",
                                                                                requests_jsonl(2))))
            worker.start()
            wait_until(lambda: any("submitting" == r.get("local_state")
                                   for r in JobStore(server.store_path).read_all()), what="the submission to start")
            t = time.monotonic()
            assert server.get("/jobs").status == 200
            assert server.get("/openapi.json", token=None).status == 200
            assert time.monotonic() - t < 0.9  # under one Batch API call: nothing waited on the submission
            assert worker.is_alive()  # the submission was still waiting on the Batch API meanwhile
            worker.join(timeout=60)
            assert answers[0].status == 201, answers
        finally:
            server.stop()


def test_a_refusal_by_the_batch_api_is_a_json_error_with_the_cli_line(server: Server, emulator: Emulator) -> None:
    emulator.fail_next("POST", r":batchGenerateContent$", 400, message="model is not allowed (injected)")
    answer = server.post("/jobs?filename=refused.jsonl", requests_jsonl(2))
    assert answer.status == 502, answer
    assert answer.message.startswith("error: ") and "model is not allowed (injected)" in answer.message
    assert answer.json()["error"]["status"] == "error"
    assert emulator.batches_snapshot() == []


def test_the_cost_cap_refuses_as_submit_does(tmp_path: Path, emulator: Emulator) -> None:
    from tests.server.support import start_server

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"max_cost_usd": 0.0}))
    server = start_server(home, emulator.url, "--poll-interval", "0")
    try:
        refused = server.post("/jobs?filename=c.jsonl", requests_jsonl(3))
        assert refused.status == 400, refused
        assert refused.message.startswith("c.jsonl: estimated ") and "is over the cap of $0" in refused.message
        assert refused.message.endswith(")") and "nothing was submitted" in refused.message
        assert str(home) not in refused.message
        assert server.post("/jobs?filename=c.jsonl&max_cost=5", requests_jsonl(3)).status == 201  # the request's cap wins
        assert server.post("/jobs?max_cost=lots", requests_jsonl(1)).message == (
            "max_cost: not an amount of US dollars: 'lots'")
        assert len(emulator.batches_snapshot()) == 1 and _uploads(server) != []
    finally:
        server.stop()


def test_an_interrupted_upload_is_swept_at_the_next_start(tmp_path: Path, emulator: Emulator) -> None:
    import os
    import time

    from tests.server.support import start_server

    home = tmp_path / "home"
    server = start_server(home, emulator.url, "--poll-interval", "0")
    try:
        kept = _submit(server, requests_jsonl(2), "filename=kept.jsonl")["jobs"][0]["input_file"]
    finally:
        server.stop()
    assert not (Path(kept).parent / ".in-flight").exists()
    stale, fresh, owned = (home / "uploads" / name for name in ("0123456789abcdef", "fedcba9876543210", "00ff00ff00ff00ff"))
    for folder in (stale, fresh, owned):
        folder.mkdir()
        (folder / "half.jsonl").write_bytes(b'{"key": "x"')
    (stale / ".in-flight").touch()
    (fresh / ".in-flight").touch()
    (owned / "results").mkdir()  # a job's folder whose record was deleted: its results stay
    old = time.time() - 2 * 3600
    for path in (stale, owned, Path(kept).parent):
        os.utime(path, (old, old))
    server = start_server(home, emulator.url, "--poll-interval", "0")
    server.stop()
    assert not stale.exists()  # still marked in flight, nobody names it, and it is old
    assert fresh.exists()  # young: maybe another service's upload in flight
    assert owned.exists() and Path(kept).exists()
    assert any(line == f"removed {stale}: an upload no job names, left by an interrupted service"
               for line in server.stderr), server.stderr


def test_a_query_parameter_the_route_does_not_take_or_a_boolean_that_is_not_one_is_refused(
        server: Server, emulator: Emulator) -> None:
    record = _submit(server, requests_jsonl(3), "filename=k.jsonl")["jobs"][0]
    name = record["batch"]["name"]
    maybe = server.request("DELETE", job_path(name) + "?keep_record=maybe")
    assert (maybe.status, maybe.message) == (400, "keep_record: 'maybe' is not true or false")
    typo = server.post("/jobs?filename=k.jsonl&forse=true", requests_jsonl(3))
    assert typo.status == 400 and typo.message.startswith("unknown query parameter 'forse'; POST /jobs takes: model,")
    assert [r["id"] for r in JobStore(server.store_path).read_all()] == [record["id"]]  # nothing done by either
    assert name in _remote(emulator)
    listed = server.get("/jobs?all=false")
    assert listed.status == 200 and [r["id"] for r in listed.json()["jobs"]] == [record["id"]]
