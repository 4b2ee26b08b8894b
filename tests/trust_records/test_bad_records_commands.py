"""A store with wrong-typed records: every command still works for the other jobs (against the emulator over
real HTTP, as a user's script would run it) and names each bad line, which survives untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.models import SUCCEEDED, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore

KEY = "test-key-records-SECRET78"
ROOT = Path(__file__).resolve().parents[2]
BAD = [
    '{"id": "bad1", "input_file": "/x/a.jsonl", "batch": "oops"}',
    '{"id": "bad2", "batch": {"name": "batches/nope2", "state": "JOB_STATE_SUCCEEDED", "dest": {"file_name": "files/f"}}, "results_file": 123}',
    '{"id": "bad3", "batch": {"name": "batches/nope3", "state": "JOB_STATE_SUCCEEDED", "dest": "y"}}',
]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=0.3) as emulator:
        yield emulator


def _run(store: Path, emu: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GOOGLE_API_KEY=KEY, GOOGLE_GEMINI_BASE_URL=emu.url, GEMBATCH_TUI_HOME=str(store.parent / "home"))
    env.pop("GEMINI_API_KEY", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "gembatch_tui", "--store", str(store), *args], capture_output=True,
                          text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)


def test_every_command_works_around_bad_records_and_names_their_lines(emu: Emulator, tmp_path: Path) -> None:
    src = tmp_path / "in" / "good.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}}) + "\n"
                           for i in range(3)))
    store_path = tmp_path / "store" / "jobs.jsonl"
    client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
    service = BatchService(JobStore(store_path), client)
    assert service.submit(src, model="gemini-2.5-flash").status == "submitted"
    with open(store_path, "a", encoding="utf-8") as fh:  # lines 2-4
        fh.write("".join(line + "\n" for line in BAD))
    deadline = time.monotonic() + 30
    while {b["state"] for b in emu.batches_snapshot()} != {"BATCH_STATE_SUCCEEDED"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    poll = _run(store_path, emu, "poll", "--once")
    listed = _run(store_path, emu, "list", "--json")
    table = _run(store_path, emu, "list")
    usage = _run(store_path, emu, "usage")
    cleanup = _run(store_path, emu, "cleanup", "--yes")
    for name, done in (("poll", poll), ("list --json", listed), ("list", table), ("usage", usage), ("cleanup", cleanup)):
        assert done.returncode == 0 and "Traceback" not in done.stderr, (name, done.stdout, done.stderr)
        for line_no, what in ((2, "batch: expected an object, got a string"),
                              (3, "results_file: expected a string, got an integer"),
                              (4, "batch.dest: expected an object, got a string")):
            assert f"{store_path} line {line_no}: {what}" in done.stderr, (name, done.stderr)
    assert [r["input_file"] for r in json.loads(listed.stdout)] == [str(src)]
    [good] = JobStore(store_path).read_all()
    assert record_state(good) == SUCCEEDED and good.get("results_verified") and Path(good["results_file"]).is_file()
    lines = store_path.read_text(encoding="utf-8").splitlines()
    assert lines[1:] == BAD  # every bad line kept byte for byte, where it was
    assert not poll_once(service).errors  # and the poller in this process finds nothing to fail on
