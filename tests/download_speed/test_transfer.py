"""The lean transfer (core/api/download.py) is what GeminiClient.download uses with the pinned SDK, and it behaves
as the SDK's own `files.download` did: the same bytes, sink and progress, the same error for a gone file; a
transient answer before the first byte is tried again; a body cut short fails and leaves no results file."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gembatch_tui.core.api import download as transfer
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.poll.download import download_results
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator
from tests.download_speed.test_verify_process import _serve

KEY = "test-key-TRANSFER-0123456789"
DATA = b"".join(json.dumps({"key": f"k{i}", "response": {"text": "x" * (i % 700)}}).encode() + b"\n"
                for i in range(6000))  # a few MB: several chunks of the writer


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY) as emulator:
        yield emulator


def _fetch(client: GeminiClient, name: str, dest: Path) -> dict[str, Any]:
    chunks: list[bytes] = []
    seen: list[tuple[int, int]] = []
    n = client.download(name, dest, total=len(DATA), sink=chunks.append, progress=lambda d, t: seen.append((d, t)))
    return {"returned": n, "file": dest.read_bytes(), "sink": b"".join(chunks), "last": seen[-1],
            "rising": all(a[0] < b[0] for a, b in zip(seen, seen[1:]))}


def test_the_lean_transfer_is_taken_and_matches_the_sdks_download(emu: Emulator, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    client = GeminiClient(KEY, base_url=emu.url)
    name = _serve(emu, tmp_path / "blobs", DATA)
    lean = transfer.lean_request(client.sdk, name)
    assert lean is not None, "the pinned google-genai no longer has what the lean transfer drives"
    _http, request = lean
    assert str(request.url).endswith(f"/{name}:download?alt=media") and request.method == "GET"
    sent: list[bool] = []
    real = transfer._send
    monkeypatch.setattr(transfer, "_send", lambda *a: sent.append(True) or real(*a))
    got = _fetch(client, name, tmp_path / "lean.jsonl")
    assert sent == [True]
    monkeypatch.setattr(transfer, "lean_request", lambda *_a, **_k: None)  # the SDK's own files.download
    want = _fetch(client, name, tmp_path / "sdk.jsonl")
    assert got == want
    assert got["file"] == got["sink"] == DATA and got["returned"] == len(DATA) == got["last"][0] and got["rising"]


def test_a_gone_file_is_the_same_error_on_both_paths(emu: Emulator, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    client = GeminiClient(KEY, base_url=emu.url)
    name = _serve(emu, tmp_path / "blobs", DATA)
    client.sdk.files.delete(name=name)
    errors = []
    for lean in (True, False):
        if not lean:
            monkeypatch.setattr(transfer, "lean_request", lambda *_a, **_k: None)
        with pytest.raises(ServiceError) as info:
            client.download(name, tmp_path / "gone.jsonl")
        errors.append((info.value.code, str(info.value)))
    assert errors[0] == errors[1] and errors[0][0] == 403
    assert errors[0][1].startswith(f"download {name}: permission denied (403")
    assert KEY not in errors[0][1]


class _Stub(BaseHTTPRequestHandler):
    """A service that answers a file's metadata, and its download as the test says (`plan`: one step per try)."""

    plan: list[str] = []
    tries: list[str] = []
    body = DATA

    def log_message(self, *_a: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, length: int | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        if ":download" not in self.path:
            self._send(200, json.dumps({"name": "files/stub", "sizeBytes": str(len(self.body))}).encode())
            return
        step = self.plan.pop(0) if self.plan else "ok"
        self.tries.append(step)
        if step == "503":
            self._send(503, json.dumps({"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}).encode())
        elif step == "short":  # says the whole length, sends half, hangs up
            self._send(200, self.body[: len(self.body) // 2], length=len(self.body))
            self.close_connection = True
        else:
            self._send(200, self.body)


@pytest.fixture
def stub() -> Iterator[str]:
    _Stub.plan, _Stub.tries = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_transient_answer_before_the_first_byte_is_tried_again(stub: str, tmp_path: Path) -> None:
    client = GeminiClient(KEY, base_url=stub, retry_attempts=3, retry_initial_delay=0.01, retry_max_delay=0.02)
    _Stub.plan = ["503", "503"]
    assert client.download("files/stub", tmp_path / "r.jsonl") == len(DATA)
    assert _Stub.tries == ["503", "503", "ok"] and (tmp_path / "r.jsonl").read_bytes() == DATA
    _Stub.plan, _Stub.tries = ["503"] * 3, []
    with pytest.raises(ServiceError) as info:
        client.download("files/stub", tmp_path / "r2.jsonl")
    assert _Stub.tries == ["503"] * 3 and info.value.code == 503 and info.value.transient


def _service(base_url: str, home: Path) -> tuple[BatchService, dict]:
    store = JobStore(home / "store" / "jobs.jsonl")
    inp = home / "in.jsonl"
    inp.parent.mkdir(parents=True, exist_ok=True)
    inp.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": "q"}]}]}}) + "\n"
                           for i in range(6000)))
    store.add({"input_file": str(inp), "count": 6000,
               "batch": {"name": "batches/stub", "state": "JOB_STATE_SUCCEEDED", "model": "models/gemini-2.5-flash",
                         "dest": {"file_name": "files/stub"},
                         "stats": {"request_count": 6000, "successful_request_count": 6000}}})
    client = GeminiClient(KEY, base_url=base_url, retry_attempts=2, retry_initial_delay=0.01, retry_max_delay=0.02)
    return BatchService(store, client, results_dir=home / "out"), store.read_all()[0]


def test_a_body_cut_short_fails_the_download_and_leaves_no_file(stub: str, tmp_path: Path) -> None:
    service, before = _service(stub, tmp_path / "home")
    _Stub.plan = ["short"]
    outcome = download_results(service, before)
    assert not outcome.ok and outcome.message.startswith("download files/stub: ")
    assert _Stub.tries == ["short"]  # a failure after bytes were written is never tried again in place
    out = tmp_path / "home" / "out"
    assert not out.exists() or sorted(p.name for p in out.rglob("*")) == []
    after = service.store.read_all()[0]
    assert not after.get("results_verified") and after["results_attempts"] == 1
    outcome = download_results(service, after)  # the next pass downloads again, whole
    assert outcome.ok, outcome.message
    assert Path(service.store.read_all()[0]["results_file"]).read_bytes() == DATA
