"""Fixtures for the finish-hook tests: the real CLI as processes against an emulator whose clock the test moves,
and a hook script that appends one line per run and keeps the environment it was given."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock

KEY = "test-key-HOOKS-0123456789"
JOB_SECONDS = 10.0

HOOK_SCRIPT = r'''
import json, os, sys
out = sys.argv[1]
line = f"{os.environ['GEMBATCH_JOB_NAME']} {os.environ['GEMBATCH_JOB_STATE']} {os.getpid()}\n"
fd = os.open(os.path.join(out, "runs.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, line.encode())
os.close(fd)
results = os.environ.get("GEMBATCH_RESULTS_FILE", "")
seen = {"env": dict(os.environ), "results_exists": bool(results) and os.path.isfile(results)}
with open(os.path.join(out, os.environ["GEMBATCH_JOB_ID"] + ".json"), "w") as f:
    json.dump(seen, f)
code = int(os.environ.get("HOOK_EXIT", "0"))
if code:
    print("boom \x1b[2J from the hook")
sys.exit(code)
'''


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=JOB_SECONDS, clock=clock) as emu:
        yield emu


@pytest.fixture
def hook_dir(tmp_path: Path) -> Path:
    d = tmp_path / "hook-out"
    d.mkdir()
    (tmp_path / "hook.py").write_text(HOOK_SCRIPT)
    return d


def write_config(home: Path, on_finish: object) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps({"on_finish": on_finish}))


def hook_command(hook_dir: Path) -> list[str]:
    return [sys.executable, str(hook_dir.parent / "hook.py"), str(hook_dir)]


@pytest.fixture
def cli(tmp_path: Path, emulator: Emulator, hook_dir: Path) -> Cli:
    home = tmp_path / "home"
    write_config(home, hook_command(hook_dir))
    return Cli(home, env={"GOOGLE_API_KEY": KEY, "GEMINI_API_KEY": KEY, "GEMBATCH_KEY_COPY": KEY,
                          "GOOGLE_GEMINI_BASE_URL": emulator.url})


def make_inputs(tmp_path: Path, n: int) -> list[Path]:
    d = tmp_path / "inputs"
    d.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        path = d / f"in{i}.jsonl"
        path.write_text("".join(
            json.dumps({"key": f"k{j}", "request": {"contents": [{"parts": [{"text": f"q{i}-{j}"}]}]}}) + "\n"
            for j in range(2)))
        paths.append(path)
    return paths


def runs(hook_dir: Path) -> list[str]:
    log = hook_dir / "runs.log"
    return log.read_text().splitlines() if log.exists() else []
