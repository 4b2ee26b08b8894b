"""Which key a record is: every way a profile's service creates a job stamps that key's fingerprint, and the
config refuses a profile it cannot use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.runtime import open_runtime
from gembatch_tui.core import keys
from gembatch_tui.core.config import ConfigFileError, build_settings
from gembatch_tui.emulator import Emulator
from tests.profiles.test_profiles_cli import KEY_A, KEY_B, make_input
from tests.profiles.test_profiles_tui import settings_for


def test_a_submission_validated_while_uploading_carries_the_profile_s_fingerprint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(api_key=None, api_keys=[KEY_A, KEY_B], job_seconds=3600) as emulator:
        with open_runtime(settings_for(tmp_path, monkeypatch, emulator, with_b=True, profile="b")) as rt:
            assert rt.service is not None
            rt.service.overlap_min_bytes = 0  # every input takes the overlapped path (core/submit/overlap.py)
            outcome = rt.service.submit(make_input(tmp_path, "big.jsonl"), model="gemini-2.5-flash")
            assert outcome.status == "submitted", outcome.message
            [rec] = rt.store.read_all()
            assert rec[keys.FIELD] == rt.services["b"].key_fingerprint  # type: ignore[attr-defined]
            assert rec[keys.FIELD] != rt.services["default"].key_fingerprint  # type: ignore[attr-defined]
            assert keys.stamped(rt.service, {"x": 1}) == {"x": 1, keys.FIELD: rec[keys.FIELD]}
            assert [m for m, p in emulator.calls_with(KEY_B) if ":batchGenerateContent" in p] == ["POST"]


def test_the_fingerprint_depends_on_the_store_s_salt_and_never_shows_the_key(tmp_path: Path) -> None:
    one, two = keys.store_salt(tmp_path / "a" / "jobs.jsonl"), keys.store_salt(tmp_path / "b" / "jobs.jsonl")
    assert one == keys.store_salt(tmp_path / "a" / "jobs.jsonl")  # made once, then read
    assert keys.fingerprint(KEY_A, one) != keys.fingerprint(KEY_A, two)
    assert keys.fingerprint(KEY_A, one) != keys.fingerprint(KEY_B, one)
    assert (keys.salt_path(tmp_path / "a" / "jobs.jsonl").stat().st_mode & 0o777) == 0o600
    assert KEY_A not in keys.fingerprint(KEY_A, one) and len(keys.fingerprint(KEY_A, one)) == 19


@pytest.mark.parametrize(("profiles", "wanted"), [
    ({"default": {"key_env": "X"}}, "reserved"),
    ({"w\x1b[2J": {"key_env": "X"}}, "not a profile name"),
    ({"w": {"key": "AIza-secret"}}, "key_env must name the environment variable"),
    ({"w": {"key_env": "X", "base_url": 3}}, "base_url"),
    ([], "profiles must be an object"),
])
def test_a_bad_profile_is_a_message_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    profiles: object, wanted: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"profiles": profiles}))
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(home))
    with pytest.raises(ConfigFileError) as caught:
        build_settings(store=None, results_dir=None, api_key=None, demo=False)
    assert wanted in str(caught.value) and "config.json" in str(caught.value)
    assert "AIza-secret" not in str(caught.value)


def test_the_library_cancels_with_the_job_s_own_key_and_refuses_one_whose_key_is_not_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gembatch_tui import Batches
    from gembatch_tui.lib.values import BatchesError

    with Emulator(api_key=None, api_keys=[KEY_A, KEY_B], job_seconds=3600) as emulator:
        store = tmp_path / "jobs.jsonl"
        with open_runtime(settings_for(tmp_path, monkeypatch, emulator, with_b=True, profile="b")) as rt:
            assert rt.service is not None
            job_b = rt.service.submit(make_input(tmp_path, "b.jsonl"), model="gemini-2.5-flash").batch_name
        settings_for(tmp_path, monkeypatch, emulator, with_b=True)  # both keys set; the library's key is A
        with Batches(store=store, results_dir=tmp_path / "results", base_url=emulator.url) as batches:
            [job] = batches.cancel(str(job_b))  # made with B: cancelled with B, though the library's key is A
            assert "cancel" in str(job.state).lower()
        assert [p for m, p in emulator.calls_with(KEY_B) if m == "POST" and p.endswith(f"{job_b}:cancel")]
        assert not [p for _m, p in emulator.calls_with(KEY_A) if str(job_b).split("/")[1] in p]

        with open_runtime(settings_for(tmp_path, monkeypatch, emulator, with_b=True, profile="b")) as rt:
            assert rt.service is not None
            other = rt.service.submit(make_input(tmp_path, "b2.jsonl"), model="gemini-2.5-flash").batch_name
        settings_for(tmp_path, monkeypatch, emulator, with_b=False)
        with Batches(store=store, results_dir=tmp_path / "results", base_url=emulator.url) as batches:
            with pytest.raises(BatchesError) as caught:
                batches.cancel(str(other))
            assert "GB_TEST_KEY_B" in str(caught.value)
        assert not [p for _m, p in emulator.calls_with(KEY_A) if str(other).split("/")[1] in p]
