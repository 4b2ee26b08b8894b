from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from gembatch_tui.core.store import DuplicateJob, JobStore, RecordNotFound, StoreError
from gembatch_tui.core.models import record_key


def rec(name: str, **extra: object) -> dict:
    return {"input_file": f"/data/{name}.jsonl", "batch": {"name": f"batches/{name}", "state": "JOB_STATE_PENDING"}, **extra}


def test_add_read_roundtrip_keeps_unknown_fields(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    store.add(rec("a", custom={"nested": [1, 2]}, note="keep me"))
    [got] = store.read_all()
    assert got["custom"] == {"nested": [1, 2]} and got["note"] == "keep me"
    assert got["batch"]["name"] == "batches/a"
    assert got["id"] and got["version"] == 1


def test_add_refuses_duplicate_batch_name(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    store.add(rec("a"))
    with pytest.raises(DuplicateJob, match="batches/a"):
        store.add(rec("a"))
    assert len(store.read_all()) == 1


def test_find_update_remove(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    a = store.add(rec("a", input_sha256="abc"))
    store.add(rec("b"))
    assert store.find_by_batch_name("batches/b")["input_file"] == "/data/b.jsonl"
    assert [r["batch"]["name"] for r in store.find_by_input("/data/a.jsonl")] == ["batches/a"]
    assert [r["batch"]["name"] for r in store.find_by_checksum("abc")] == ["batches/a"]
    store.update(record_key(a), lambda r: r["batch"].update(state="JOB_STATE_RUNNING"))
    assert store.find_by_batch_name("batches/a")["batch"]["state"] == "JOB_STATE_RUNNING"
    with pytest.raises(RecordNotFound):
        store.update("nope", lambda r: None)
    assert store.remove(record_key(a)) is True
    assert store.remove(record_key(a)) is False
    assert [r["batch"]["name"] for r in store.read_all()] == ["batches/b"]


def test_update_many_is_one_pass(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.jsonl")
    keys = [record_key(store.add(rec(f"j{i}"))) for i in range(5)]
    before = os.stat(store.path).st_ino
    out = store.update_many({k: (lambda r: r.update(seen=True)) for k in keys[:3]})
    assert set(out) == set(keys[:3])
    assert [bool(r.get("seen")) for r in store.read_all()] == [True, True, True, False, False]
    assert os.stat(store.path).st_ino != before  # replaced atomically, not edited in place


def test_corrupt_lines_are_kept_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    good = json.dumps(rec("a"))
    path.write_text(good + "\n" + '{"input_file": "/x", "batch": {"name"' + "\n" + "[1, 2]\n" + json.dumps(rec("b")) + "\n")
    store = JobStore(path)
    records, problems = store.read_with_problems()
    assert [r["batch"]["name"] for r in records] == ["batches/a", "batches/b"]
    assert [(p.line_no, p.reason) for p in problems] == [
        (2, "not valid JSON: Expecting ':' delimiter at column 38"), (3, "not a JSON object")]
    store.update("batches/b", lambda r: r.update(x=1))
    text = path.read_text()
    assert '{"input_file": "/x", "batch": {"name"' in text and "[1, 2]" in text
    assert store.find_by_batch_name("batches/b")["x"] == 1


def test_permissions_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "jobs.jsonl"
    store = JobStore(path)
    store.add(rec("a"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(str(path) + ".lock").st_mode) & 0o077 == 0


def test_store_path_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(StoreError, match="is a directory"):
        JobStore(tmp_path / "d").read_all()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_store(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text("{}\n")
    path.chmod(0)
    with pytest.raises(StoreError, match="not readable"):
        JobStore(path).read_all()


def test_read_only_directory_fails_cleanly_and_keeps_store(tmp_path: Path) -> None:
    path = tmp_path / "ro" / "jobs.jsonl"
    store = JobStore(path)
    store.add(rec("a"))
    before = path.read_bytes()
    os.chmod(path.parent, 0o500)
    try:
        if os.access(path.parent, os.W_OK):
            pytest.skip("running with privileges that ignore directory permissions")
        with pytest.raises(StoreError, match="not writable"):
            store.add(rec("b"))
    finally:
        os.chmod(path.parent, 0o700)
    assert path.read_bytes() == before


def test_two_store_objects_see_each_others_writes(tmp_path: Path) -> None:
    one = JobStore(tmp_path / "jobs.jsonl")
    two = JobStore(tmp_path / "jobs.jsonl")
    one.add(rec("a"))
    assert len(two.read_all()) == 1
    two.update("batches/a", lambda r: r.update(by="two"))
    one.add(rec("b"))
    got = {r["batch"]["name"]: r for r in one.read_all()}
    assert got["batches/a"]["by"] == "two" and "batches/b" in got


def test_large_store_round_trips_byte_for_byte(tmp_path: Path) -> None:
    """More lines than one writev batch (1024), a last line without newline, and a corrupt line in the middle."""
    path = tmp_path / "jobs.jsonl"
    lines = [json.dumps({"id": f"r{i:05d}", "n": i, "text": "é" * (i % 7)}, ensure_ascii=False) for i in range(3000)]
    lines[1500] = '{"id": "broken'
    path.write_text("\n".join(lines), encoding="utf-8")  # no trailing newline
    store = JobStore(path)
    store.update("r02999", lambda r: r.update(n=-1))
    written = path.read_text(encoding="utf-8").split("\n")
    assert written[-1] == "" and len(written) == 3001
    assert written[1500] == '{"id": "broken'
    assert json.loads(written[2999])["n"] == -1
    assert written[:1500] == lines[:1500] and written[1501:2999] == lines[1501:2999]
    assert [c.line_no for c in JobStore(path).problems()] == [1501]
    store.add({"id": "new", "text": "ü" * 3})
    store.update("r00001", lambda r: r.update(text="longer " * 20))
    store.remove("r00002")
    # The size kept up to date is the file's: a wrong one would make every write go the slow way.
    assert store._cache is not None and store._cache.size() == path.stat().st_size


def test_short_write_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writev that writes only part of its batch (a signal, a nearly full disk) must not truncate the store."""
    path = tmp_path / "jobs.jsonl"
    store = JobStore(path)
    store.add_many([{"id": f"r{i}", "payload": "x" * 100} for i in range(50)])
    real_writev = os.writev

    def short_writev(fd: int, buffers: list[bytes]) -> int:
        return real_writev(fd, [bytes(b"".join(buffers)[: len(b"".join(buffers)) // 3])])

    monkeypatch.setattr(os, "writev", short_writev)
    store.update("r7", lambda r: r.update(seen=True))
    monkeypatch.undo()
    records = JobStore(path).read_all()
    assert [r["id"] for r in records] == [f"r{i}" for i in range(50)]
    assert records[7]["seen"] is True and all(r["payload"] == "x" * 100 for r in records)
