"""Persistent mode: an explicit state_dir keeps files and batches across restarts and between processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock
from google import genai

from gembatch_tui.emulator import Emulator, persist


def _client(emu: Emulator, tools) -> genai.Client:
    return genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url})


def _state(state_dir: Path) -> dict:
    return json.loads((state_dir / persist.STATE_FILE).read_text())


def _submit(client: genai.Client, tools, name: str = "basic.jsonl") -> tuple[str, str]:
    f = client.files.upload(file=tools.EXAMPLES / name, config={"mime_type": "jsonl"})
    job = client.batches.create(model="gemini-2.5-flash", src=f.name, config={"display_name": name})
    return f.name, job.name


def test_restart_keeps_files_and_batches_and_the_clock_goes_on(tmp_path: Path, tools) -> None:
    clock = tools.FakeClock()
    with Emulator(job_seconds=20, clock=clock, state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        file_name, batch = _submit(client, tools)
        clock.advance(10)
        assert client.batches.get(name=batch).state.value == "JOB_STATE_RUNNING"
    saved = _state(tmp_path)
    assert saved["format"] == 1 and [b["id"] for b in saved["batches"]] == [batch.removeprefix("batches/")]
    assert not list((tmp_path / "blobs").glob("*.part")) and (tmp_path / persist.STATE_FILE).stat().st_mode & 0o077 == 0

    # A new emulator on the same dir (another job length, even) knows the file and carries the job on.
    with Emulator(job_seconds=999, clock=clock, state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        assert client.files.get(name=file_name).size_bytes == (tools.EXAMPLES / "basic.jsonl").stat().st_size
        job = client.batches.get(name=batch)
        assert job.state.value == "JOB_STATE_RUNNING" and job.display_name == "basic.jsonl"
        clock.advance(9.9)
        assert client.batches.get(name=batch).state.value == "JOB_STATE_RUNNING"
        clock.advance(0.2)  # 20 s after creation, as the job was created with job_seconds=20
        job = client.batches.get(name=batch)
        assert job.state.value == "JOB_STATE_SUCCEEDED"
        data = client.files.download(file=job.dest.file_name)
        assert len(data.decode().splitlines()) == len((tools.EXAMPLES / "basic.jsonl").read_text().splitlines())
        assert emu.server_errors == []

    # Results, once generated, are kept too: the third start serves the same bytes without regenerating.
    with Emulator(clock=clock, state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        job = client.batches.get(name=batch)
        assert job.state.value == "JOB_STATE_SUCCEEDED" and client.files.download(file=job.dest.file_name) == data
        assert {f.name for f in client.files.list()} == {file_name, job.dest.file_name}
        assert [b["name"] for b in emu.batches_snapshot()] == [batch]


def test_cancel_and_delete_survive_a_restart(tmp_path: Path, tools) -> None:
    clock = tools.FakeClock()
    with Emulator(job_seconds=100, clock=clock, state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        _, keep = _submit(client, tools)
        _, gone = _submit(client, tools, "structured-output.jsonl")
        clock.advance(50)
        client.batches.cancel(name=keep)
        client.batches.delete(name=gone)
    clock.advance(500)
    with Emulator(clock=clock, state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        job = client.batches.get(name=keep)
        assert job.state.value == "JOB_STATE_CANCELLED"
        assert tools.raw(emu.url, "GET", f"/v1beta/{gone}").status == 404
        assert [b["name"] for b in emu.batches_snapshot()] == [keep]


def test_inline_jobs_persist(tmp_path: Path, tools) -> None:
    clock = tools.FakeClock()
    src = [{"contents": "What is 2+2?", "metadata": {"key": "q1"}}, {"contents": "Name a colour"}]
    with Emulator(job_seconds=10, clock=clock, state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        job = client.batches.create(model="gemini-2.5-flash", src=src)
    clock.advance(11)
    with Emulator(clock=clock, state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        done = client.batches.get(name=job.name)
        assert done.state.value == "JOB_STATE_SUCCEEDED"
        answers = done.dest.inlined_responses
        assert len(answers) == 2 and answers[0].metadata == {"key": "q1"} and answers[1].response.text
    with Emulator(clock=clock, state_dir=tmp_path) as emu:  # the answers were saved, not generated again
        client = _client(emu, tools)
        again = client.batches.get(name=job.name)
        assert [a.response.text for a in again.dest.inlined_responses] == [a.response.text for a in answers]


def test_ids_never_repeat_across_restarts(tmp_path: Path, tools) -> None:
    names: list[str] = []
    files: list[str] = []
    for _ in range(3):
        with Emulator(job_seconds=0.05, state_dir=tmp_path / "random") as emu:
            client = _client(emu, tools)
            f, b = _submit(client, tools)
            files.append(f)
            names.append(b)
    assert len(set(names)) == 3 and len(set(files)) == 3

    # A given seed stays reproducible: the first start names things as a temporary emulator with that seed,
    # later starts draw from streams of their own.
    seeded: list[str] = []
    for _ in range(2):
        with Emulator(job_seconds=0.05, seed=5, state_dir=tmp_path / "seeded") as emu:
            client = _client(emu, tools)
            seeded.append(_submit(client, tools)[1])
    with Emulator(job_seconds=0.05, seed=5) as emu:
        client = _client(emu, tools)
        fresh = _submit(client, tools)[1]
    assert seeded[0] == fresh and seeded[1] != seeded[0]
    assert _state(tmp_path / "seeded")["starts"] == 2


def test_temporary_mode_is_unchanged(tools) -> None:
    """No state_dir: the same ids every run (seed 0), nothing written anywhere, the dir removed on stop."""
    names, dirs = [], []
    for _ in range(2):
        with Emulator(job_seconds=0.05) as emu:
            client = _client(emu, tools)
            names.append(_submit(client, tools)[1])
            dirs.append(emu._state_dir)
            assert not (emu._state_dir / persist.STATE_FILE).exists()
    assert names[0] == names[1] and not any(d.exists() for d in dirs)


def test_two_emulators_share_one_state_dir(tmp_path: Path, tools) -> None:
    """The demo app and `gembatch-tui --demo poll` at once: each sees the other's changes on its next request."""
    with Emulator(job_seconds=0.5, state_dir=tmp_path) as a, Emulator(job_seconds=0.5, state_dir=tmp_path) as b:
        ca, cb = _client(a, tools), _client(b, tools)
        file_a, job_a = _submit(ca, tools)
        file_b, job_b = _submit(cb, tools, "structured-output.jsonl")
        assert cb.batches.get(name=job_a).display_name == "basic.jsonl"
        assert {f.name for f in ca.files.list()} == {file_a, file_b}
        cb.batches.cancel(name=job_a)
        assert ca.batches.get(name=job_a).state.value == "JOB_STATE_CANCELLED"
        # Both see the other job finish; whichever generates the results first, both serve the same file.
        done_a = tools.wait_done(ca, job_b)
        done_b = tools.wait_done(cb, job_b)
        assert done_a.state.value == done_b.state.value == "JOB_STATE_SUCCEEDED"
        assert done_a.dest.file_name == done_b.dest.file_name
        assert ca.files.download(file=done_a.dest.file_name) == cb.files.download(file=done_b.dest.file_name)
        assert [x["name"] for x in a.batches_snapshot()] == [x["name"] for x in b.batches_snapshot()]
        assert a.server_errors == [] and b.server_errors == []
    saved = _state(tmp_path)
    assert saved["starts"] == 2 and len(saved["batches"]) == 2
    assert sorted(p.name for p in (tmp_path / "blobs").iterdir()) == sorted(
        [f"file-{file_a.removeprefix('files/')}", f"file-{file_b.removeprefix('files/')}",
         f"file-batch-{job_b.removeprefix('batches/')}"]
    )


def test_concurrent_finalization_from_two_processes_is_safe(tmp_path: Path, tools) -> None:
    """Many jobs finishing while two emulators poll them: every job succeeds once, no server error."""
    with Emulator(job_seconds=0.3, state_dir=tmp_path) as a, Emulator(job_seconds=0.3, state_dir=tmp_path) as b:
        ca, cb = _client(a, tools), _client(b, tools)
        f = ca.files.upload(file=tools.EXAMPLES / "basic.jsonl", config={"mime_type": "jsonl"})
        jobs = [ca.batches.create(model="gemini-2.5-flash", src=f.name).name for _ in range(6)]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            states = {c.batches.get(name=j).state.value for j in jobs for c in (ca, cb)}
            if states == {"JOB_STATE_SUCCEEDED"}:
                break
        assert states == {"JOB_STATE_SUCCEEDED"}
        for j in jobs:
            assert ca.batches.get(name=j).dest.file_name == f"files/batch-{j.removeprefix('batches/')}"
        assert a.server_errors == [] and b.server_errors == []


def test_a_subprocess_sees_the_same_jobs(tmp_path: Path, tools) -> None:
    """A real second process (not just a second object) serves the jobs created here."""
    with Emulator(job_seconds=0.2, state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        _, job = _submit(client, tools)
        code = (
            "import sys, time\n"
            "from gembatch_tui.emulator import Emulator\n"
            "from google import genai\n"
            f"with Emulator(state_dir={str(tmp_path)!r}) as e:\n"
            "    c = genai.Client(api_key='test-key', http_options={'base_url': e.url})\n"
            "    time.sleep(0.3)\n"
            f"    print(c.batches.get(name={job!r}).state.value)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "JOB_STATE_SUCCEEDED"
        # ...and this one then serves the results the other process generated.
        assert client.batches.get(name=job).dest.file_name


def test_an_unreadable_state_file_is_set_aside(tmp_path: Path, tools) -> None:
    (tmp_path / persist.STATE_FILE).write_text("{not json")
    with Emulator(state_dir=tmp_path) as emu:
        assert len(emu.notes) == 1 and "set aside" in emu.notes[0]
        client = _client(emu, tools)
        _submit(client, tools)
    assert len(list(tmp_path.glob(f"{persist.STATE_FILE}.unreadable-*"))) == 1
    assert len(_state(tmp_path)["batches"]) == 1


def test_crash_leftovers_are_removed_on_start(tmp_path: Path, tools) -> None:
    with Emulator(state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        f, _ = _submit(client, tools)
    blobs = tmp_path / "blobs"
    old, young = blobs / "upload-99.part", blobs / "input-98"
    for p in (old, young):
        p.write_text("x")
    os.utime(old, (time.time() - 2 * persist.ORPHAN_AGE_S,) * 2)
    with Emulator(state_dir=tmp_path) as emu:
        client = _client(emu, tools)
        assert client.files.get(name=f).name == f
    assert not old.exists() and young.exists()


def test_a_held_lock_gives_a_clear_error_then_503(tmp_path: Path, tools, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persist, "LOCK_TIMEOUT", 0.2)
    held = FileLock(str(tmp_path / persist.LOCK_FILE), thread_local=False)
    with held:
        with pytest.raises(persist.StateDirBusy, match="locked by another process"):
            Emulator(state_dir=tmp_path).start()
    with Emulator(state_dir=tmp_path) as emu:
        with held:  # a process hung inside its bookkeeping: requests get a retryable 503
            reply = tools.raw(emu.url, "GET", "/v1beta/batches")
        assert reply.status == 503 and reply.json()["error"]["status"] == "UNAVAILABLE"
        assert tools.raw(emu.url, "GET", "/v1beta/batches").status == 200


@pytest.mark.parametrize("delays", [(0.5, 0.5), (0.1, 0.8)], ids=["together", "loser-finds-input-gone"])
def test_two_processes_finalizing_the_same_job_at_once(
    tmp_path: Path, tools, monkeypatch: pytest.MonkeyPatch, delays: tuple[float, float]
) -> None:
    """Both emulators see the job finish before either has written its results: both generate them, the first
    to finish wins, the other drops its copy (and the error it meets when the winner released the input)."""
    from concurrent.futures import ThreadPoolExecutor

    from gembatch_tui.emulator import results

    real = results.write_results
    calls: list[float] = []

    def slow(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(time.monotonic())
        time.sleep(delays[len(calls) - 1])
        return real(*args, **kwargs)

    monkeypatch.setattr(results, "write_results", slow)
    clock = tools.FakeClock()
    with Emulator(job_seconds=10, clock=clock, state_dir=tmp_path) as a, \
            Emulator(job_seconds=10, clock=clock, state_dir=tmp_path) as b:
        ca, cb = _client(a, tools), _client(b, tools)
        _, job = _submit(ca, tools)
        clock.advance(11)
        with ThreadPoolExecutor(2) as pool:
            got = list(pool.map(lambda c: c.batches.get(name=job), [ca, cb]))
        assert len(calls) == 2  # both really generated
        assert {j.state.value for j in got} == {"JOB_STATE_SUCCEEDED"}
        assert {j.dest.file_name for j in got} == {f"files/batch-{job.removeprefix('batches/')}"}
        assert ca.files.download(file=got[0].dest.file_name) == cb.files.download(file=got[1].dest.file_name)
        assert a.server_errors == [] and b.server_errors == []
    assert not list((tmp_path / "blobs").glob("*.part")) and not list((tmp_path / "blobs").glob("input-*"))
