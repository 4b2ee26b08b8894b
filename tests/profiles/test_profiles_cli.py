"""Two keys against an emulator that scopes jobs and files per key (as the service does): the real CLI, as
processes, submits with the chosen profile's key, polls and downloads every job with its own key, and leaves the
jobs of a key that is not set untouched (not polled, never marked missing) until the key is back."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.core.store import JobStore
from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock

KEY_A = "test-key-PROFILE-A-0123456789abcdef"
KEY_B = "test-key-PROFILE-B-fedcba9876543210"
JOB_SECONDS = 10.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(api_key=None, api_keys=[KEY_A, KEY_B], job_seconds=JOB_SECONDS, clock=clock) as emu:
        yield emu


def make_cli(tmp_path: Path, emulator: Emulator, *, with_b: bool = True) -> Cli:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.json").write_text(json.dumps({"profiles": {"b": {"key_env": "GB_TEST_KEY_B"}}}))
    env = {"GOOGLE_API_KEY": "", "GEMINI_API_KEY": KEY_A, "GOOGLE_GEMINI_BASE_URL": emulator.url}
    cli = Cli(home, env=env)
    cli.env.pop("GB_TEST_KEY_B", None)
    if with_b:
        cli.env["GB_TEST_KEY_B"] = KEY_B
    return cli


def make_input(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps({"key": f"k{j}", "request": {"contents": [{"parts": [{"text": f"{name}{j}"}]}]}})
                            + "\n" for j in range(2)))
    return path


def store_of(cli: Cli) -> JobStore:
    found = list(cli.home.rglob("*.jsonl"))
    stores = [p for p in found if p.name == "jobs.jsonl"]
    assert len(stores) == 1, found
    return JobStore(stores[0])


def by_input(store: JobStore) -> dict[str, dict]:
    return {Path(r["input_file"]).name: r for r in store.read_all()}


def submit_both(tmp_path: Path, cli: Cli) -> dict[str, dict]:
    a = cli("submit", str(make_input(tmp_path, "a.jsonl")))
    assert a.returncode == 0, a.stderr
    b = cli("--profile", "b", "submit", str(make_input(tmp_path, "b.jsonl")))
    assert b.returncode == 0, b.stderr
    return by_input(store_of(cli))


def creates(emulator: Emulator, key: str) -> list[str]:
    return [p for m, p in emulator.calls_with(key) if m == "POST" and ":batchGenerateContent" in p]


def test_each_job_is_submitted_polled_and_downloaded_with_its_own_key(tmp_path: Path, emulator: Emulator,
                                                                      clock: ManualClock) -> None:
    cli = make_cli(tmp_path, emulator)
    recs = submit_both(tmp_path, cli)
    a, b = recs["a.jsonl"], recs["b.jsonl"]
    assert len(creates(emulator, KEY_A)) == 1 and len(creates(emulator, KEY_B)) == 1  # --profile chose the key
    prints = {a["key_fingerprint"], b["key_fingerprint"]}
    assert len(prints) == 2
    for fp in prints:
        assert KEY_A not in fp and KEY_B not in fp and fp not in (KEY_A, KEY_B)
        assert not any(part in fp for key in (KEY_A, KEY_B) for part in (key[:8], key[-8:]))
    salt = Path(str(store_of(cli).path) + ".keysalt")
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600

    # A store older than profiles: the default key's job without a fingerprint is stamped by its first poll.
    store_of(cli).update(a["id"], lambda r: r.pop("key_fingerprint") and None)
    clock.advance(JOB_SECONDS + 1)
    polled = cli("poll", "--once")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    recs = by_input(store_of(cli))
    for name in ("a.jsonl", "b.jsonl"):
        assert recs[name]["batch"]["state"] == "JOB_STATE_SUCCEEDED", recs[name]
        assert Path(recs[name]["results_file"]).is_file()
    assert recs["a.jsonl"]["key_fingerprint"] == a["key_fingerprint"]
    id_a, id_b = a["batch"]["name"], b["batch"]["name"]
    paths_a = [p for _m, p in emulator.calls_with(KEY_A)]
    paths_b = [p for _m, p in emulator.calls_with(KEY_B)]
    assert not [p for p in paths_a if id_b.split("/")[1] in p]  # never asked about b's job with a's key
    assert not [p for p in paths_b if id_a.split("/")[1] in p]
    out_a = recs["a.jsonl"]["batch"]["output"]["responses_file"] if "output" in recs["a.jsonl"]["batch"] else None
    downloads_a = [p for p in paths_a if p.endswith(":download")]
    downloads_b = [p for p in paths_b if p.endswith(":download")]
    assert len(downloads_a) == 1 and len(downloads_b) == 1, (downloads_a, downloads_b, out_a)
    text = store_of(cli).path.read_text()
    assert KEY_A not in text and KEY_B not in text

    # Clean-up deletes each finished job's remote job and files with the key that made them.
    cleaned = cli("cleanup", "--yes")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    for key, mine, theirs in ((KEY_A, id_a, id_b), (KEY_B, id_b, id_a)):
        deletes = [p for m, p in emulator.calls_with(key) if m == "DELETE"]
        assert any(p.endswith(mine) for p in deletes), deletes
        assert not any(p.endswith(theirs) for p in deletes)
    remote = {b["name"] for b in emulator.batches_snapshot()}
    assert id_a not in remote and id_b not in remote


def test_jobs_of_a_key_that_is_not_set_are_left_alone_and_labelled(tmp_path: Path, emulator: Emulator,
                                                                   clock: ManualClock) -> None:
    recs = submit_both(tmp_path, make_cli(tmp_path, emulator))
    b_before = recs["b.jsonl"]
    calls_b = len(emulator.calls_with(KEY_B))
    without_b = make_cli(tmp_path, emulator, with_b=False)
    clock.advance(JOB_SECONDS + 1)
    for _ in range(3):  # two 404s in a row would mark a job missing
        polled = without_b("poll", "--once")
        assert polled.returncode == 0, polled.stdout + polled.stderr
        assert "not set" in polled.stdout + polled.stderr
    after = by_input(store_of(without_b))
    assert after["a.jsonl"]["batch"]["state"] == "JOB_STATE_SUCCEEDED"
    b_now = after["b.jsonl"]
    assert b_now["batch"] == b_before["batch"]
    assert "missing_polls" not in b_now and b_now.get("local_state") != "LOCAL_MISSING"
    assert len(emulator.calls_with(KEY_B)) == calls_b  # nothing asked with b's key, which is not set
    id_b = b_before["batch"]["name"].split("/")[1]
    assert not [p for _m, p in emulator.calls_with(KEY_A) if id_b in p]  # nor with a's key
    listed = without_b("list")
    assert "other key" in listed.stderr and "GB_TEST_KEY_B" in listed.stderr, listed.stderr
    cancelled = without_b("cancel", b_before["batch"]["name"])
    assert cancelled.returncode != 0 and "GB_TEST_KEY_B" in cancelled.stderr
    assert len(emulator.calls_with(KEY_B)) == calls_b

    back = make_cli(tmp_path, emulator)  # the key is set again: its job finishes and downloads
    polled = back("poll", "--once")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    done = by_input(store_of(back))["b.jsonl"]
    assert done["batch"]["state"] == "JOB_STATE_SUCCEEDED" and Path(done["results_file"]).is_file()


def test_with_only_a_profile_key_set_poll_needs_no_profile_named(tmp_path: Path, emulator: Emulator,
                                                                 clock: ManualClock) -> None:
    """Each job is polled with its own key: a user whose only key is a profile's (a cron line `poll --once`)
    is not refused for the default key, which polls nothing of theirs. submit still needs the key it uses."""
    cli = make_cli(tmp_path, emulator)
    b = cli("--profile", "b", "submit", str(make_input(tmp_path, "b.jsonl")))
    assert b.returncode == 0, b.stderr
    cli.env["GEMINI_API_KEY"] = ""  # only b's key is set now
    clock.advance(JOB_SECONDS + 1)
    polled = cli("poll", "--once")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    done = by_input(store_of(cli))["b.jsonl"]
    assert done["batch"]["state"] == "JOB_STATE_SUCCEEDED" and Path(done["results_file"]).is_file()
    refused = cli("submit", str(make_input(tmp_path, "x.jsonl")))
    assert refused.returncode == 2 and "GOOGLE_API_KEY" in refused.stderr
    assert KEY_A not in polled.stdout + polled.stderr and KEY_B not in polled.stdout + polled.stderr


def test_profile_errors_name_the_profile_and_the_variable(tmp_path: Path, emulator: Emulator) -> None:
    cli = make_cli(tmp_path, emulator, with_b=False)
    unknown = cli("--profile", "nope", "submit", str(make_input(tmp_path, "x.jsonl")))
    assert unknown.returncode == 2 and "'nope'" in unknown.stderr and "b" in unknown.stderr
    unset = cli("--profile", "b", "submit", str(make_input(tmp_path, "x.jsonl")))
    assert unset.returncode == 2 and "GB_TEST_KEY_B" in unset.stderr, unset.stderr
    assert not creates(emulator, KEY_A) and not creates(emulator, KEY_B)
    assert KEY_A not in unset.stderr + unknown.stderr


def test_poll_job_takes_a_job_of_a_rotated_key_when_the_new_key_sees_it(tmp_path: Path, clock: ManualClock) -> None:
    with Emulator(api_key=None, job_seconds=JOB_SECONDS, clock=clock) as open_emulator:  # keys of one project
        old = make_cli(tmp_path, open_emulator)
        done = old("submit", str(make_input(tmp_path, "a.jsonl")))
        assert done.returncode == 0, done.stderr
        [rec] = store_of(old).read_all()
        rotated = make_cli(tmp_path, open_emulator, with_b=False)
        rotated.env["GEMINI_API_KEY"] = KEY_A + "-rotated"
        clock.advance(JOB_SECONDS + 1)
        polled = rotated("poll", "--once")
        assert "not set" in polled.stdout + polled.stderr
        assert store_of(rotated).read_all()[0]["batch"] == rec["batch"]  # not asked about, not missing
        named = rotated("poll", "--once", rec["batch"]["name"])
        assert named.returncode == 0, named.stdout + named.stderr
        assert "polled with it from now on" in named.stdout
        [now] = store_of(rotated).read_all()
        assert now["batch"]["state"] == "JOB_STATE_SUCCEEDED" and now["key_fingerprint"] != rec["key_fingerprint"]


def test_poll_job_of_another_key_that_this_key_cannot_see_leaves_it_alone(tmp_path: Path, emulator: Emulator,
                                                                          clock: ManualClock) -> None:
    recs = submit_both(tmp_path, make_cli(tmp_path, emulator))
    b = recs["b.jsonl"]
    without_b = make_cli(tmp_path, emulator, with_b=False)
    clock.advance(JOB_SECONDS + 1)
    for _ in range(3):
        named = without_b("poll", "--once", b["batch"]["name"])
        assert "left as it was" in named.stderr, named.stdout + named.stderr
        assert named.returncode == 1  # named and not polled: not all done
    assert "profile default's key does not see it either (404)" in named.stderr
    now = by_input(store_of(without_b))["b.jsonl"]
    assert now["batch"] == b["batch"] and "missing_polls" not in now and now["key_fingerprint"] == b["key_fingerprint"]
    rejected = without_b("--api-key", "WRONG-key-0123456789", "poll", "--once", b["batch"]["name"])
    assert rejected.returncode == 1 and "asking with profile default's key failed: " in rejected.stderr, rejected
    assert "the API key was rejected" in rejected.stderr  # not 'does not see it (400)'


def test_clean_up_deletes_an_orphan_upload_with_the_key_that_listed_it(tmp_path: Path, emulator: Emulator,
                                                                      clock: ManualClock) -> None:
    cli = make_cli(tmp_path, emulator)
    b = submit_both(tmp_path, cli)["b.jsonl"]
    clock.advance(JOB_SECONDS + 1)  # the job no longer reads its input
    store_of(cli).remove(b["id"])  # its upload is now this store's and no record's: an orphan of key B
    uploaded = b["uploaded_file_name"]
    cleaned = cli("cleanup", "--yes")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert [p for m, p in emulator.calls_with(KEY_B) if m == "DELETE" and p.endswith(uploaded)], cleaned.stdout
    assert not [p for m, p in emulator.calls_with(KEY_A) if m == "DELETE" and p.endswith(uploaded)]
    assert uploaded not in {f["name"] for f in emulator.files_snapshot()}


def test_a_submission_refused_for_its_key_leaves_a_record_any_key_can_archive_and_delete(
        tmp_path: Path, emulator: Emulator) -> None:
    """Nothing remote was made, so nothing asks for that key again: no `not polled` line, and the record goes
    (or is archived) without it. Found by a QA pass: only the same wrong key could remove it."""
    cli = make_cli(tmp_path, emulator)
    src = make_input(tmp_path, "z.jsonl")
    run = cli("--api-key", "WRONG-key-0123456789", "submit", str(src))
    assert run.returncode == 1 and "the API key was rejected" in run.stdout, run
    [rec] = store_of(cli).read_all()
    assert not rec.get("batch", {}).get("name") and not rec.get("uploaded_file_name")
    listed = cli("list")
    assert listed.returncode == 0 and "not polled" not in listed.stderr, listed
    short = rec["id"][:14]
    assert cli("archive", short).returncode == 0
    assert cli("archive", "--undo", short).returncode == 0
    again = cli("archive", "--undo", short)  # a no-op, as archiving twice is
    assert again.returncode == 0 and again.stdout.strip().endswith(": not archived"), again
    gone = cli("delete", "--yes", short)
    assert gone.returncode == 0, gone
    assert "deleted local record" in gone.stdout and store_of(cli).read_all() == []


def test_cleanup_with_a_rejected_key_is_not_all_done(tmp_path: Path, emulator: Emulator) -> None:
    """A cron `cleanup --yes` whose key was revoked must not exit 0 forever (as `list --remote` exits 1)."""
    cli = make_cli(tmp_path, emulator, with_b=False)
    run = cli("--api-key", "WRONG-key-0123456789", "cleanup", "--yes")
    assert run.returncode == 1, run
    assert "kept: orphan uploads not looked for: could not list remote files: " in run.stderr
    assert "the API key was rejected" in run.stderr
    fine = cli("cleanup", "--yes")
    assert fine.returncode == 0 and "nothing to clean up" in fine.stdout, fine
