"""Point 11 of issue 13: a killed download leaves `.NAME.XXXXXXXX.partial` beside its results and every job leaves a
lock file in `.downloads/`. They are swept (at the job's next download, and on clean-up), never while a live
download may be writing: a partial must be old and every other download lock free."""

from __future__ import annotations

import os
import time
from pathlib import Path

from filelock import FileLock

from gembatch_tui.core.poll import download_lock
from gembatch_tui.core.poll.poller import poll_once

from .conftest import JOB_SECONDS, MODEL, World, write_input

OLD = time.time() - download_lock.STALE_AFTER - 60


def _partial(folder: Path, name: str, hex8: str, *, old: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".{name}.{hex8}.partial"
    path.write_bytes(b'{"key": "k0", "resp')  # what a download killed mid-way leaves
    if old:
        os.utime(path, (OLD, OLD))
    return path


def test_the_next_download_of_the_job_removes_what_a_killed_one_left(world: World) -> None:
    out = world.service.submit(write_input(world.inputs / "basic.jsonl"), model=MODEL)
    results = world.inputs / "results"
    killed = _partial(results, "basic.jsonl", "0badf00d", old=True)
    beside = _partial(results, f"basic.{(out.batch_name or '').split('/')[-1][:12]}.jsonl", "0badf00e", old=True)
    live = _partial(results, "basic.jsonl", "1234abcd", old=False)  # written to just now: someone is at it
    other = _partial(results, "other.jsonl", "0badf00f", old=True)  # another job's name: its own download sweeps it
    world.clock.advance(JOB_SECONDS * 3)
    report = poll_once(world.service)
    assert not report.failed and report.downloads and report.downloads[0].ok
    assert not killed.exists() and not beside.exists()
    assert live.exists() and other.exists()
    assert (results / "basic.jsonl").is_file()


def test_nothing_is_swept_while_another_download_of_the_store_runs(world: World) -> None:
    world.service.submit(write_input(world.inputs / "basic.jsonl"), model=MODEL)
    killed = _partial(world.inputs / "results", "basic.jsonl", "0badf00d", old=True)
    locks = download_lock.lock_dir(world.service.store.path)
    locks.mkdir(parents=True, exist_ok=True)
    other = FileLock(str(locks / "someotherjob.lock"))  # a download of another job, in "another process"
    other.acquire()
    try:
        world.clock.advance(JOB_SECONDS * 3)
        assert not poll_once(world.service).failed
        assert killed.exists()  # that download might be writing it (a stalled connection writes nothing)
        notes = download_lock.sweep_leftovers(world.service)  # the finished job's own lock may go, not the partial
        assert not [n for n in notes if "partial" in n]
        assert killed.exists() and (locks / "someotherjob.lock").exists()
    finally:
        other.release()
    notes = download_lock.sweep_leftovers(world.service)
    assert not killed.exists()
    assert notes[0] == f"removed {killed}: the partial file of a download that was interrupted"


def test_cleanup_sweeps_lock_files_nobody_needs(world: World) -> None:
    done = world.downloaded()
    pending = world.service.submit(write_input(world.inputs / "later.jsonl", text="later"), model=MODEL)
    locks = download_lock.lock_dir(world.service.store.path)
    own = locks / download_lock.job_lock_name(done["batch"]["name"])
    assert own.is_file()  # the download took it, and it stays behind
    assert own.stat().st_mode & 0o777 == 0o600  # private, as the store and its lock are (it was 0644)
    waiting = locks / download_lock.job_lock_name(pending.batch_name or "")
    waiting.touch()  # a job still running: its download will need the lock
    forgotten = locks / "batch0gone.lock"
    forgotten.touch()  # its record was deleted
    held = locks / download_lock.job_lock_name("batches/heldjob")
    holder = FileLock(str(held))
    holder.acquire()
    try:
        notes = download_lock.sweep_leftovers(world.service)
    finally:
        holder.release()
    assert not own.exists() and not forgotten.exists()
    assert waiting.exists() and held.exists()
    assert notes == [f"removed 2 unused download lock files in {locks}"]
    assert download_lock.sweep_leftovers(world.service) == [f"removed 1 unused download lock file in {locks}"]


def test_a_job_downloads_again_after_its_lock_was_swept(world: World) -> None:
    """A swept lock is simply taken again: the lock is only ever removed while held (filelock checks the inode)."""
    done = world.downloaded()
    download_lock.sweep_leftovers(world.service)
    Path(done["results_file"]).unlink()  # lost locally: the remote output is still there, so it is fetched again
    report = poll_once(world.service)
    assert [d.ok for d in report.downloads] == [True] and Path(done["results_file"]).is_file()
