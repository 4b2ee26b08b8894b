"""Point 2 of issue 13: a remote output is deleted only while the local results file is still exactly what was
verified (size and sha256 recorded at verification); otherwise it is kept and the reason names the file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup import plan as cleanup
from gembatch_tui.core.results import fingerprint as results_fingerprint
from gembatch_tui.core.cleanup import flags
from gembatch_tui.core.cleanup import remote as res
from gembatch_tui.core.models import batch_name

from .conftest import MODEL, World, write_input


def _dest(rec: dict) -> str:
    return rec["batch"]["dest"]["file_name"]


def _fresh(world: World, rec: dict) -> dict:
    got = world.service.store.get(rec["id"])
    assert got is not None
    return got


def test_verification_records_size_and_sha256_of_the_file_on_disk(world: World) -> None:
    rec = world.downloaded()
    data = Path(rec["results_file"]).read_bytes()
    assert rec["results_bytes"] == len(data) > 0
    assert rec["results_sha256"] == hashlib.sha256(data).hexdigest()
    assert cleanup.results_problem(rec) is None and cleanup.results_safe(rec)


def test_an_intact_file_lets_cleanup_delete_everything(world: World) -> None:
    rec = world.downloaded()
    plan = cleanup.plan_cleanup(world.service.store.read_all())
    assert {(a.kind, a.target) for a in plan.actions} == {
        ("batch", batch_name(rec)), ("input", rec["uploaded_file_name"]), ("output", _dest(rec))}
    assert plan.refused == []
    results = execute(world.service, plan.actions)
    assert all(r.ok for r in results), results
    assert _dest(rec) not in world.remote_files()


def test_a_truncated_file_keeps_the_remote_output_and_says_why(world: World) -> None:
    rec = world.downloaded()
    path = Path(rec["results_file"])
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - 7)
    records = world.service.store.read_all()
    plan = cleanup.plan_cleanup(records)
    assert plan.actions == []  # the whole job stays: its output is the only good copy
    assert plan.refused == [f"{_dest(rec)}: {path} changed since it was verified (size {size} -> {size - 7} bytes); "
                            "remote results kept"]
    # the delete dialog / `delete` plan: output refused with the same reason, the rest may go
    one = cleanup.plan_delete(_fresh(world, rec))
    assert [a.kind for a in one.actions] == ["batch", "input"]
    assert one.refused == plan.refused
    # the resources screen: protected, not in the safe set (`u`), and a chosen row is refused with the reason
    inv, records = res.list_inventory(world.service, world.clock.utc)
    row = inv.by_name()[_dest(rec)]
    assert flags.PROTECTED in row.flags and flags.SAFE not in row.flags
    assert row.reason == f"{path} changed since it was verified (size {size} -> {size - 7} bytes); remote results kept"
    assert "changed or went since it was verified" in res.risk_of(row)  # the screen's second question says so
    assert inv.by_name()[batch_name(rec)].reason == row.reason
    assert _dest(rec) not in {a.target for a in res.safe_actions(inv, records)}
    refused = res.actions_for([row], records).refused
    assert refused == [f"{_dest(rec)}: {path} changed since it was verified (size {size} -> {size - 7} bytes); "
                       "remote results kept"]
    assert _dest(rec) in world.remote_files()


def test_same_size_other_content_is_caught_by_the_hash(world: World) -> None:
    rec = world.downloaded()
    path = Path(rec["results_file"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit: same size, other content
    path.write_bytes(bytes(data))
    problem = cleanup.results_problem(_fresh(world, rec))
    assert problem is not None and problem.startswith(f"{path} changed since it was verified (same size, other content")
    plan = cleanup.plan_delete(_fresh(world, rec))
    assert "output" not in [a.kind for a in plan.actions] and plan.refused == [f"{_dest(rec)}: {problem}"]


def test_a_missing_file_keeps_the_remote_output(world: World) -> None:
    rec = world.downloaded()
    Path(rec["results_file"]).unlink()
    plan = cleanup.plan_cleanup(world.service.store.read_all())
    assert plan.actions == []
    assert plan.refused == [f"{_dest(rec)}: {rec['results_file']} is missing since it was verified; remote results kept"]


def test_a_change_after_the_plan_is_caught_right_before_the_delete(world: World) -> None:
    """The plan was made (and the user said yes) while the file was intact; it changes before execute runs."""
    rec = world.downloaded()
    plan = cleanup.plan_cleanup(world.service.store.read_all())
    assert "output" in [a.kind for a in plan.actions]
    path = Path(rec["results_file"])
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[0:1] = b" "  # same size; and mtime put back: only the content (and the ctime) tell
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    results = {r.action.kind: r for r in execute(world.service, plan.actions)}
    assert results["batch"].ok and results["input"].ok
    assert not results["output"].ok
    assert results["output"].message.startswith(f"{path} changed since it was verified")
    assert _dest(rec) in world.remote_files()
    assert _fresh(world, rec)["remote_deleted"] == {"batch": True, "input": True}


def test_force_still_deletes_a_changed_output_when_the_user_says_so(world: World) -> None:
    rec = world.downloaded()
    Path(rec["results_file"]).write_text("", encoding="utf-8")
    plan = cleanup.plan_delete(_fresh(world, rec), allow_unsaved_results=True)
    [output] = [a for a in plan.actions if a.kind == "output"]
    assert output.forced
    assert all(r.ok for r in execute(world.service, plan.actions))
    assert _dest(rec) not in world.remote_files()


def test_records_verified_before_fingerprints_are_verified_again(world: World) -> None:
    rec = world.downloaded()

    def legacy(r: dict) -> None:
        r.pop("results_bytes")
        r.pop("results_sha256")

    world.service.store.update(rec["id"], legacy)
    old = _fresh(world, rec)
    assert "results_sha256" not in old and old["results_check"]["lines"] == 5
    assert cleanup.results_problem(old) is None  # verified again: same counts, trusted

    path = Path(rec["results_file"])
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))  # one result line gone
    problem = cleanup.results_problem(_fresh(world, rec))
    assert problem is not None and problem.startswith(f"{path} no longer verifies") and problem.endswith(
        "remote results kept")
    assert cleanup.plan_cleanup(world.service.store.read_all()).actions == []

    def no_counts(r: dict) -> None:
        r.pop("results_check")

    world.service.store.update(rec["id"], no_counts)
    path.write_bytes(b"".join(lines))  # intact again, but nothing recorded to check it against: protected
    problem = cleanup.results_problem(_fresh(world, rec))
    assert problem == (f"{path} was verified before fingerprints were recorded and has no recorded counts to check "
                       "it against; remote results kept")


def test_jobs_without_results_keep_the_old_rule(world: World) -> None:
    """A job that never produced results (failed, cancelled) is 'safe': nothing to lose."""
    out = world.service.submit(write_input(world.inputs / "c.jsonl"), model=MODEL)
    rec = world.service.store.find_by_batch_name(out.batch_name or "")
    assert rec is not None
    cancel_job(world.service, rec)
    rec = _fresh(world, rec)
    assert cleanup.results_problem(rec) is None and cleanup.results_safe(rec)


def test_fingerprint_cache_notices_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"key": "a"}\n')
    fp = results_fingerprint.compute(path)
    assert results_fingerprint.check_file(str(path), fp.size, fp.sha256, None, None, None) is None
    path.write_bytes(b'{"key": "b"}\n')  # same size, new inode times
    problem = results_fingerprint.check_file(str(path), fp.size, fp.sha256, None, None, None)
    assert problem is not None and "same size, other content" in problem


def test_a_job_that_holds_its_answers_is_kept_like_an_output(world: World) -> None:
    """A succeeded job with no output file (inline requests): the job is the only remote copy of its answers."""
    rec = world.downloaded()

    def inline(r: dict) -> None:
        r["batch"].pop("dest")

    world.service.store.update(rec["id"], inline)
    path = Path(rec["results_file"])
    path.write_bytes(path.read_bytes()[:-3])
    plan = cleanup.plan_delete(_fresh(world, rec))
    name = batch_name(rec)
    assert name not in {a.target for a in plan.actions}
    assert plan.refused[0].startswith(f"{name}: {path} changed since it was verified")
    assert name not in {a.target for a in cleanup.plan_cleanup(world.service.store.read_all()).actions}
    assert cleanup.plan_cleanup(world.service.store.read_all()).refused[0].startswith(f"{name}: ")
    forced = cleanup.plan_delete(_fresh(world, rec), allow_unsaved_results=True)
    assert [a.forced for a in forced.actions if a.kind == "batch"] == [True]
