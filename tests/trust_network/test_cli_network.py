"""The network faults of the CLI as a user meets them: an unreachable server, and the upload a lost answer
left behind, which `cleanup` removes once no record uses it."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.api.upload_tokens import token_of
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock

KEY = "net-key-123456"


def _input(path: Path) -> Path:
    """Three requests whose text names the file, so that no two inputs are the same content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(
        json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"{path.name} q{i}"}]}]}}) + "\n"
        for i in range(3)))
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_is_reported_at_once_by_poll_and_cleanup(tmp_path: Path) -> None:
    home = tmp_path / "home"
    clock = ManualClock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        cli = Cli(home, env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        for i in range(2):  # finished and downloaded: clean-up has remote items to delete
            assert cli("submit", str(_input(tmp_path / "in" / f"f{i}.jsonl"))).returncode == 0
        clock.advance(60)
        assert cli("poll", "--once").returncode == 0
        # still pending: poll has a job to ask about
        assert cli("submit", str(_input(tmp_path / "in" / "f2.jsonl"))).returncode == 0
    url = f"http://127.0.0.1:{_free_port()}"
    gone = Cli(home, env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": url})
    for args in (("poll", "--once"), ("cleanup", "--yes")):
        started = time.monotonic()
        run = gone(*args)
        elapsed = time.monotonic() - started
        assert run.returncode == 1, (args, run.stdout, run.stderr)
        assert f"cannot reach {url} (connection refused)" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
        assert elapsed < 15, f"{args}: {elapsed:.1f} s against a refused port"


def test_cleanup_removes_the_upload_a_lost_answer_left_and_nothing_else(tmp_path: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=0.5) as emu:
        home = tmp_path / "home"
        home.mkdir()  # retries of the listing that fails below back off in milliseconds, not seconds
        (home / "config.json").write_text(json.dumps({"retry": {"initial_delay": 0.05, "max_delay": 0.2}}))
        cli = Cli(home, env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        # Someone else's file (no token) must survive any clean-up.
        from google import genai

        sdk = genai.Client(api_key=KEY, http_options={"base_url": emu.url})
        foreign = sdk.files.upload(
            file=str(_input(tmp_path / "foreign.jsonl")), config={"mime_type": "jsonl", "display_name": "theirs"})
        # The finalize answer is lost and the lookup cannot run: the submission fails, its upload stays behind.
        emu.lose_answer("POST", r"/upload/v1[a-z0-9]*/files$", "reset", header=("X-Goog-Upload-Command", "finalize"))
        emu.fail_next("GET", r"/files$", 503, times=20)
        failed = cli("submit", str(_input(tmp_path / "in" / "a.jsonl")))
        assert failed.returncode == 1, failed.stdout
        emu._faults._rules.clear()
        ours = [f for f in emu.files_snapshot() if token_of(f["display_name"])]
        assert len(ours) == 1
        # The file is submitted again (a new upload), polled to the end, and cleaned up.
        again = cli("submit", str(_input(tmp_path / "in" / "a.jsonl")))
        assert again.returncode == 0, again.stdout
        assert cli("poll", "--interval", "0.2", "--timeout", "1").returncode == 0
        run = cli("cleanup", "--yes")
        assert run.returncode == 0, (run.stdout, run.stderr)
        assert f"orphan upload {ours[0]['name']}" in run.stdout
        left = {f["name"] for f in emu.files_snapshot()}
        assert ours[0]["name"] not in left
        assert foreign.name in left
        records = JobStore(tmp_path / "home" / "jobs.jsonl").read_all()
        assert all(r.get("results_verified") for r in records if r.get("batch"))
        assert cli("cleanup", "--yes").stdout.startswith("nothing to clean up")
