"""A symlinked store stays a link (writes go through to its target), and a read-only store directory still
lets every reader read, while a write fails with a StoreError naming the directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from gembatch_tui.core.store import JobStore, StoreError

from ._unprivileged import run_unprivileged


def rec(name: str) -> dict:
    return {"id": name, "input_file": f"/data/{name}.jsonl", "batch": {"name": f"batches/{name}", "state": "JOB_STATE_PENDING"}}


@pytest.mark.parametrize("relative", [False, True])
def test_writes_go_through_a_symlinked_store_to_its_target(tmp_path: Path, relative: bool) -> None:
    real_dir, link_dir = tmp_path / "synced", tmp_path / "data"
    real_dir.mkdir()
    link_dir.mkdir()
    target = real_dir / "jobs.jsonl"
    link = link_dir / "jobs.jsonl"
    link.symlink_to(os.path.relpath(target, link_dir) if relative else target)
    store = JobStore(link)
    store.add(rec("a"))  # the target does not exist yet: the first write creates it
    store.update("a", lambda r: r.update(seen=True))
    store.add(rec("b"))
    store.remove("b")
    assert link.is_symlink() and target.is_file() and not target.is_symlink()
    assert [r["id"] for r in JobStore(target).read_all()] == ["a"]
    assert JobStore(link).read_all()[0]["seen"] is True
    # The lock sits beside the target, so the link and the target path share it; no temporary file is left.
    assert (real_dir / "jobs.jsonl.lock").exists() and not (link_dir / "jobs.jsonl.lock").exists()
    assert sorted(os.listdir(real_dir)) == ["jobs.jsonl", "jobs.jsonl.lock"]
    assert os.listdir(link_dir) == ["jobs.jsonl"]


def test_a_chain_of_links_is_followed_to_the_end(tmp_path: Path) -> None:
    target = tmp_path / "real.jsonl"
    (tmp_path / "mid.jsonl").symlink_to(target)
    (tmp_path / "top.jsonl").symlink_to(tmp_path / "mid.jsonl")
    JobStore(tmp_path / "top.jsonl").add(rec("a"))
    assert (tmp_path / "top.jsonl").is_symlink() and (tmp_path / "mid.jsonl").is_symlink()
    assert [r["id"] for r in JobStore(target).read_all()] == ["a"]


def test_a_link_into_a_missing_directory_reads_empty_and_refuses_writes_clearly(tmp_path: Path) -> None:
    link = tmp_path / "jobs.jsonl"
    link.symlink_to(tmp_path / "unmounted" / "jobs.jsonl")
    store = JobStore(link)
    assert store.read_all() == [] and store.problems() == []
    with pytest.raises(StoreError, match="whose directory does not exist"):
        store.add(rec("a"))
    assert link.is_symlink() and not (tmp_path / "unmounted").exists()


def _read_only_directory_check(keep_lock_file: bool) -> dict:
    base = tempfile.mkdtemp(prefix="gembatch-ro-")
    folder = Path(base) / "store"
    path = folder / "jobs.jsonl"
    try:
        store = JobStore(path)
        store.add_many([rec("a"), rec("b")])
        path.open("a").write('{"id": "bad", "batch": "oops"}\n')
        if not keep_lock_file:  # a store copied in, or a directory made read-only before any lock was taken
            os.unlink(str(path) + ".lock")
        before = path.read_bytes()
        os.chmod(folder, 0o500)
        if os.access(folder, os.W_OK):
            return {"skipped": "this user ignores directory permissions"}
        fresh = JobStore(path)
        fresh.ensure()  # what every command does first
        records, problems = fresh.read_with_problems()
        errors = []
        for write in (lambda: fresh.add(rec("c")), lambda: fresh.update("a", lambda r: r.update(x=1)),
                      lambda: fresh.remove("b")):
            try:
                write()
                errors.append(None)
            except StoreError as exc:
                errors.append(str(exc))
        with pytest.raises(StoreError, match="not writable"):
            fresh.ensure(write=True)
        return {
            "ids": [r["id"] for r in records],
            "problems": [p.line_no for p in problems],
            "found": (fresh.find_by_batch_name("batches/b") or {}).get("id"),
            "errors": errors,
            "folder": str(folder),
            "unchanged": path.read_bytes() == before,
            "lock_made": os.path.exists(str(path) + ".lock"),
        }
    finally:
        os.chmod(folder, 0o700)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("keep_lock_file", [False, True])
def test_read_only_store_directory_reads_and_refuses_writes_clearly(keep_lock_file: bool) -> None:
    got = run_unprivileged(lambda: _read_only_directory_check(keep_lock_file))
    if "skipped" in got:
        pytest.skip(got["skipped"])
    assert got["ids"] == ["a", "b"] and got["problems"] == [3] and got["found"] == "b"
    assert len(got["errors"]) == 3 and all(e and got["folder"] in e and "not writable" in e for e in got["errors"]), got
    assert got["unchanged"] and got["lock_made"] == keep_lock_file
