"""The per-job commands with several keys, as real processes against the emulator started with two keys: each acts
on a job with the key that created it (delete, clean-up, run JOB --realtime, retry's queued part), and for a job
whose key is not set says so, naming the variable, and leaves it as it was: nothing is asked with another key."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.core.store import JobStore
from gembatch_tui.emulator import Emulator
from tests.manual_clock import ManualClock
from tests.profiles.test_profiles_cli import (
    JOB_SECONDS, KEY_A, KEY_B, by_input, clock, creates, emulator, make_cli, make_input, store_of, submit_both,
)

__all__ = ["clock", "emulator"]  # the fixtures, shared with test_profiles_cli


def deletes(emu: Emulator, key: str) -> list[str]:
    return [p for m, p in emu.calls_with(key) if m == "DELETE"]


def generated(emu: Emulator, key: str) -> list[str]:
    return [p for m, p in emu.calls_with(key) if m == "POST" and p.endswith(":generateContent")]


def finished_both(tmp_path: Path, emu: Emulator, clock: ManualClock) -> tuple[object, dict[str, dict]]:
    """Jobs of both keys, succeeded and downloaded (each with its own key)."""
    cli = make_cli(tmp_path, emu)
    submit_both(tmp_path, cli)
    clock.advance(JOB_SECONDS + 1)
    polled = cli("poll", "--once")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    recs = by_input(store_of(cli))
    assert all(Path(r["results_file"]).is_file() for r in recs.values())
    return cli, recs


def test_delete_and_cleanup_leave_the_jobs_of_an_absent_key_alone(tmp_path: Path, emulator: Emulator,
                                                                  clock: ManualClock) -> None:
    cli, recs = finished_both(tmp_path, emulator, clock)
    a, b = recs["a.jsonl"], recs["b.jsonl"]
    calls_b = len(emulator.calls_with(KEY_B))
    without_b = make_cli(tmp_path, emulator, with_b=False)

    refused = without_b("delete", "--yes", b["batch"]["name"])
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout == ""  # nothing is listed as going: one line says why not
    assert refused.stderr.startswith(f"{b['batch']['name']}: not deleted: other key")
    assert "GB_TEST_KEY_B" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert b["batch"]["name"] in {j["name"] for j in emulator.batches_snapshot()}
    assert by_input(store_of(cli))["b.jsonl"] == b  # the record is kept as it was
    cleaned = without_b("cleanup", "--yes")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    kept = cleaned.stderr.splitlines()
    assert any(line.startswith(f"kept: {b['batch']['name']} (b.jsonl): other key") for line in kept), kept
    assert "kept: profile b's unused uploads, not listed: GB_TEST_KEY_B is not set" in kept
    remote = {j["name"] for j in emulator.batches_snapshot()}
    assert a["batch"]["name"] not in remote and b["batch"]["name"] in remote
    assert b["uploaded_file_name"] in {f["name"] for f in emulator.files_snapshot()}
    assert len(emulator.calls_with(KEY_B)) == calls_b  # b's key is not set: nothing asked with it
    id_b = b["batch"]["name"].split("/", 1)[1]
    assert not [p for _m, p in emulator.calls_with(KEY_A) if id_b in p or p.endswith(b["uploaded_file_name"])]

    deleted = cli("delete", "--yes", b["batch"]["name"])  # the key is back: deleted with it
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert [p for p in deletes(emulator, KEY_B) if p.endswith(b["batch"]["name"])]
    assert b["batch"]["name"] not in {j["name"] for j in emulator.batches_snapshot()}


def test_export_names_the_key_its_results_wait_for(tmp_path: Path, emulator: Emulator, clock: ManualClock) -> None:
    recs = submit_both(tmp_path, make_cli(tmp_path, emulator))
    without_b = make_cli(tmp_path, emulator, with_b=False)
    clock.advance(JOB_SECONDS + 1)
    assert without_b("poll", "--once").returncode == 0
    exported = without_b("export", recs["b.jsonl"]["batch"]["name"])
    assert exported.returncode == 2 and exported.stdout == ""
    assert "poll cannot fetch them" in exported.stderr and "GB_TEST_KEY_B" in exported.stderr, exported.stderr
    mine = without_b("export", recs["a.jsonl"]["batch"]["name"])
    assert mine.returncode == 0 and len(mine.stdout.splitlines()) == 2, mine.stderr


def test_run_job_realtime_answers_with_the_jobs_own_key(tmp_path: Path, emulator: Emulator,
                                                        clock: ManualClock) -> None:
    cli, recs = finished_both(tmp_path, emulator, clock)
    b = recs["b.jsonl"]
    results = Path(b["results_file"])  # a key lost from its results: what `run JOB --realtime` sends
    results.write_text("".join(line + "\n" for line in results.read_text().splitlines() if '"k1"' not in line))

    without_b = make_cli(tmp_path, emulator, with_b=False)
    refused = without_b("run", b["batch"]["name"], "--realtime")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "not run" in refused.stderr and "GB_TEST_KEY_B" in refused.stderr
    assert not generated(emulator, KEY_A) and not generated(emulator, KEY_B)

    run = cli("run", b["batch"]["name"], "--realtime", "--rpm", "1000")  # the default profile chosen; b's job
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(1 ok, 0 errors, 0 not answered)" in run.stdout
    assert len(generated(emulator, KEY_B)) == 1 and not generated(emulator, KEY_A)


def test_a_retried_part_waits_for_its_own_key(tmp_path: Path, emulator: Emulator, clock: ManualClock) -> None:
    cli = make_cli(tmp_path, emulator)
    config = cli.home / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "limits": {"max_requests_per_job": 1}}))
    split = cli("--profile", "b", "submit", str(make_input(tmp_path, "b.jsonl")))  # two requests: two parts
    assert split.returncode == 0, split.stdout + split.stderr
    first, second = sorted(store_of(cli).read_all(), key=lambda r: r["group_part"])
    assert cli("cancel", second["batch"]["name"]).returncode == 0
    assert len(creates(emulator, KEY_B)) == 2

    without_b = make_cli(tmp_path, emulator, with_b=False)
    without_b.home.joinpath("config.json").write_text(config.read_text())
    retried = without_b("retry", second["batch"]["name"])
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert retried.stdout.splitlines() == [f"retried part 2/2 of group {second['group_id']} (queued)"]
    assert "waits for its key" in retried.stderr and "GB_TEST_KEY_B" in retried.stderr, retried.stderr
    calls_b = len(emulator.calls_with(KEY_B))
    polled = without_b("poll", "--once")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    assert "not set" in polled.stdout + polled.stderr
    assert store_of(cli).get(second["id"])["local_state"] == "queued"  # not submitted with a's key
    assert not creates(emulator, KEY_A) and len(emulator.calls_with(KEY_B)) == calls_b

    polled = cli("poll", "--once")  # b's key is back: b submits its part
    assert polled.returncode == 0, polled.stdout + polled.stderr
    assert len(creates(emulator, KEY_B)) == 3 and not creates(emulator, KEY_A)
    now = store_of(cli).get(second["id"])
    assert now["batch"]["name"] != second["batch"]["name"] and now["key_fingerprint"] == first["key_fingerprint"]


def test_a_real_time_run_is_cancelled_without_asking_for_a_key(tmp_path: Path, emulator: Emulator) -> None:
    cli = make_cli(tmp_path, emulator)
    cli.env["GEMINI_API_KEY"] = ""  # only profile b's key: the default one is absent
    store = JobStore(cli.home / "jobs.jsonl")
    run = store.add({"mode": "realtime", "input_file": str(make_input(tmp_path, "r.jsonl")), "count": 2,
                     "realtime": {"pid": 2**22 + 12345},  # a run whose process is gone
                     "batch": {"name": "realtime/h8run", "state": "JOB_STATE_RUNNING", "display_name": "r.jsonl"}})
    cancelled = cli("--profile", "b", "cancel", "realtime/h8run")
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert cancelled.stdout.startswith("realtime/h8run: cancel requested, now CANCELLED"), cancelled.stdout
    assert store.get(run["id"])["batch"]["state"] == "JOB_STATE_CANCELLED"
    assert not [c for c in emulator.calls_with(KEY_B) if "h8run" in c[1]]
    # Deleting the stopped run asks no key either: it has nothing remote (the record goes, with its own key absent).
    deleted = cli("--profile", "b", "delete", "--yes", "realtime/h8run")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert store.get(run["id"]) is None
    assert not [c for c in emulator.calls_with(KEY_B) if "h8run" in c[1]]
