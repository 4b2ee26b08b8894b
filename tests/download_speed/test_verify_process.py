"""The check of a download made by a second process gives exactly the verdicts of the in-process check (forced on
with `verify_process.MIN_BYTES = 0`), and a verifier that dies or a cancelled download leaves no results file and
nothing recorded as verified."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.poll.download import download_results
from gembatch_tui.core.results import fingerprint as results_fingerprint
from gembatch_tui.core.results import verify_process
from gembatch_tui.core.results.stream import StreamVerifier
from gembatch_tui.core.results.verify_process import ProcessVerifier, verifier_for
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator
from tests.perf_logic.test_results_stream import AWKWARD, GOOD

KEY = "test-key-SECRETVALUE123"
INPUT_KEYS = ("a", "b", "c", "d")


def _answer(key: str, tokens: int = 3) -> bytes:
    return json.dumps({"key": key, "response": {"candidates": [{"content": {"parts": [{"text": f"answer {key}"}]}}],
                                                "usageMetadata": {"promptTokenCount": tokens,
                                                                  "totalTokenCount": tokens + 1},
                                                "modelVersion": "gemini-2.5-flash"}}).encode()


ERROR = json.dumps({"key": "c", "error": {"code": 500, "status": "INTERNAL", "message": "boom"}}).encode()
CASES: dict[str, list[bytes]] = {
    "complete, with an error line": [_answer("a"), _answer("b"), ERROR, _answer("d")],
    "duplicated key": [_answer("a"), _answer("b"), _answer("b"), ERROR, _answer("d")],
    "duplicate in place of a missing key": [_answer("a"), _answer("b"), _answer("b"), _answer("d")],
    "missing key": [_answer("a"), _answer("b"), ERROR],
    "extra unknown key": [_answer("a"), _answer("b"), ERROR, _answer("d"), _answer("x")],
    "unknown key in place of a known one": [_answer("a"), _answer("b"), ERROR, _answer("x")],
    "truncated last line": [_answer("a"), _answer("b"), ERROR, _answer("d")[:25]],
    "a line that is not JSON": [_answer("a"), b"not json at all", ERROR, _answer("d")],
}


@pytest.fixture
def emu():
    with Emulator(api_key=KEY) as emulator:
        yield emulator


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "batch.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps({"key": k, "request": {"contents": [{"parts": [{"text": k}]}]}}) + "\n"
                            for k in INPUT_KEYS))
    return path


def _serve(emu: Emulator, folder: Path, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    blob = folder / f"served-{time.monotonic_ns()}"
    blob.write_bytes(data)
    file_id = f"results{time.monotonic_ns()}"
    emu._require().state.add_generated_file(file_id, blob, len(data), hashlib.sha256(data).hexdigest(), time.time())
    return f"files/{file_id}"


def _download(emu: Emulator, home: Path, input_file: Path, file_name: str, **kw: Any) -> tuple[Any, dict, dict, Path]:
    store = JobStore(home / "store" / "jobs.jsonl")
    store.add({"input_file": str(input_file), "count": len(INPUT_KEYS),
               "batch": {"name": "batches/speed", "state": "JOB_STATE_SUCCEEDED", "model": "models/gemini-2.5-flash",
                         "dest": {"file_name": file_name},
                         "stats": {"request_count": len(INPUT_KEYS), "successful_request_count": len(INPUT_KEYS)}}})
    before = store.read_all()[0]
    client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
    service = BatchService(store, client, results_dir=home / "out")
    outcome = download_results(service, before, **kw)
    return outcome, before, store.read_all()[0], home / "out"


def _verdict(outcome: Any, rec: dict) -> dict:
    usage = dict(rec.get("usage") or {})
    usage.pop("source", None)  # the file's mtime: differs between two downloads
    return {"ok": outcome.ok, "message": outcome.message, "check": rec.get("results_check"),
            "verified": rec.get("results_verified"), "sha": rec.get("results_sha256"),
            "bytes": rec.get("results_bytes"), "usage": usage, "error": rec.get("results_error"),
            "file": Path(rec["results_file"]).read_bytes() if rec.get("results_file") else None}


@pytest.mark.parametrize("case", list(CASES))
def test_process_path_gives_the_in_process_verdicts(case: str, emu: Emulator, input_file: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\n".join(CASES[case]) + b"\n"
    verdicts = {}
    real = verify_process.verifier_for
    for mode, threshold in (("in-process", 1 << 40), ("process", 0)):
        monkeypatch.setattr(verify_process, "MIN_BYTES", threshold)
        used: list[str] = []
        monkeypatch.setattr(verify_process, "verifier_for",
                            lambda *a, **k: used.append(type(v := real(*a, **k)).__name__) or v)
        outcome, _before, rec, _out = _download(emu, tmp_path / mode, input_file,
                                                _serve(emu, tmp_path / "blobs", data))
        assert used == ["StreamVerifier" if mode == "in-process" else "ProcessVerifier"]
        verdicts[mode] = _verdict(outcome, rec)
    assert verdicts["process"] == verdicts["in-process"]
    got = verdicts["process"]
    check = got["check"] or {}
    # what each case must say (the same as before the second process existed)
    if case == "complete, with an error line":
        assert got["ok"] and check == {"lines": 4, "ok": 3, "errors": 1, "missing": 0, "unexpected": 0,
                                       "duplicates": 0}
        assert got["usage"]["prompt"] == 9 and got["usage"]["errors"] == 1 and got["sha"] == hashlib.sha256(
            data).hexdigest() and got["bytes"] == len(data) and got["file"] == data
    elif case in ("duplicated key", "missing key", "extra unknown key"):
        lines = {"duplicated key": 5, "missing key": 3, "extra unknown key": 5}[case]
        assert not got["ok"] and got["verified"] is None and got["file"] is None
        assert f"results have {lines} lines, batch stats say 4" in got["error"]
    elif case == "duplicate in place of a missing key":
        assert got["ok"] and check["duplicates"] == 1 and check["missing"] == 1 and "1 duplicate" in got["message"]
    elif case == "unknown key in place of a known one":
        assert got["ok"] and check["unexpected"] == 1 and check["missing"] == 1
    elif case == "truncated last line":
        assert not got["ok"] and got["file"] is None and "line 4: not valid JSON" in got["error"]
    elif case == "a line that is not JSON":
        assert not got["ok"] and got["file"] is None and "line 2: not valid JSON" in got["error"]


def _follow(verifier: Any, path: Path, data: bytes, chunk: int) -> Any:
    """What a download does: write each chunk to the file, then feed it; finish."""
    with open(path, "wb") as out:
        for i in range(0, len(data), chunk):
            out.write(data[i:i + chunk])
            out.flush()
            verifier.feed(data[i:i + chunk])
    return verifier.finish(path)


@pytest.mark.parametrize("lines,trailing", [(GOOD, True), (GOOD + AWKWARD, True), (AWKWARD + GOOD, False)])
@pytest.mark.parametrize("chunk", [7, 4096])
def test_awkward_files_checked_alike_while_written(tmp_path: Path, lines: list[bytes], trailing: bool, chunk: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_process, "NOTIFY_STEP", 16)  # the verifier follows the file in many small steps
    data = b"\n".join(lines) + (b"\n" if trailing else b"")
    inp = tmp_path / "input.jsonl"
    inp.write_text("".join(json.dumps({"key": k, "request": {"contents": [{"parts": [{"text": "q"}]}]}}) + "\n"
                           for k in ("a", "b", "c", "z")))
    for input_path, expected in ((inp, None), (None, 3)):
        path = tmp_path / "results.jsonl"
        with ProcessVerifier(path, input_path, expected_count=expected, usage=True) as verifier:
            got = _follow(verifier, path, data, chunk)
        path.write_bytes(data)
        with StreamVerifier(input_path, expected_count=expected) as verifier:
            verifier.feed(data)
            want = verifier.finish(path)
        assert got.check == want.check
        assert got.usage == want.usage
        assert got.fingerprint == want.fingerprint == results_fingerprint.compute(path)


def _no_files(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob("*")) if out.exists() else []


def _killed(*_a: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("which", ["results", "input"])
def test_a_killed_verifier_leaves_no_results_file_and_nothing_verified(which: str, emu: Emulator, input_file: Path,
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_process, "MIN_BYTES", 0)
    data = b"\n".join(CASES["complete, with an error line"]) + b"\n"
    started: list[ProcessVerifier] = []
    real_init = ProcessVerifier.__init__

    def init(self: ProcessVerifier, *a: Any, **k: Any) -> None:
        real_init(self, *a, **k)
        started.append(self)
        if which == "results":  # the checker waits for the download's end: alive until killed
            self._starter.join()  # started beside the download: here, before it has written a byte
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.join(timeout=30)

    if which == "input":  # the input's key reader is killed before it sends a key
        monkeypatch.setattr(verify_process, "_input_child", _killed)
        monkeypatch.setattr(verify_process, "START_METHODS", ("fork",))  # the child must see the patched function

    monkeypatch.setattr(ProcessVerifier, "__init__", init)
    outcome, before, rec, out = _download(emu, tmp_path / "home", input_file, _serve(emu, tmp_path / "blobs", data))
    assert len(started) == 1
    why = "verifier process was killed" if which == "results" else "process reading the input's keys ended"
    assert not outcome.ok and why in outcome.message
    assert _no_files(out) == []
    assert {k: v for k, v in rec.items() if k not in ("results_error", "results_attempts")} == before
    assert why in rec["results_error"]


def test_a_verifier_that_fails_inside_leaves_no_results_file(emu: Emulator, input_file: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_process, "MIN_BYTES", 0)
    data = b"\n".join(CASES["complete, with an error line"]) + b"\n"
    outcome, before, rec, out = _download(emu, tmp_path / "home", input_file / "not-a-file-but-a-path-below-one",
                                          _serve(emu, tmp_path / "blobs", data))
    # an input that cannot be read only skips the key comparison (as in-process): the download succeeds
    assert outcome.ok and "input not compared" in outcome.message

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(verify_process, "_verify_following", broken)
    monkeypatch.setattr(verify_process, "START_METHODS", ("fork",))  # the child must see the patched function
    outcome, before, rec, out = _download(emu, tmp_path / "home2", input_file, _serve(emu, tmp_path / "blobs", data))
    assert not outcome.ok and "RuntimeError: simulated failure" in outcome.message
    assert _no_files(out) == []
    assert {k: v for k, v in rec.items() if k not in ("results_error", "results_attempts")} == before


@pytest.mark.parametrize("case", ["complete, with an error line", "duplicated key"])
def test_an_input_no_longer_valid_gets_the_same_verdict(case: str, emu: Emulator, input_file: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with open(input_file, "a") as f:
        f.write("this line is not a request\n")
    data = b"\n".join(CASES[case]) + b"\n"
    verdicts = []
    for threshold in (1 << 40, 0):
        monkeypatch.setattr(verify_process, "MIN_BYTES", threshold)
        outcome, _b, rec, _o = _download(emu, tmp_path / str(threshold), input_file,
                                         _serve(emu, tmp_path / "blobs", data))
        verdicts.append(_verdict(outcome, rec))
    assert verdicts[0] == verdicts[1]
    if case == "complete, with an error line":
        assert verdicts[1]["ok"] and "input not compared: input file is not valid" in verdicts[1]["message"]


def _exit_at_once(*_a: Any) -> None:
    os._exit(0)


def test_a_verifier_that_cannot_run_is_replaced_by_the_in_process_check(emu: Emulator, input_file: Path,
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\n".join(CASES["duplicate in place of a missing key"]) + b"\n"
    monkeypatch.setattr(verify_process, "MIN_BYTES", 1 << 40)
    want_outcome, _b, want_rec, _o = _download(emu, tmp_path / "a", input_file, _serve(emu, tmp_path / "blobs", data))
    monkeypatch.setattr(verify_process, "MIN_BYTES", 0)
    monkeypatch.setattr(verify_process, "_child", _exit_at_once)
    monkeypatch.setattr(verify_process, "START_METHODS", ("fork",))  # the child must see the patched function
    outcome, _b, rec, _o = _download(emu, tmp_path / "b", input_file, _serve(emu, tmp_path / "blobs", data))
    assert outcome.ok and _verdict(outcome, rec) == _verdict(want_outcome, want_rec)


def test_cancel_ends_the_verifier_and_leaves_nothing(emu: Emulator, input_file: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_process, "MIN_BYTES", 0)
    data = b"".join(_answer(f"k{i}") + b"\n" for i in range(20_000))  # several chunks
    cancel = threading.Event()
    outcome, before, rec, out = _download(emu, tmp_path / "home", input_file, _serve(emu, tmp_path / "blobs", data),
                                          cancel=cancel, progress=lambda _name, _done, _total: cancel.set())
    assert not outcome.ok and outcome.message == "download cancelled"
    assert _no_files(out) == []
    assert not rec.get("results_verified") and not rec.get("results_file")
    assert multiprocessing.active_children() == []  # the verifier was ended, not left behind


def test_no_process_possible_falls_back_to_the_in_process_check(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> None:
        raise OSError("no semaphores here")

    monkeypatch.setattr(verify_process, "_context", unavailable)
    verifier = verifier_for(tmp_path / "r.jsonl", None, expected_count=None, usage=True, size=1 << 40)
    assert isinstance(verifier, StreamVerifier)
    monkeypatch.setattr(verify_process, "MIN_BYTES", 32 << 20)
    small = verifier_for(tmp_path / "r.jsonl", None, expected_count=None, usage=True, size=1000)
    assert isinstance(small, StreamVerifier)
