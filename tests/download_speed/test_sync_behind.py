"""A large download is flushed to disk in steps while it arrives (core/sync_behind.py), so the sync before its
rename is short; a flush that fails fails the download as any write error does: no results file, nothing
verified, and the next pass downloads it whole."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from gembatch_tui.core import sync_behind
from gembatch_tui.core.poll.download import download_results
from gembatch_tui.core.sync_behind import SyncBehind
from tests.download_speed.test_transfer import DATA, _service, _Stub, stub  # noqa: F401 - the stub fixture

WAIT_S = 30  # a condition that should hold at once; generous for a loaded machine


def test_a_flush_follows_each_step_written(tmp_path: Path) -> None:
    flushed: list[int] = []
    called = threading.Event()

    def sync(fd: int) -> None:
        flushed.append(fd)
        called.set()

    with open(tmp_path / "f", "wb") as fh, SyncBehind(fh.fileno(), step=100, sync=sync) as behind:
        behind.wrote(60)
        behind.wrote(39)
        assert not called.is_set() and behind._thread is None  # under a step: no thread, no flush
        behind.wrote(1)
        assert called.wait(WAIT_S)
        behind.finish()
        assert flushed and set(flushed) == {fh.fileno()} and behind.flushes == len(flushed)
        assert behind._thread is None  # stopped and joined


def test_a_failed_flush_is_raised_by_finish_and_no_more_are_made(tmp_path: Path) -> None:
    calls: list[int] = []
    called = threading.Event()

    def sync(fd: int) -> None:
        calls.append(fd)
        called.set()
        raise OSError(errno.EIO, "Input/output error")

    with open(tmp_path / "f", "wb") as fh, SyncBehind(fh.fileno(), step=10, sync=sync) as behind:
        behind.wrote(10)
        assert called.wait(WAIT_S)
        behind.wrote(10)  # after the failure: no further flush is asked for
        with pytest.raises(OSError) as info:
            behind.finish()
        assert info.value.errno == errno.EIO and calls == [fh.fileno()]


def _waits_for_a_flush(seen: threading.Event):  # noqa: ANN202
    """A download's progress that, once bytes are written and before the last, waits until a flush was made (or
    failed): the flush asked for after the first chunk is made before the download ends, however threads run."""
    def progress(_name: str, done: int, total: int) -> None:
        if 0 < done < total:
            assert seen.wait(WAIT_S), "no flush while the download was written"

    return progress


def test_a_download_is_flushed_in_steps_as_it_arrives(stub: str, tmp_path: Path,  # noqa: F811
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[int] = []
    seen = threading.Event()

    def sync(fd: int) -> None:
        flushed.append(os.fstat(fd).st_size)
        seen.set()
        os.fsync(fd)

    monkeypatch.setattr(sync_behind, "STEP", 256 << 10)
    monkeypatch.setattr(sync_behind, "_sync", sync)
    service, record = _service(stub, tmp_path / "home")
    outcome = download_results(service, record, progress=_waits_for_a_flush(seen))
    assert outcome.ok, outcome.message
    assert Path(service.store.read_all()[0]["results_file"]).read_bytes() == DATA
    assert flushed and all(0 < size <= len(DATA) for size in flushed)  # during the transfer, each at a step
    assert len(DATA) // (256 << 10) >= len(flushed) >= 1


def test_a_download_whose_flush_fails_leaves_no_file_and_is_downloaded_again(stub: str, tmp_path: Path,  # noqa: F811
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    seen = threading.Event()

    def broken(_fd: int) -> None:
        seen.set()
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(sync_behind, "STEP", 256 << 10)
    monkeypatch.setattr(sync_behind, "_sync", broken)
    service, record = _service(stub, tmp_path / "home")
    outcome = download_results(service, record, progress=_waits_for_a_flush(seen))
    assert not outcome.ok and "Input/output error" in outcome.message, outcome.message
    out = tmp_path / "home" / "out"
    assert not out.exists() or sorted(p.name for p in out.rglob("*")) == []
    after = service.store.read_all()[0]
    assert not after.get("results_verified") and after["results_attempts"] == 1
    monkeypatch.setattr(sync_behind, "_sync", os.fsync)  # the disk is well again: the next pass downloads whole
    outcome = download_results(service, after)
    assert outcome.ok, outcome.message
    assert Path(service.store.read_all()[0]["results_file"]).read_bytes() == DATA
    assert _Stub.tries == ["ok", "ok"]
