"""The verifier's processes are started beside the download, which does not wait for them (the first start boots
the fork server): chunks fed before they run are checked all the same, and a start that fails there gives the
in-process check's verdicts."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from gembatch_tui.core.results import verify_process
from gembatch_tui.core.results.stream import StreamVerifier
from gembatch_tui.core.results.verify_process import ProcessVerifier

LINES = [json.dumps({"key": k, "response": {"usageMetadata": {"promptTokenCount": 2}}}).encode() for k in "abc"]
DATA = b"\n".join(LINES + [LINES[0], b"not json"]) + b"\n"  # a duplicate and a bad line: a verdict worth comparing


def _refuse() -> None:
    raise OSError("no process can be started here")


def _expected(path: Path, inp: Path) -> Any:
    path.write_bytes(DATA)
    with StreamVerifier(inp, expected_count=4) as verifier:
        verifier.feed(DATA)
        return verifier.finish(path)


@pytest.mark.parametrize("fail", [False, True])
def test_chunks_fed_before_the_processes_run_are_checked_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              fail: bool) -> None:
    inp = tmp_path / "input.jsonl"
    inp.write_text("".join(json.dumps({"key": k, "request": {"contents": [{"parts": [{"text": "q"}]}]}}) + "\n"
                           for k in "abcd"))
    want = _expected(tmp_path / "want.jsonl", inp)
    go = threading.Event()
    monkeypatch.setattr(verify_process, "NOTIFY_STEP", 8)
    real_start = ProcessVerifier._start

    def held(self: ProcessVerifier, ends: list[Any]) -> None:  # the fork server still booting, or no process at all
        go.wait(30)
        if fail:
            for proc in self._procs:
                proc.start = _refuse
        real_start(self, ends)

    monkeypatch.setattr(ProcessVerifier, "_start", held)
    path = tmp_path / "results.jsonl"
    with ProcessVerifier(path, inp, expected_count=4, usage=True) as verifier:  # returns with nothing started
        assert all(proc._popen is None for proc in verifier._procs)
        with open(path, "wb") as out:
            for i in range(0, len(DATA), 5):
                out.write(DATA[i:i + 5])
                out.flush()
                verifier.feed(DATA[i:i + 5])
        go.set()
        got = verifier.finish(path)
        started = [proc._popen is not None for proc in verifier._procs]
    assert got.check == want.check and got.usage == want.usage and got.fingerprint == want.fingerprint
    assert got.check.duplicate_count == 1 and got.check.parse_error_count >= 1
    assert started == [not fail, not fail]  # the input's reader and the checker, or neither
