"""`list --remote` with several keys: each profile's key lists its own jobs on the server (a key sees only the jobs
it created), untracked ones are marked with their profile, a profile whose key is not set is named as skipped (the
wording of `cancel --all-active --remote`) and nothing is asked with its key; `poll batches/ID` adopts an untracked
job of any profile with the key that sees it."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.emulator import Emulator
from tests.profiles.test_profiles_cancel_remote import untracked_job
from tests.profiles.test_profiles_cli import KEY_A, KEY_B, clock, emulator, make_cli, make_input, store_of, submit_both

__all__ = ["clock", "emulator"]  # the fixtures, shared with test_profiles_cli

SKIPPED_B = "  profile b: its jobs on the server are not listed: GB_TEST_KEY_B is not set"


def lists(emu: Emulator, key: str) -> int:
    return sum(1 for m, p in emu.calls_with(key) if m == "GET" and p.rstrip("/").endswith("/batches"))


def test_every_key_lists_its_own_and_an_absent_key_is_skipped(tmp_path: Path, emulator: Emulator) -> None:
    cli = make_cli(tmp_path, emulator)
    recs = submit_both(tmp_path, cli)
    a, b = recs["a.jsonl"]["batch"]["name"], recs["b.jsonl"]["batch"]["name"]
    outside_a = untracked_job(emulator, KEY_A, make_input(tmp_path, "xa.jsonl"))
    outside_b = untracked_job(emulator, KEY_B, make_input(tmp_path, "xb.jsonl"))

    run = cli("list", "--remote", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {row["name"]: (row["tracked"], row["profile"]) for row in json.loads(run.stdout)}
    assert rows == {a: (True, "default"), b: (True, "b"), outside_a: (False, "default"), outside_b: (False, "b")}
    assert lists(emulator, KEY_A) >= 1 and lists(emulator, KEY_B) >= 1

    table = cli("list", "--remote")
    assert table.returncode == 0, table.stdout + table.stderr
    lines = table.stdout.splitlines()
    row_of = {name: next(line for line in lines if line.startswith(name.split("/", 1)[1][:14]))
              for name in (a, b, outside_a, outside_b)}
    assert row_of[outside_b].endswith("not tracked, profile b")
    assert row_of[outside_a].endswith("not tracked, profile default")
    assert row_of[a].endswith("  tracked") and row_of[b].endswith("  tracked")
    assert "2 not tracked by this store" in table.stdout and "skipped" not in table.stdout

    calls_b = len(emulator.calls_with(KEY_B))
    without_b = make_cli(tmp_path, emulator, with_b=False)
    table = without_b("list", "--remote")
    assert table.returncode == 0, table.stdout + table.stderr
    assert outside_a.split("/", 1)[1][:14] in table.stdout and a.split("/", 1)[1][:14] in table.stdout
    assert outside_b.split("/", 1)[1][:14] not in table.stdout and b.split("/", 1)[1][:14] not in table.stdout
    assert table.stdout.splitlines()[-2:] == ["skipped (1):", SKIPPED_B]
    as_json = without_b("list", "--remote", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert {row["name"] for row in json.loads(as_json.stdout)} == {a, outside_a}  # stdout is the JSON alone
    assert SKIPPED_B.strip() in as_json.stderr
    assert len(emulator.calls_with(KEY_B)) == calls_b  # b's key is not set: nothing asked with it
    none = without_b("list", "--remote", "--state", "failed")
    assert none.stdout.splitlines() == ["no jobs on the server in those states", "skipped (1):", SKIPPED_B]


def test_poll_adopts_an_untracked_job_with_the_key_that_sees_it(tmp_path: Path, emulator: Emulator) -> None:
    cli = make_cli(tmp_path, emulator)
    b_print = submit_both(tmp_path, cli)["b.jsonl"]["key_fingerprint"]
    outside_b = untracked_job(emulator, KEY_B, make_input(tmp_path, "xb.jsonl"))
    run = cli("poll", "--once", outside_b)  # the default profile's key does not see it; b's does
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{outside_b}: adopted into the store" in run.stdout and "profile b's key sees it" in run.stdout
    adopted = next(r for r in store_of(cli).read_all() if r["batch"]["name"] == outside_b)
    assert adopted["key_fingerprint"] == b_print  # polled and downloaded with b's key from now on
    job_id = outside_b.split("/", 1)[1]
    asked_a = [p for m, p in emulator.calls_with(KEY_A) if job_id in p]
    assert len(asked_a) == 1, asked_a  # the one question that found a's key does not see it
    nowhere = cli("poll", "--once", "batches/nosuch0000")
    assert nowhere.returncode == 2 and "nosuch0000" in nowhere.stderr
    assert not any(r["batch"]["name"] == "batches/nosuch0000" for r in store_of(cli).read_all())


def test_a_profile_holding_another_profiles_key_is_not_called_unset(tmp_path: Path, emulator: Emulator) -> None:
    cli = make_cli(tmp_path, emulator, with_b=False)
    config = cli.home / "config.json"
    config.write_text(json.dumps({"profiles": {"b": {"key_env": "GB_TEST_KEY_B"}, "c": {"key_env": "GB_TEST_KEY_C"}}}))
    cli.env["GB_TEST_KEY_C"] = KEY_A  # the default profile's key under a second name: listed once, with it
    outside_a = untracked_job(emulator, KEY_A, make_input(tmp_path, "xa.jsonl"))
    for args in (("list", "--remote"), ("cancel", "--all-active", "--remote")):  # cancel: no --yes, no terminal
        run = cli(*args)
        assert run.returncode == (0 if args[0] == "list" else 2), run.stdout + run.stderr
        assert SKIPPED_B in run.stdout.splitlines() and "profile c" not in run.stdout, run.stdout
    assert outside_a.split("/", 1)[1][:14] in cli("list", "--remote").stdout
    assert lists(emulator, KEY_A) == 3  # one listing a command, not one per name of the key
