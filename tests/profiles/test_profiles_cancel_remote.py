"""`cancel --all-active --remote` with several keys: each profile's key lists and cancels its own jobs on the server
(tracked or not); a profile whose key is not set is named as skipped, and its jobs are left running."""

from __future__ import annotations

from pathlib import Path

from google import genai

from gembatch_tui.emulator import Emulator
from tests.profiles.test_profiles_cli import KEY_A, KEY_B, clock, emulator, make_cli, make_input, store_of

__all__ = ["clock", "emulator"]  # the fixtures, shared with test_profiles_cli


def untracked_job(emu: Emulator, key: str, path: Path) -> str:
    """A batch job made with `key` outside this store (another machine, a script)."""
    sdk = genai.Client(api_key=key, http_options={"base_url": emu.url})
    uploaded = sdk.files.upload(file=str(path), config={"mime_type": "jsonl"})
    return str(sdk.batches.create(model="gemini-2.5-flash", src=uploaded.name).name)


def states(emu: Emulator) -> dict[str, str]:
    return {b["name"]: b["state"] for b in emu.batches_snapshot()}


def cancels(emu: Emulator, key: str) -> list[str]:
    return [p for m, p in emu.calls_with(key) if m == "POST" and p.endswith(":cancel")]


def test_each_key_cancels_its_own_and_an_absent_key_is_skipped(tmp_path: Path, emulator: Emulator) -> None:
    cli = make_cli(tmp_path, emulator)
    assert cli("submit", str(make_input(tmp_path, "a.jsonl"))).returncode == 0
    assert cli("--profile", "b", "submit", str(make_input(tmp_path, "b.jsonl"))).returncode == 0
    tracked = {Path(r["input_file"]).name: r["batch"]["name"] for r in store_of(cli).read_all()}
    outside_a = untracked_job(emulator, KEY_A, make_input(tmp_path, "xa.jsonl"))
    outside_b = untracked_job(emulator, KEY_B, make_input(tmp_path, "xb.jsonl"))

    without_b = make_cli(tmp_path, emulator, with_b=False)
    run = without_b("cancel", "--all-active", "--remote", "--yes")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "will cancel 2 jobs:" in run.stdout
    assert "skipped (2):" in run.stdout
    assert f"  {tracked['b.jsonl']} (b.jsonl): other key" in run.stdout and "(GB_TEST_KEY_B)" in run.stdout
    assert "profile b: its jobs on the server are not listed: GB_TEST_KEY_B is not set" in run.stdout
    now = states(emulator)
    assert now[tracked["a.jsonl"]] == now[outside_a] == "BATCH_STATE_CANCELLED"
    assert now[tracked["b.jsonl"]] == now[outside_b] == "BATCH_STATE_PENDING"  # b's key was not there: untouched
    assert not cancels(emulator, KEY_B)

    run = cli("cancel", "--all-active", "--remote", "--yes")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{outside_b} (not tracked by this store, profile b)" in run.stdout and "skipped" not in run.stdout
    now = states(emulator)
    assert now[tracked["b.jsonl"]] == now[outside_b] == "BATCH_STATE_CANCELLED"
    assert sorted(p.split("/", 2)[2] for p in cancels(emulator, KEY_B)) == sorted(
        f"{n}:cancel" for n in (tracked["b.jsonl"], outside_b))
    assert len(cancels(emulator, KEY_A)) == 2  # a's two, earlier; never one of b's
    assert cli("cancel", "--all-active", "--remote").stdout.startswith("no active jobs")
