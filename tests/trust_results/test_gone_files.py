"""Point 5 of issue 13: the Files API answers 403 PERMISSION_DENIED "... or it may not exist" for a deleted or expired
file. For a file this tool recorded that means "already gone": clean-up succeeds, again and again, and two clean-ups
at once both succeed. The emulator answers as the real service does (an unknown batch stays 404 NOT_FOUND)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup import plan as cleanup
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import batch_name
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock

from gembatch_tui.core.poll.poller import poll_once

from .conftest import KEY, MODEL, World, make_service, write_input


def _raw(emu: Emulator, method: str, path: str) -> tuple[int, dict]:
    req = urllib.request.Request(emu.url + path, method=method, headers={"x-goog-api-key": KEY})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1beta/files/nosuchfile1"),
    ("DELETE", "/v1beta/files/nosuchfile1"),
    ("GET", "/download/v1beta/files/nosuchfile1:download?alt=media"),
])
def test_emulator_answers_403_for_a_missing_file(world: World, method: str, path: str) -> None:
    assert _raw(world.emu, method, path) == (403, {"error": {
        "code": 403, "status": "PERMISSION_DENIED",
        "message": "You do not have permission to access the File nosuchfile1 or it may not exist."}})


def test_emulator_answers_404_for_an_unknown_batch(world: World) -> None:
    status, body = _raw(world.emu, "GET", "/v1beta/batches/nosuchbatch1")
    assert (status, body["error"]["status"]) == (404, "NOT_FOUND")


def test_a_deleted_file_is_403_through_the_client_too(world: World) -> None:
    rec = world.downloaded()
    world.service.client.delete_file(rec["uploaded_file_name"])
    with pytest.raises(ServiceError) as exc:
        world.service.client.get_file(rec["uploaded_file_name"])
    assert exc.value.code == 403


def test_cleanup_after_the_files_expired_succeeds_and_is_idempotent(world: World) -> None:
    rec = world.downloaded()
    world.clock.advance(49 * 3600)  # uploads and outputs live 48 h
    assert rec["uploaded_file_name"] not in world.remote_files()
    plan = cleanup.plan_cleanup(world.service.store.read_all())
    assert {a.kind for a in plan.actions} == {"batch", "input", "output"}
    first = execute(world.service, plan.actions)
    assert [r.message for r in first if not r.ok] == []
    assert world.service.store.get(rec["id"])["remote_deleted"] == {"batch": True, "input": True, "output": True}
    assert cleanup.plan_cleanup(world.service.store.read_all()).actions == []
    again = execute(world.service, plan.actions)  # the same deletions once more: still all fine
    assert all(r.ok for r in again)


def test_a_403_on_a_batch_is_still_an_error(world: World) -> None:
    """Only files: a 403 on a batch job (or on list/create, which name no file) is an access problem."""
    rec = world.downloaded()
    name = batch_name(rec) or ""
    world.emu.fail_next("DELETE", rf"/{name}$", 403, message="no access (injected)")
    results = execute(world.service, [cleanup.Action("batch", name, rec["id"], "basic.jsonl")])
    assert not results[0].ok and "no access (injected)" in results[0].message


def test_two_cleanup_commands_at_once_both_exit_0(tmp_path: Path) -> None:
    clock = ManualClock()
    state = tmp_path / "emulator-state"  # the jobs are made quickly, then served slowly by the same server state
    store = tmp_path / "store" / "jobs.jsonl"
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, state_dir=state) as quick:
        service = make_service(quick, store)
        for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
            assert service.submit(write_input(tmp_path / "in" / name, text=name), model=MODEL).status == "submitted"
        clock.advance(30)
        assert not poll_once(service).failed
    # 150 ms a call keeps both clean-ups' deletions in flight together
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, latency_ms=150, state_dir=state) as emu:
        assert len(emu.batches_snapshot()) == 3 and len(emu.files_snapshot()) == 6
        clock.advance(49 * 3600)  # the uploads (and outputs) expired: every file delete answers 403
        cli = Cli(tmp_path / "home", {"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        args = [sys.executable, "-m", "gembatch_tui", "--store", str(store), "cleanup", "--yes"]
        procs = [subprocess.Popen(args, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert emu.batches_snapshot() == [] and emu.files_snapshot() == []
        for out, err in outs:
            assert KEY not in out + err
        again = cli("--store", str(store), "cleanup", "--yes")
        assert again.returncode == 0 and "nothing to clean up" in again.stdout, again
