"""`gembatch-tui cancel` / `delete` of a whole split input as a real process against the emulator (real SDK, real
HTTP): JOB may be the group id, a unique prefix of it, or the original input's path, and means every part."""

from __future__ import annotations

import time
from pathlib import Path

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.models import CANCELLED, LOCAL_QUEUED, RUNNING, SUCCEEDED, batch_id, batch_name, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.service import BatchService

from tests.cli.conftest import Cli
from tests.split.support import KEY, MODEL, make_service, poll_until_idle, text_requests, write_lines
from tests.manual_clock import ManualClock as Clock


def _parts(service: BatchService, gid: str | None = None) -> list[dict]:
    recs = [r for r in service.store.read_all() if r.get("group_id") and (gid is None or r["group_id"] == gid)]
    return sorted(recs, key=lambda r: r["group_part"])


def _cli(tmp_path: Path, emu: Emulator) -> Cli:
    return Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})


def _remote_states(emu: Emulator) -> dict[str, str]:
    return {f"batches/{b['name'].rsplit('/', 1)[-1]}": b["state"] for b in emu.batches_snapshot()}


def test_cancel_by_original_path_cancels_every_running_part(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(30))
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=60, clock=clock) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=MODEL)
        assert out.parts == 3
        clock.advance(30)  # past the pending phase, well before the end
        poll_once(service)
        names = [batch_name(p) or "" for p in _parts(service)]
        assert [record_state(p) for p in _parts(service)] == [RUNNING] * 3

        run = _cli(tmp_path, emu)("--store", str(service.store.path), "cancel", str(src))
        assert (run.returncode, run.stderr) == (0, ""), run
        assert run.stdout.splitlines() == [f"{name}: cancel requested, now CANCELLED" for name in names]
        remote = _remote_states(emu)
        assert [remote[name] for name in names] == ["BATCH_STATE_CANCELLED"] * 3
    assert [record_state(p) for p in _parts(service)] == [CANCELLED] * 3


def test_cancel_by_group_prefix_skips_a_finished_part_and_cancels_a_queued_one(tmp_path: Path) -> None:
    """100 requests of 40 characters per part (~1,000 tokens) and a budget of 1,500: one part at a time."""
    src = write_lines(tmp_path / "in" / "full.jsonl", ({"key": f"k{i:03d}", "request": {"contents": [
        {"parts": [{"text": "z" * 40}]}]}} for i in range(300)))
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=100, token_budgets={MODEL: 1_500}))
        out = service.submit(src, model=MODEL)
        gid = out.group_id or ""
        assert out.parts == 3 and out.queued == 2
        clock.advance(20)
        deadline = time.monotonic() + 15
        while not batch_name(_parts(service)[1]):  # part 1 finishes, part 2 goes out, part 3 still waits
            assert time.monotonic() < deadline, _parts(service)
            poll_once(service)
        first, second, third = _parts(service)
        assert [record_state(first), record_state(third)] == [SUCCEEDED, LOCAL_QUEUED]
        assert record_state(second) != SUCCEEDED

        run = _cli(tmp_path, emu)("--store", str(service.store.path), "cancel", gid[:8])
        assert (run.returncode, run.stderr) == (0, ""), run
        assert run.stdout.splitlines() == [
            f"{batch_name(first)}: already SUCCEEDED, skipped (part 1/3 of group {gid})",
            f"{batch_name(second)}: cancel requested, now CANCELLED",
            "full.jsonl [3/3]: cancelled while queued, now CANCELLED",  # named as its job will be
        ]
        assert _remote_states(emu) == {batch_name(first): "BATCH_STATE_SUCCEEDED",
                                       batch_name(second): "BATCH_STATE_CANCELLED"}
    after = _parts(service)
    assert [record_state(p) for p in after] == [SUCCEEDED, CANCELLED, CANCELLED]
    assert after[2]["local_state"] == "cancelled" and "batch" not in after[2]


def test_delete_by_group_id_removes_every_part_and_the_part_files(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(30))
    plain_src = write_lines(tmp_path / "in" / "small.jsonl", text_requests(3, prefix="s"))
    with Emulator(api_key=KEY, job_seconds=0.2) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=MODEL)
        plain = service.submit(plain_src, model=MODEL)
        poll_until_idle(service)
        gid = out.group_id or ""
        parts = _parts(service)
        folder = service.parts_root() / gid
        assert len(parts) == 3 and folder.is_dir()
        remote_files = {f["name"] for f in emu.files_snapshot()}
        for p in parts:
            assert p["uploaded_file_name"] in remote_files and p["batch"]["dest"]["file_name"] in remote_files
        cli, store = _cli(tmp_path, emu), str(service.store.path)

        # Without a terminal or --yes: one refusal for the whole group, nothing goes.
        run = cli("--store", store, "delete", gid)
        assert run.returncode == 2 and "pass --yes" in run.stderr, run
        assert len(_parts(service)) == 3

        run = cli("--store", store, "delete", "--yes", gid)
        assert (run.returncode, run.stderr) == (0, ""), run
        lines = run.stdout.splitlines()
        assert lines[0] == "will delete:" and f"  local part files {folder} (big.jsonl)" in lines
        for p in parts:
            for item in (batch_name(p), p["uploaded_file_name"], p["batch"]["dest"]["file_name"]):
                assert sum(1 for line in lines if line.startswith("deleted ") and item in line) == 1, (item, lines)
        assert f"deleted local part files {folder} (big.jsonl)" in lines
        assert _parts(service) == [] and not folder.exists()
        assert set(_remote_states(emu)) == {plain.batch_name}  # the job that was not split is untouched
        left = {f["name"] for f in emu.files_snapshot()}
        assert not left & {n for p in parts for n in (p["uploaded_file_name"], p["batch"]["dest"]["file_name"])}
        assert [r["batch"]["name"] for r in service.store.read_all()] == [plain.batch_name]
        assert (src.parent / "results" / "big.jsonl").is_file()  # the merged results stay


def test_a_path_split_twice_is_refused_and_a_single_job_is_unchanged(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(20))
    plain_src = write_lines(tmp_path / "in" / "small.jsonl", text_requests(3, prefix="s"))
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=60, clock=clock) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        one = service.submit(src, model=MODEL)
        two = service.submit(src, model=MODEL, force=True)
        plain = service.submit(plain_src, model=MODEL)
        assert one.group_id and two.group_id and one.group_id != two.group_id
        cli, store = _cli(tmp_path, emu), str(service.store.path)
        before = _remote_states(emu)

        for command in (("cancel",), ("delete", "--yes")):
            run = cli("--store", store, *command, str(src))
            assert (run.returncode, run.stdout) == (2, ""), run
            assert run.stderr == (f"{src}: was split and submitted 2 times (groups {one.group_id}, {two.group_id}); "
                                  "name the group\n")
        assert _remote_states(emu) == before and len(service.store.read_all()) == 5

        # A single job, and a single part named by its bare id: as before (a final one is an error, exit 1).
        part = _parts(service, one.group_id)[0]
        run = cli("--store", store, "cancel", plain.batch_name or "", batch_id(batch_name(part) or ""))
        assert (run.returncode, run.stderr) == (0, ""), run
        assert run.stdout.splitlines() == [f"{plain.batch_name}: cancel requested, now CANCELLED",
                                           f"{batch_name(part)}: cancel requested, now CANCELLED"]
        run = cli("--store", store, "cancel", batch_id(batch_name(part) or ""))
        assert (run.returncode, run.stdout) == (1, ""), run
        assert run.stderr == f"{batch_name(part)} is already CANCELLED; nothing to cancel\n"
        states = _remote_states(emu)
        assert states[plain.batch_name] == "BATCH_STATE_CANCELLED"
        assert sorted(states.values()).count("BATCH_STATE_CANCELLED") == 2  # the other parts still run
