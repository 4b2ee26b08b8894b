"""A download asks nothing before it starts (issue 18): the size that sets the progress total and picks the results
check (in-process or a second process) comes from the download's own response, before its first byte; where the
response gives none (the SDK's own path, or no Content-Length) the Files API is asked as before. A gone file is
still recorded as gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gembatch_tui.core.api import download as transfer
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.results import verify_process
from gembatch_tui.emulator import Emulator
from tests.download_speed.test_verify_process import INPUT_KEYS, KEY, _answer, _download, _serve, emu, input_file

DATA = b"\n".join(_answer(k) for k in INPUT_KEYS) + b"\n"


__all__ = ["emu", "input_file"]  # the fixtures, shared with test_verify_process


def _watch(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[int]]:
    """Count metadata reads (ours and the SDK's) and record the size each results check was made for."""
    asked: list[str] = []
    sizes: list[int] = []
    real_get, real_sdk_get = GeminiClient.get_file, transfer.file_size
    monkeypatch.setattr(GeminiClient, "get_file", lambda self, name: asked.append(name) or real_get(self, name))
    monkeypatch.setattr(transfer, "file_size", lambda sdk, name: asked.append(name) or real_sdk_get(sdk, name))
    real = verify_process.verifier_for
    monkeypatch.setattr(verify_process, "verifier_for", lambda *a, **k: sizes.append(k["size"]) or real(*a, **k))
    return asked, sizes


@pytest.mark.parametrize("threshold", [0, 1 << 40])
def test_no_metadata_read_and_the_size_from_the_response(emu: Emulator, input_file: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, threshold: int) -> None:
    monkeypatch.setattr(verify_process, "MIN_BYTES", threshold)
    asked, sizes = _watch(monkeypatch)
    seen: list[tuple[str, int, int]] = []
    outcome, _before, rec, _out = _download(emu, tmp_path / "home", input_file, _serve(emu, tmp_path / "b", DATA),
                                            progress=lambda *a: seen.append(a))
    assert outcome.ok, outcome.message
    assert asked == [] and sizes == [len(DATA)]
    assert seen[0] == ("batches/speed", 0, len(DATA)) and seen[-1] == ("batches/speed", len(DATA), len(DATA))
    assert all(total == len(DATA) for _n, _d, total in seen)
    assert rec["results_bytes"] == len(DATA) and Path(rec["results_file"]).read_bytes() == DATA


def test_without_content_length_the_files_api_gives_the_size(emu: Emulator, input_file: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    asked, sizes = _watch(monkeypatch)
    monkeypatch.setattr(transfer, "content_length", lambda _response: 0)
    seen: list[Any] = []
    name = _serve(emu, tmp_path / "b", DATA)
    outcome, *_ = _download(emu, tmp_path / "home", input_file, name, progress=lambda *a: seen.append(a))
    assert outcome.ok and asked == [name] and sizes == [len(DATA)] and seen[0][1:] == (0, len(DATA))
    asked.clear(), sizes.clear(), seen.clear()
    monkeypatch.setattr(transfer, "lean_request", lambda *_a, **_k: None)  # the SDK's own files.download
    outcome, *_ = _download(emu, tmp_path / "home2", input_file, name, progress=lambda *a: seen.append(a))
    assert outcome.ok and asked == [name] and sizes == [len(DATA)] and seen[0][1:] == (0, len(DATA))


def test_content_length_is_read_only_from_an_unencoded_body() -> None:
    class R:
        def __init__(self, **headers: str) -> None:
            self.headers = headers

    assert transfer.content_length(R(**{"content-length": "123"})) == 123
    assert transfer.content_length(R(**{"content-length": "123", "content-encoding": "gzip"})) == 0
    assert transfer.content_length(R(**{"content-length": "12x"})) == 0
    assert transfer.content_length(R()) == 0


def test_a_gone_file_is_still_recorded_gone(emu: Emulator, input_file: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    asked, sizes = _watch(monkeypatch)
    name = _serve(emu, tmp_path / "b", DATA)
    deleter = GeminiClient(KEY, base_url=emu.url)  # held: collected, the SDK closes its transport
    deleter.sdk.files.delete(name=name)
    outcome, _before, rec, out = _download(emu, tmp_path / "home", input_file, name)
    assert not outcome.ok and "the results file is gone from the server" in outcome.message
    assert rec["remote_deleted"] == {"output": True} and not rec.get("results_file")
    assert asked == [name] and sizes == []  # asked once, after the 403: the check was never made
    assert not any(p.name.endswith(".partial") for p in out.rglob("*"))
