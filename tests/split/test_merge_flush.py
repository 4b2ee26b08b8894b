"""The merged results of a split group are flushed to disk part by part while the next part is merged
(core/sync_behind.py), so the sync before the rename has only the last part left; a flush that fails fails the
merge as a write error does: no merged file, nothing marked merged, and the next pass merges again."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from gembatch_tui.core import sync_behind
from gembatch_tui.core.poll import merge
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.emulator import Emulator

from .support import KEY, MODEL, keys_of, make_service, poll_until_idle, text_requests, write_lines

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names an open file by /proc/self/fd")


def _name(fd: int) -> str:
    return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))


def _is_merge(fd: int) -> bool:
    return _name(fd).startswith(".big.jsonl.")  # the merge's partial file; the parts' are .big.part-…


def _wait_for_a_flush(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """In each merge, from the second part on, each part waits until the merge's file has been flushed (or a
    flush failed): the flush asked for after part 1 is made before the merge ends, however the threads run."""
    flushed = threading.Event()
    real = merge.merge_part

    def merge_part(part_input: Path, *args: object) -> None:
        if "part-001-of" in part_input.name:  # a merge begins
            flushed.clear()
        else:
            assert flushed.wait(30), "no flush of the merged file while the parts were merged"
        real(part_input, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(merge, "merge_part", merge_part)
    return flushed


def test_the_merged_file_is_flushed_part_by_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[tuple[int, int]] = []  # (inode, size) of each flush of the merge's file

    seen = _wait_for_a_flush(monkeypatch)

    def sync(fd: int) -> None:
        if _is_merge(fd):
            st = os.fstat(fd)
            flushed.append((st.st_ino, st.st_size))
            seen.set()
        os.fsync(fd)

    monkeypatch.setattr(sync_behind, "STEP", 1)  # every part is past a step
    monkeypatch.setattr(sync_behind, "_sync", sync)
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(300))
    with Emulator(api_key=KEY, job_seconds=0.2) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=100))
        assert service.submit(src, model=MODEL).parts == 3
        poll_until_idle(service)
    merged = src.parent / "results" / "big.jsonl"
    assert keys_of(merged) == [f"k{i:05d}" for i in range(300)]
    assert all(r["group_results_verified"] for r in service.store.read_all())
    final = os.stat(merged)
    assert flushed and {ino for ino, _ in flushed} == {final.st_ino}  # the file that was renamed into place
    assert all(0 < size <= final.st_size for _, size in flushed)


def test_a_failed_flush_fails_the_merge_and_the_next_pass_merges(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _wait_for_a_flush(monkeypatch)
    broken = [True]

    def sync(fd: int) -> None:
        if _is_merge(fd):
            seen.set()
            if broken[0]:
                raise OSError(errno.EIO, "Input/output error")
        os.fsync(fd)

    monkeypatch.setattr(sync_behind, "STEP", 1)
    monkeypatch.setattr(sync_behind, "_sync", sync)
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(300))
    merged = src.parent / "results" / "big.jsonl"
    after_failure: list[dict] = []

    def on_pass(report: object) -> None:
        failed = [d for d in report.downloads if not d.ok]  # type: ignore[attr-defined]
        if failed and broken[0]:
            records = service.store.read_all()
            after_failure.append({
                "message": failed[0].message, "merged": merged.exists(),
                "parts_saved": all(r.get("results_verified") for r in records),
                "marked_merged": any(r.get("group_results_verified") for r in records),
                "errors": [r.get("group_results_error") or "" for r in records],
                "leftovers": [p.name for p in merged.parent.iterdir() if p.name.startswith(".big.jsonl.")]})
            broken[0] = False  # the disk is well again: the next pass merges

    with Emulator(api_key=KEY, job_seconds=0.2) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=100))
        assert service.submit(src, model=MODEL).parts == 3
        poll_until_idle(service, on_pass=on_pass)
    assert len(after_failure) == 1, after_failure
    failure = after_failure[0]
    assert "Input/output error" in failure["message"]
    assert failure["parts_saved"] and not failure["merged"] and not failure["marked_merged"]
    assert all("Input/output error" in e for e in failure["errors"]) and failure["leftovers"] == []
    assert keys_of(merged) == [f"k{i:05d}" for i in range(300)]
    assert all(r["group_results_verified"] and "group_results_error" not in r for r in service.store.read_all())
