"""Uploads send CHUNK_BYTES a request (upload_reader.py), through the real SDK to the emulator over HTTP.

What counts: the bytes the server stores are the file's, in fewer chunk requests than the SDK's own 8 MiB reads
would make, and progress and cancellation still come at each chunk.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.core.api import upload_reader
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.errors import Cancelled
from gembatch_tui.emulator import Emulator
from tests.service.conftest import KEY

MIB = 1 << 20


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY) as emulator:
        yield emulator


def _upload_posts(emu: Emulator) -> int:
    return sum(1 for method, path in emu.request_log if method == "POST" and path.endswith("/files")
               and path.startswith("/upload/"))


def test_a_big_file_goes_in_chunks_of_chunk_bytes(emu: Emulator, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    data = os.urandom(MIB) * 40 + b"tail" * 25  # 40 MiB + 100 B: the SDK alone sends 6 chunks
    src.write_bytes(data)
    seen: list[int] = []
    client = GeminiClient(KEY, base_url=emu.url)
    name = client.upload(src, display_name="big", progress=lambda done, total: seen.append(done))
    assert emu.file_bytes(name) == data
    assert upload_reader.CHUNK_BYTES == 32 * MIB
    assert _upload_posts(emu) == 1 + 2  # the start, then 32 MiB and 8 MiB + 100 B
    assert seen == [32 * MIB, len(data)]


def test_a_small_file_is_one_chunk(emu: Emulator, tmp_path: Path) -> None:
    src = tmp_path / "small.jsonl"
    src.write_bytes(b'{"key": "a"}\n' * 1000)
    name = GeminiClient(KEY, base_url=emu.url).upload(src, display_name="small")
    assert emu.file_bytes(name) == src.read_bytes()
    assert _upload_posts(emu) == 2


def test_cancel_stops_before_the_next_chunk(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_reader, "CHUNK_BYTES", 8 * MIB)  # as many chunks as the SDK's own reads
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"x" * (24 * MIB))
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 8 * MIB:
            cancel.set()

    with pytest.raises(Cancelled):
        GeminiClient(KEY, base_url=emu.url).upload(src, display_name="c", progress=progress, cancel=cancel)
    assert _upload_posts(emu) == 2  # the start and the first chunk: nothing after the cancel
    assert emu.files_snapshot() == []  # no file was finalised
