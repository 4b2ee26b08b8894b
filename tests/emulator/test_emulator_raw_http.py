"""Wire details the SDK hides, checked over plain HTTP: Operation shape, stats, pagination, uploads, downloads."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from gembatch_tui.emulator import Emulator

GEN = "/v1beta/models/gemini-2.5-flash:batchGenerateContent"
LINE = b'{"key":"k%d","request":{"contents":[{"parts":[{"text":"prompt %d"}]}]}}\n'


def _upload(tools, base: str, data: bytes, version: str = "v1beta", prefix: str = "") -> dict:
    start = tools.raw(base, "POST", f"{prefix}/upload/{version}/files", {"file": {"display_name": "raw"}}, headers={
        "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": str(len(data)), "X-Goog-Upload-Header-Content-Type": "jsonl"})
    assert start.status == 200 and start.headers["x-goog-upload-status"] == "active"
    url = start.headers["x-goog-upload-url"]
    fin = tools.raw(base, "POST", url, data, key=None, headers={
        "X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"})
    assert fin.status == 200 and fin.headers["x-goog-upload-status"] == "final"
    return fin.json()["file"]


def _create(tools, base: str, file_name: str) -> dict:
    reply = tools.raw(base, "POST", GEN, {"batch": {"display_name": "raw", "input_config": {"file_name": file_name}}})
    assert reply.status == 200, reply.body
    return reply.json()


def test_operation_shape_through_the_life_cycle(clocked: Emulator, clock, tools) -> None:
    base = clocked.url
    f = _upload(tools, base, b"".join(LINE % (i, i) for i in range(10)))
    op = _create(tools, base, f["name"])
    meta = op["metadata"]
    assert "done" not in op and "response" not in op and "endTime" not in meta
    assert meta["@type"] == "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
    assert meta["state"] == "BATCH_STATE_PENDING" and meta["name"] == op["name"]
    assert meta["inputConfig"] == {"fileName": f["name"]} and meta["displayName"] == "raw"
    assert meta["batchStats"] == {"requestCount": "10", "pendingRequestCount": "10"}  # strings, zeros omitted
    assert meta["createTime"].endswith("Z") and meta["updateTime"] == meta["createTime"]
    path = "/v1beta/" + op["name"]

    clock.advance(15 + 100 * 0.85 * 0.35)  # pending is 15 s; then 10 requests over 85 s
    running = tools.raw(base, "GET", path).json()
    stats = running["metadata"]["batchStats"]
    assert running["metadata"]["state"] == "BATCH_STATE_RUNNING" and "done" not in running
    assert stats == {"requestCount": "10", "successfulRequestCount": "3", "pendingRequestCount": "7"}
    assert running["metadata"]["updateTime"] > meta["updateTime"]

    clock.advance(100)
    done = tools.raw(base, "GET", path).json()
    batch_id = op["name"].removeprefix("batches/")
    output = {"responsesFile": f"files/batch-{batch_id}"}
    assert done["done"] is True and done["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    assert done["metadata"]["output"] == output
    assert done["response"] == {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput", **output}
    assert done["metadata"]["batchStats"] == {"requestCount": "10", "successfulRequestCount": "10"}
    assert done["metadata"]["endTime"] == done["metadata"]["updateTime"]
    assert "error" not in done


def test_failed_count_and_expiry(clock, tools) -> None:
    # 100 s jobs that expire after 80 s: pending until 15 s, then one request per 42.5 s.
    with Emulator(job_seconds=100, expiry_seconds=80, clock=clock) as emu:
        f = _upload(tools, emu.url, LINE % (0, 0) + b"garbage\n" + LINE % (2, 2))
        created = clock.now
        op = _create(tools, emu.url, f["name"])
        path = "/v1/" + op["name"]
        clock.advance(15 + 85 * 2 / 3)
        stats = tools.raw(emu.url, "GET", path).json()["metadata"]["batchStats"]
        assert stats == {"requestCount": "3", "successfulRequestCount": "1", "failedRequestCount": "1",
                         "pendingRequestCount": "1"}
        clock.now = created + 80
        expired = tools.raw(emu.url, "GET", path).json()
        assert expired["metadata"]["state"] == "BATCH_STATE_EXPIRED" and expired["done"] is True
        assert "output" not in expired["metadata"] and expired["error"]["code"] == 4
        assert expired["metadata"]["batchStats"]["pendingRequestCount"] == "1"



def test_cancel_shape(clocked: Emulator, tools) -> None:
    f = _upload(tools, clocked.url, LINE % (0, 0))
    op = _create(tools, clocked.url, f["name"])
    reply = tools.raw(clocked.url, "POST", f"/v1/{op['name']}:cancel", b"")
    assert (reply.status, reply.json()) == (200, {})
    got = tools.raw(clocked.url, "GET", "/v1/" + op["name"]).json()
    assert got["metadata"]["state"] == "BATCH_STATE_CANCELLED" and got["done"] is True
    assert "endTime" in got["metadata"] and "response" not in got
    again = tools.raw(clocked.url, "POST", f"/v1/{op['name']}:cancel", b"")
    assert again.status == 400 and again.json()["error"]["status"] == "FAILED_PRECONDITION"
    deleted = tools.raw(clocked.url, "DELETE", "/v1/" + op["name"])
    assert (deleted.status, deleted.json()) == (200, {})
    gone = tools.raw(clocked.url, "GET", "/v1/" + op["name"])
    assert gone.status == 404
    assert gone.json() == {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}


def test_pagination_never_sends_an_empty_page_with_a_token(emu: Emulator, tools) -> None:
    for i in range(4):
        _upload(tools, emu.url, b"%d\n" % i)
    seen, token, pages = [], None, 0
    while True:
        q = "?pageSize=2" + (f"&pageToken={token}" if token else "")
        body = tools.raw(emu.url, "GET", "/v1/files" + q).json()
        pages += 1
        assert body.get("files"), "no empty pages"
        seen += [f["name"] for f in body["files"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert pages == 2 and len(set(seen)) == 4
    assert tools.raw(emu.url, "GET", "/v1/files?pageSize=1000").json()["files"][0]["name"] == seen[0]
    assert tools.raw(emu.url, "GET", "/v1/files?pageToken=bogus").status == 400
    assert tools.raw(emu.url, "GET", "/v1/batches").json() == {}


def test_file_json_shape(emu: Emulator, tools) -> None:
    f = _upload(tools, emu.url, b"abc\n")
    assert f["sizeBytes"] == "4" and f["state"] == "ACTIVE" and f["source"] == "UPLOADED"
    assert f["mimeType"] == "jsonl" and f["displayName"] == "raw"
    for field in ("createTime", "updateTime", "expirationTime"):
        assert f[field].endswith("Z")
    assert f["uri"].startswith("https://generativelanguage.googleapis.com/v1beta/files/")
    assert "downloadUri" not in f


def test_both_download_paths(tools) -> None:
    with Emulator(job_seconds=0) as emu:
        f = _upload(tools, emu.url, LINE % (1, 1))
        op = _create(tools, emu.url, f["name"])
        out = tools.raw(emu.url, "GET", "/v1beta/" + op["name"]).json()["metadata"]["output"]["responsesFile"]
        fid = out.removeprefix("files/")
        a = tools.raw(emu.url, "GET", f"/v1beta/files/{fid}:download?alt=media")
        b = tools.raw(emu.url, "GET", f"/download/v1beta/files/{fid}:download?alt=media")
        assert a.status == b.status == 200 and a.body == b.body and json.loads(a.body)["key"] == "k1"
        assert int(a.headers["content-length"]) == len(a.body)
        meta = tools.raw(emu.url, "GET", f"/v1beta/files/{fid}").json()
        assert meta["source"] == "GENERATED" and meta["sizeBytes"] == str(len(a.body))
        assert meta["downloadUri"] == f"{emu.url}/download/v1beta/files/{fid}:download?alt=media"
        via_uri = tools.raw(emu.url, "GET", meta["downloadUri"])
        assert via_uri.body == a.body
        assert tools.raw(emu.url, "GET", f"/v1beta/files/{fid}:download?alt=media", key=None).status == 400


def test_duplicate_chunk_is_a_no_op_and_gaps_are_refused(emu: Emulator, tools) -> None:
    data = b"0123456789" * 3
    start = tools.raw(emu.url, "POST", "/upload/v1beta/files", {"file": {"mime_type": "text/plain"}}, headers={
        "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": "30"})
    url = start.headers["x-goog-upload-url"]
    assert url.startswith(emu.url + "/upload/v1beta/files?upload_id=") and url.endswith("&upload_protocol=resumable")

    def chunk(offset: int, payload: bytes, command: str = "upload"):
        return tools.raw(emu.url, "POST", url, payload, key=None,
                         headers={"X-Goog-Upload-Command": command, "X-Goog-Upload-Offset": str(offset)})

    first = chunk(0, data[:10])
    assert first.status == 200 and first.headers["x-goog-upload-status"] == "active"
    dup = chunk(0, data[:10])
    assert dup.status == 200 and dup.headers["x-goog-upload-status"] == "active"
    gap = chunk(20, data[20:])
    assert gap.status == 400 and gap.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert gap.headers["x-goog-upload-size-received"] == "10"
    overlap = chunk(5, data[5:20])  # half already held: only the new half is kept
    assert overlap.status == 200
    fin = chunk(20, data[20:], "upload, finalize")
    assert fin.status == 200 and fin.headers["x-goog-upload-status"] == "final"
    assert fin.json()["file"]["sizeBytes"] == "30"
    again = chunk(20, data[20:], "upload, finalize")  # a re-sent last chunk gets the same answer
    assert again.status == 200 and again.json() == fin.json()
    snap = {s["name"]: s for s in emu.files_snapshot()}
    import hashlib

    assert snap[fin.json()["file"]["name"]]["sha256"] == hashlib.sha256(data).hexdigest()


def test_upload_size_must_match_declared_length(emu: Emulator, tools) -> None:
    def start() -> str:
        reply = tools.raw(emu.url, "POST", "/upload/v1/files", {"file": {"size_bytes": 5}}, headers={
            "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": "5"})
        return reply.headers["x-goog-upload-url"]

    short = tools.raw(emu.url, "POST", start(), b"abc", key=None,
                      headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"})
    assert short.status == 400 and short.headers["x-goog-upload-status"] == "final"
    long = tools.raw(emu.url, "POST", start(), b"abcdefgh", key=None,
                     headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"})
    assert long.status == 400
    assert emu.files_snapshot() == []
    unknown = tools.raw(emu.url, "POST", "/upload/v1/files?upload_id=nope", b"x", key=None,
                        headers={"X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"})
    assert unknown.status == 404


def test_api_key_is_checked_and_never_echoed(emu: Emulator, tools) -> None:
    secret = "sk-very-secret-key-123"
    replies = [
        tools.raw(emu.url, "GET", "/v1/batches", key=secret),
        tools.raw(emu.url, "GET", "/v1/batches", key=None),
        tools.raw(emu.url, "GET", f"/v1/files?key={secret}", key=None),
        tools.raw(emu.url, "POST", GEN, {"batch": {"display_name": secret}}, key=secret),
    ]
    for reply in replies:
        assert reply.status == 400
        err = reply.json()["error"]
        assert err["status"] == "INVALID_ARGUMENT" and err["details"][0]["reason"] == "API_KEY_INVALID"
        assert secret.encode() not in reply.body
        assert all(secret not in v for v in reply.headers.values())
    assert all(secret not in p for _, p in emu.request_log)
    ok = tools.raw(emu.url, "GET", f"/v1/files?key={tools.KEY}", key=None)  # ?key= works as on the real API
    assert ok.status == 200


def test_any_key_accepted_when_none_configured(tools) -> None:
    with Emulator(api_key=None) as emu:
        assert tools.raw(emu.url, "GET", "/v1/batches", key="anything").status == 200
        assert tools.raw(emu.url, "GET", "/v1/batches", key=None).status == 400


def test_prefix_versions_and_snake_case(emu: Emulator, tools) -> None:
    f = _upload(tools, emu.url, LINE % (2, 2), version="v1alpha", prefix="/proxy/x")
    assert tools.raw(emu.url, "GET", "/proxy/x/v1alpha/" + f["name"]).status == 200
    body = {"batch": {"displayName": "camel", "inputConfig": {"fileName": f["name"]}, "priority": "5"}}
    op = tools.raw(emu.url, "POST", "/pfx/v1/models/gemini-3-flash-preview:batchGenerateContent", body).json()
    assert op["metadata"]["priority"] == "5" and op["metadata"]["model"] == "models/gemini-3-flash-preview"
    assert tools.raw(emu.url, "GET", "/v2/batches").status == 404


def test_create_validation(emu: Emulator, tools) -> None:
    bad = [
        {},
        {"batch": {}},
        {"batch": {"inputConfig": {"fileName": "files/x", "requests": {"requests": []}}}},
        {"batch": {"inputConfig": {"requests": {"requests": []}}}},
        {"batch": {"inputConfig": {"fileName": "nofilesprefix"}}},
    ]
    for body in bad:
        reply = tools.raw(emu.url, "POST", GEN, body)
        assert reply.status == 400, body
    assert tools.raw(emu.url, "POST", GEN, b"{not json").status == 400
    assert emu.batches_snapshot() == []


def test_strict_input_rejects_invalid_json_at_create(tools) -> None:
    with Emulator(strict_input=True) as emu:
        f = _upload(tools, emu.url, LINE % (0, 0) + b"{broken\n")
        reply = tools.raw(emu.url, "POST", GEN, {"batch": {"inputConfig": {"fileName": f["name"]}}})
        assert reply.status == 400 and reply.json()["error"]["message"].startswith("Error on line 2: invalid JSON")


def test_fail_next_and_error_rate_envelopes(emu: Emulator, tools) -> None:
    f = _upload(tools, emu.url, b"x\n")
    emu.fail_next("DELETE", f"/{f['name']}$", 500)
    first = tools.raw(emu.url, "DELETE", "/v1beta/" + f["name"])
    assert first.status == 500 and first.json()["error"]["status"] == "INTERNAL"
    assert tools.raw(emu.url, "DELETE", "/v1beta/" + f["name"]).status == 200

    with Emulator(error_rate=1.0) as flaky:
        codes = {tools.raw(flaky.url, "GET", "/v1/batches").status for _ in range(30)}
        assert codes == {429, 500, 503}
        reply = tools.raw(flaky.url, "GET", "/v1/files")
        assert reply.json()["error"]["status"] in {"RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE"}


def test_keep_alive_connection_survives_errors(emu: Emulator) -> None:
    import http.client

    host = urlsplit(emu.url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    for path, want in [("/v1/batches", 200), ("/v1/batches/nope", 404), ("/v1/files", 200)]:
        conn.request("GET", path, headers={"x-goog-api-key": "test-key"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == want and resp.getheader("Content-Length")
    conn.request("POST", GEN, body=b'{"big": "' + b"x" * 100_000 + b'"}', headers={"x-goog-api-key": "wrong"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 400
    conn.request("GET", "/v1/files", headers={"x-goog-api-key": "test-key"})
    assert conn.getresponse().status == 200
    conn.close()


@pytest.mark.parametrize("latency_ms", [150])
def test_latency(latency_ms: int, tools) -> None:
    import time

    with Emulator(latency_ms=latency_ms) as emu:
        t0 = time.perf_counter()
        assert tools.raw(emu.url, "GET", "/v1/files").status == 200
        assert time.perf_counter() - t0 >= latency_ms / 1000


def test_slow_results_generation_reads_as_running(clocked: Emulator, clock, tools, monkeypatch) -> None:
    import threading

    from gembatch_tui.emulator import jobs, results

    release = threading.Event()
    real_write = results.write_results

    def slow_write(*args, **kwargs):
        release.wait(10)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(jobs, "FINALIZE_WAIT", 0.0)
    monkeypatch.setattr(results, "write_results", slow_write)
    f = _upload(tools, clocked.url, LINE % (0, 0) + LINE % (1, 1))
    op = _create(tools, clocked.url, f["name"])
    clock.advance(100)
    busy = tools.raw(clocked.url, "GET", "/v1/" + op["name"]).json()
    assert busy["metadata"]["state"] == "BATCH_STATE_RUNNING" and "done" not in busy
    assert busy["metadata"]["batchStats"]["pendingRequestCount"] == "1"
    release.set()
    for _ in range(100):
        done = tools.raw(clocked.url, "GET", "/v1/" + op["name"]).json()
        if done.get("done"):
            break
        import time

        time.sleep(0.02)
    assert done["metadata"]["state"] == "BATCH_STATE_SUCCEEDED" and "output" in done["metadata"]


def test_results_generation_failure_fails_the_job(clock, tools, monkeypatch) -> None:
    from gembatch_tui.emulator import results

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(results, "write_results", broken)
    with Emulator(job_seconds=1, clock=clock) as emu:
        f = _upload(tools, emu.url, LINE % (0, 0))
        op = _create(tools, emu.url, f["name"])
        clock.advance(2)
        got = tools.raw(emu.url, "GET", "/v1/" + op["name"]).json()
        assert got["metadata"]["state"] == "BATCH_STATE_FAILED" and got["done"] is True
        assert "disk full" in emu.server_errors[0]
