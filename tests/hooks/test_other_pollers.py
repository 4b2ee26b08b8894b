"""`poll --watch` run as a service and the app poll the same store: each announces itself in the store's folder
(core/poll/presence.py), and the app names the other on its status line while it lives, and stops once it is gone."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.config import Settings
from gembatch_tui.core.poll import presence
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator
from gembatch_tui.tui.app import make_app
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock
from tests.pilot_support import screen_text, wait_for

KEY = "test-key-PRESENCE-0123456789"


def until(predicate: object, timeout: float = 20.0, what: str = "") -> object:
    """Wait for a condition outside the app (a file another process writes)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()  # type: ignore[operator]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ----------------------------------------------------------------------------- the presence files
def test_a_presence_file_is_private_names_the_command_and_goes_on_stop(tmp_path: Path) -> None:
    store = tmp_path / "jobs.jsonl"
    with presence.Presence(store, "poll --watch --api-key AIzaSECRET") as me:
        assert stat.S_IMODE(me.path.stat().st_mode) == 0o600
        seen_by_other = presence.others(store)
        [poller] = seen_by_other
        assert poller.pid == os.getpid() and poller.last_pass is None
        assert poller.describe().endswith(f"(pid {os.getpid()}), no pass yet")
        assert presence.others(store, exclude=me.path) == []  # a process never lists itself
        assert presence.others(tmp_path / "other.jsonl") == []  # nor a poller of another store in the folder
        me.passed()
        [poller] = presence.others(store)
        assert poller.describe().endswith("last pass just now")
    assert not me.path.exists()


def test_a_dead_process_or_an_old_heartbeat_is_not_a_poller(tmp_path: Path) -> None:
    store = tmp_path / "jobs.jsonl"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    live = presence.Presence(store, "poll --watch").start()
    try:
        dead = presence.presence_dir(store) / "dead.json"
        body = json.loads(live.path.read_text())
        dead.write_text(json.dumps({**body, "pid": gone.pid}))
        frozen = presence.presence_dir(store) / "frozen.json"
        frozen.write_text(json.dumps({**body, "beat": time.time() - 4 * body["beat_s"]}))
        (presence.presence_dir(store) / "junk.json").write_text("{not json")
        assert [p.path for p in presence.others(store)] == [live.path]
        assert not dead.exists()  # its process is gone from this host: the file goes too
        assert frozen.exists()  # it may be another host's, whose clock is off: left alone, not shown
    finally:
        live.stop()


def test_ago_is_coarse() -> None:
    assert [presence.ago(s) for s in (0, 9.9, 10, 59, 95, 3600, 7300)] == [
        "just now", "just now", "10 s ago", "50 s ago", "1 min ago", "60 min ago", "2 h ago"]


# ----------------------------------------------------------------------------- the app and a real poll --watch
@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=3600, clock=ManualClock()) as emu:  # the job stays running
        yield emu


async def test_the_app_names_a_running_poll_watch_until_it_is_killed(tmp_path: Path, emulator: Emulator) -> None:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.ensure()
    service = BatchService(store, GeminiClient(KEY, base_url=emulator.url), results_dir=tmp_path / "results")
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}) + "\n")
    assert service.submit(path, model="gemini-2.5-flash").status == "submitted"
    env = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GEMINI_API_KEY": KEY,
                                      "GOOGLE_GEMINI_BASE_URL": emulator.url}).env
    watcher = subprocess.Popen(
        [sys.executable, "-m", "gembatch_tui", "--store", str(store.path), "poll", "--watch", "--interval", "0.5"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        mine = until(lambda: [p for p in presence.others(store.path) if p.pid == watcher.pid and p.last_pass],
                     what="the watcher's first pass")
        text = json.loads(mine[0].path.read_text())  # type: ignore[index]
        assert text["command"] == "poll --watch" and KEY not in json.dumps(text)

        app = make_app(Settings(store_path=store.path, poll_interval=0.3, bell=False), store=store, service=service)
        async with app.run_test(size=(140, 30)) as pilot:
            shown = f"another poller is active: poll --watch (pid {watcher.pid}), last pass"
            await wait_for(pilot, lambda: shown in screen_text(app), what="the other poller on the status line")
            assert any(shown in e.message for e in app.events if e.title == "Pollers")
            # the app announces itself too, so the watcher's side can tell (its presence file names "the app")
            assert [p.command for p in presence.others(store.path) if p.pid == os.getpid()] == ["the app"]

            watcher.send_signal(signal.SIGKILL)
            watcher.wait(10)
            await wait_for(pilot, lambda: "another poller" not in screen_text(app), what="the line to clear")
            assert any(e.message == f"poll --watch (pid {watcher.pid}) stopped polling" for e in app.events)
            assert app.schedule.failures == 0 and not app.poll_blocked  # it kept polling all along
        assert presence.others(store.path) == []  # the app's file went when it quit; the killed one's on reading
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(10)
        if watcher.stderr is not None:
            watcher.stderr.close()


def test_serve_announces_its_background_poller_and_withdraws_on_sigterm(tmp_path: Path, emulator: Emulator) -> None:
    from tests.server.support import server_env, start_server

    home = tmp_path / "home"
    server = start_server(home, emulator.url, "--poll-interval", "0.3",
                          env=server_env(home, emulator.url, {"GOOGLE_API_KEY": KEY}))
    try:
        until(lambda: [p for p in presence.others(server.store_path) if p.command == "serve" and p.last_pass],
              what="the service's presence after a pass")
    finally:
        assert server.stop() == 0
    assert presence.others(server.store_path) == []
    assert not list(presence.presence_dir(server.store_path).glob("*.json"))  # removed by the service itself
