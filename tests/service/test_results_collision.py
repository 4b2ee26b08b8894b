"""Two jobs whose inputs share a file name and a results directory must each keep their own results."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.fsutil import move_into_place
from gembatch_tui.core.poll.download import download_results
from gembatch_tui.core.poll.poller import poll_once

from .conftest import KEY, make_service


def _write_input(path: Path, prefix: str) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(
        "".join(
            json.dumps({"key": f"{prefix}-{i}", "request": {"contents": [{"parts": [{"text": f"{prefix} {i}"}]}]}}) + "\n"
            for i in range(3)
        )
    )


def test_same_input_name_in_one_results_dir_never_overwrites(tmp_path: Path) -> None:
    # Two pollers (say the app and a `poll` in another terminal) each downloading one of the jobs at the same
    # time; latency keeps both downloads in flight together, which is when a check-then-rename would let one
    # job's results replace the other's.
    # The jobs are made and finish on a latency-free emulator; the downloads then run, slowed, against the same
    # persisted server state.
    state = tmp_path / "emulator-state"
    results_dir = tmp_path / "results"
    store = tmp_path / "store" / "jobs.jsonl"
    with Emulator(api_key=KEY, job_seconds=0.3, state_dir=state) as quick:
        service = make_service(quick, store, results_dir=results_dir)
        for prefix in ("alpha", "beta"):
            _write_input(tmp_path / prefix / "batch.jsonl", prefix)
            assert service.submit(tmp_path / prefix / "batch.jsonl", model="gemini-2.5-flash").status == "submitted"
        deadline = time.monotonic() + 20
        while {b["state"] for b in quick.batches_snapshot()} != {"BATCH_STATE_SUCCEEDED"}:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        poll_once(service, download=False)
    with Emulator(api_key=KEY, job_seconds=0.3, latency_ms=150, state_dir=state) as emu:
        service = make_service(emu, store, results_dir=results_dir)
        records = service.store.read_all()
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(lambda rec: download_results(service, rec), records))
        assert [o.ok for o in outcomes] == [True, True]
    records = service.store.read_all()
    files = {Path(r["results_file"]) for r in records}
    assert len(files) == 2 and all(f.parent == results_dir for f in files)
    for rec in records:
        prefix = Path(rec["input_file"]).parent.name
        keys = {json.loads(line)["key"] for line in Path(rec["results_file"]).read_text().splitlines()}
        assert keys == {f"{prefix}-{i}" for i in range(3)}, rec["results_file"]


def test_move_into_place_never_replaces_unless_told(tmp_path: Path) -> None:
    target = tmp_path / "results.jsonl"
    target.write_text("first\n")
    src = tmp_path / ".second.partial"
    src.write_text("second\n")
    assert move_into_place(src, target, overwrite=False) is False
    assert target.read_text() == "first\n" and src.read_text() == "second\n"
    assert move_into_place(src, target, overwrite=True) is True
    assert target.read_text() == "second\n" and not src.exists()
    fresh = tmp_path / "fresh.jsonl"
    other = tmp_path / ".other.partial"
    other.write_text("third\n")
    assert move_into_place(other, fresh, overwrite=False) is True
    assert fresh.read_text() == "third\n" and not other.exists()


def test_a_job_another_process_is_downloading_is_left_to_it(tmp_path: Path) -> None:
    from filelock import FileLock

    from gembatch_tui.core.models import batch_id

    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, tmp_path / "store" / "jobs.jsonl")
        _write_input(tmp_path / "in" / "batch.jsonl", "solo")
        name = service.submit(tmp_path / "in" / "batch.jsonl", model="gemini-2.5-flash").batch_name
        deadline = time.monotonic() + 20
        while {b["state"] for b in emu.batches_snapshot()} != {"BATCH_STATE_SUCCEEDED"}:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        lock_dir = service.store.path.parent / ".downloads"
        lock_dir.mkdir(exist_ok=True)
        other = FileLock(str(lock_dir / f"{batch_id(name)}.lock"))  # another gembatch-tui, mid-download
        with other:
            report = poll_once(service)
            assert report.downloads == [] and not report.failed
            assert any("being downloaded by another process" in n for n in report.notes)
            assert not (tmp_path / "in" / "results").exists()
        stale = service.store.read_all()[0]  # what a slower poller read before the download landed
        report = poll_once(service)
        assert [d.ok for d in report.downloads] == [True]
        again = download_results(service, stale)
        assert again.busy and "already downloaded" in again.message
    [rec] = service.store.read_all()
    assert rec["results_verified"] and Path(rec["results_file"]).name == "batch.jsonl"
    assert sorted(p.name for p in (tmp_path / "in" / "results").iterdir()) == ["batch.jsonl"]  # one copy
