"""The app with several keys: the top line names the profile that submits, the palette offers the others, and a
job whose key is not set reads 'other key' in its row and in its detail, and is not polled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.runtime import open_runtime
from gembatch_tui.core.config import build_settings
from gembatch_tui.emulator import Emulator
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.table import JobTable
from gembatch_tui.tui.palette import GembatchCommands
from tests.pilot_support import screen_text, wait_for
from tests.profiles.test_profiles_cli import KEY_A, KEY_B, make_input

JOB_SECONDS = 3600.0


def settings_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Emulator, *, with_b: bool,
                 profile: str | None = None):  # noqa: ANN201
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.json").write_text(json.dumps({"profiles": {"b": {"key_env": "GB_TEST_KEY_B"}}}))
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(home))
    monkeypatch.setenv("GEMINI_API_KEY", KEY_A)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.url)
    if with_b:
        monkeypatch.setenv("GB_TEST_KEY_B", KEY_B)
    else:
        monkeypatch.delenv("GB_TEST_KEY_B", raising=False)
    return build_settings(store=str(tmp_path / "jobs.jsonl"), results_dir=str(tmp_path / "results"), api_key=None,
                          demo=False, profile=profile)


async def test_a_job_of_a_key_that_is_not_set_is_labelled_in_the_app(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(api_key=None, api_keys=[KEY_A, KEY_B], job_seconds=JOB_SECONDS) as emulator:
        with open_runtime(settings_for(tmp_path, monkeypatch, emulator, with_b=True, profile="b")) as rt:
            assert rt.service is not None
            outcome = rt.service.submit(make_input(tmp_path, "b.jsonl"), model="gemini-2.5-flash")
            assert outcome.status == "submitted"
        settings = settings_for(tmp_path, monkeypatch, emulator, with_b=False)
        rt = open_runtime(settings)
        assert rt.absent_profiles == {"b": "GB_TEST_KEY_B"}
        [rec] = rt.store.read_all()
        calls_b = len(emulator.calls_with(KEY_B))
        app = make_app(settings, store=rt.store, service=rt.service, runtime=rt, poll=True)
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_for(pilot, lambda: app.loaded and app.records, what="the store read")
            table = app.screen.query_one(JobTable)

            def row() -> str:
                try:
                    return " ".join(c.plain for c in table.get_row(rec["id"]))
                except Exception:  # noqa: BLE001 - the row is not drawn yet
                    return ""

            await wait_for(pilot, lambda: "other key" in row(), what="the row's label")
            assert "gembatch-tui · default" in screen_text(app)
            titles = [hit.text async for hit in GembatchCommands(app.screen).discover()]
            assert not [t for t in titles if t.startswith("Profile:")]  # b's key is not set; default is in use
            await app.workers.wait_for_complete()
            await pilot.press("enter")
            await wait_for(pilot, lambda: "GB_TEST_KEY_B" in screen_text(app), what="the detail's key line")
        assert len(emulator.calls_with(KEY_B)) == calls_b
        assert not [p for _m, p in emulator.calls_with(KEY_A) if rec["batch"]["name"].split("/")[1] in p]
        assert "key_absent" not in rt.store.path.read_text()  # the label lives in the app, never in the store


async def test_the_resources_screen_lists_each_profile_s_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(api_key=None, api_keys=[KEY_A, KEY_B], job_seconds=JOB_SECONDS) as emulator:
        names: dict[str, str] = {}
        for profile, name in (("default", "a.jsonl"), ("b", "b.jsonl")):
            with open_runtime(settings_for(tmp_path, monkeypatch, emulator, with_b=True, profile=profile)) as rt:
                assert rt.service is not None
                outcome = rt.service.submit(make_input(tmp_path, name), model="gemini-2.5-flash")
                assert outcome.status == "submitted"
                names[profile] = str(outcome.batch_name)
        settings = settings_for(tmp_path, monkeypatch, emulator, with_b=True)
        rt = open_runtime(settings)
        app = make_app(settings, store=rt.store, service=rt.service, runtime=rt, poll=False)
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_for(pilot, lambda: app.loaded and app.records, what="the store read")
            await pilot.press("b")

            def listed() -> set[str]:
                inv = getattr(app.screen, "inventory", None)
                return {str(b.get("name")) for b in inv.remote_batches} if inv is not None else set()

            await wait_for(pilot, lambda: listed() == {names["default"]}, what="the default key's jobs")
            assert "Remote resources · profile default" in screen_text(app)
            await pilot.press("p")
            await wait_for(pilot, lambda: listed() == {names["b"]}, what="profile b's jobs")
            assert "Remote resources · profile b" in screen_text(app)
        rt.close()


async def test_the_palette_switches_the_profile_that_submits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.command import CommandPalette

    with Emulator(api_key=None, api_keys=[KEY_A, KEY_B], job_seconds=JOB_SECONDS) as emulator:
        settings = settings_for(tmp_path, monkeypatch, emulator, with_b=True)
        rt = open_runtime(settings)
        app = make_app(settings, store=rt.store, service=rt.service, runtime=rt, poll=False)
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_for(pilot, lambda: app.loaded, what="the store read")
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
            await pilot.press(*"Profile: b")
            await wait_for(pilot, lambda: "Profile: b" in screen_text(app), what="the profile command")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.next_step == "profile:b", what="the switch")
        rt.close()
    # cli/app_command.run starts the app again with this profile's key:
    from gembatch_tui.core.config import choose_profile

    choose_profile(settings, "b")
    assert settings.profile == "b" and settings.api_key == KEY_B
