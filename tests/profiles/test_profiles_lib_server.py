"""Profiles in the library (`Batches(profile=...)`) and the REST service (`POST /jobs?profile=...`): a job lands
with the chosen key's fingerprint, is created, polled and downloaded with that key only, and an unknown profile or
one whose key is not set is refused with the CLI's own message, with nothing submitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui import Batches, BatchesError
from gembatch_tui.core.store import JobStore
from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock
from tests.profiles.test_profiles_cli import JOB_SECONDS, KEY_A, KEY_B, clock, emulator
from tests.server.support import requests_jsonl, server_env, start_server

CONFIG = {"profiles": {"b": {"key_env": "GB_TEST_KEY_B"}, "c": {"key_env": "GB_TEST_KEY_C"}}}

__all__ = ["clock", "emulator"]  # the fixtures, shared with test_profiles_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps(CONFIG))
    return home


def env_of(emulator: Emulator) -> dict[str, str]:
    return {"GOOGLE_API_KEY": "", "GEMINI_API_KEY": KEY_A, "GB_TEST_KEY_B": KEY_B, "GB_TEST_KEY_C": "",
            "GOOGLE_GEMINI_BASE_URL": emulator.url}


def calls(emulator: Emulator, key: str, part: str) -> list[str]:
    return [p for _m, p in emulator.calls_with(key) if part in p]


def cli_refusal(home: Path, emulator: Emulator, profile: str) -> str:
    """What the CLI says about `--profile NAME` (its message, without the program name)."""
    done = Cli(home, env=env_of(emulator))("--profile", profile, "poll", "--once")
    assert done.returncode == 2, done.stdout + done.stderr
    return done.stderr.strip().removeprefix("gembatch-tui: ")


def test_the_library_submits_polls_and_downloads_with_the_chosen_profile(
        home: Path, emulator: Emulator, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(home))
    for name, value in env_of(emulator).items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "in.jsonl"
    path.write_bytes(requests_jsonl(2))
    with Batches(profile="b") as batches:
        [sub] = batches.submit([path])
        assert sub.status == "submitted"
        assert len(calls(emulator, KEY_B, ":batchGenerateContent")) == 1
        assert not calls(emulator, KEY_A, ":batchGenerateContent")
        clock.advance(JOB_SECONDS + 1)
        [done] = batches.wait(sub.jobs, timeout=60, interval=0.2)
        assert done.state == "SUCCEEDED" and list(batches.results(done))
    [record] = JobStore(batches.store_path).read_all()
    job_id = record["batch"]["name"].split("/", 1)[1]
    assert record["key_fingerprint"] and KEY_B not in json.dumps(record)
    assert calls(emulator, KEY_B, ":download") and not calls(emulator, KEY_A, job_id)  # asked with b's key only
    with Batches() as default:  # the default key's jobs carry another fingerprint
        other = tmp_path / "other.jsonl"
        other.write_bytes(requests_jsonl(1, "o"))
        [mine] = default.submit([other])
    prints = {r["input_file"]: r.get("key_fingerprint") for r in JobStore(default.store_path).read_all()}
    assert prints[str(other)] != record["key_fingerprint"]

    with pytest.raises(BatchesError) as unknown:
        Batches(profile="nope")
    assert str(unknown.value) == cli_refusal(home, emulator, "nope")
    assert "known: default, b, c" in str(unknown.value)
    with Batches(profile="c") as absent, pytest.raises(BatchesError) as no_key:
        absent.submit([path], force=True)
    assert str(no_key.value) == cli_refusal(home, emulator, "c")
    assert str(no_key.value) == "no API key for profile 'c': set the environment variable GB_TEST_KEY_C"
    assert len(calls(emulator, KEY_B, ":batchGenerateContent")) == 1 and mine.jobs


def test_the_rest_service_submits_with_the_profile_a_request_names(home: Path, emulator: Emulator,
                                                                   clock: ManualClock) -> None:
    server = start_server(home, emulator.url, "--poll-interval", "0",
                          env=server_env(home, emulator.url, env_of(emulator)))
    try:
        made = server.post("/jobs?filename=b.jsonl&profile=b", requests_jsonl(2, "b"))
        assert made.status == 201, made.body
        [record] = made.json()["jobs"]
        assert record["key_fingerprint"]
        assert len(calls(emulator, KEY_B, ":batchGenerateContent")) == 1
        plain = server.post("/jobs?filename=a.jsonl", requests_jsonl(2, "a"))
        assert plain.status == 201 and plain.json()["jobs"][0].get("key_fingerprint") != record["key_fingerprint"]
        assert len(calls(emulator, KEY_A, ":batchGenerateContent")) == 1

        for name in ("nope", "c"):
            refused = server.post(f"/jobs?filename=x.jsonl&profile={name}", requests_jsonl(1, "x"))
            assert refused.status == 400, refused.body
            assert refused.message == cli_refusal(home, emulator, name)
        assert len(calls(emulator, KEY_A, ":batchGenerateContent")) + len(
            calls(emulator, KEY_B, ":batchGenerateContent")) == 2  # nothing more was submitted

        clock.advance(JOB_SECONDS + 1)
        polled = server.post("/poll").json()
        assert sorted(d["ok"] for d in polled["downloads"]) == [True, True], polled
        job_b = record["batch"]["name"].split("/", 1)[1]
        assert calls(emulator, KEY_B, job_b) and not calls(emulator, KEY_A, job_b)  # polled with its own key
        listed = {Path(r["input_file"]).name: r for r in server.get("/jobs").json()["jobs"]}
        assert listed["b.jsonl"]["key_fingerprint"] == record["key_fingerprint"]
        assert {r["batch"]["state"] for r in listed.values()} == {"JOB_STATE_SUCCEEDED"}
    finally:
        server.stop()
