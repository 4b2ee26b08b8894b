"""atomic_writer and a path that is not a regular file (QA: `-o /dev/null`, run as root, replaced /dev/null itself
with a regular file that then grew to 33 GB). A FIFO stands in for the device here: it is written to in place."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from gembatch_tui.core.fsutil import atomic_writer


@pytest.mark.skipif(not hasattr(os, "mkfifo") or sys.platform == "win32", reason="needs FIFOs")
@pytest.mark.parametrize("binary", [True, False])
def test_a_fifo_is_written_in_place_never_replaced(tmp_path: Path, binary: bool) -> None:
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader first, so the writer's open does not wait
    try:
        with atomic_writer(fifo, binary=binary) as fh:
            fh.write(b"hello\n" if binary else "hello\n")
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the pipe, not a file put in its place
        assert os.read(reader, 100) == b"hello\n"
    finally:
        os.close(reader)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary file left beside it


def test_a_regular_file_is_still_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as fh:
            fh.write("half")
            raise RuntimeError("stopped")
    assert target.read_text() == "old\n"
    with atomic_writer(target) as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
