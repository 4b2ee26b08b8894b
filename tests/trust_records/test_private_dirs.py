"""The data dir is created private to the user (0700, CONTRACTS.md "Files") by every command that makes it, not
only by those whose first write is the store: commands that need a key used to make it 0755 through the key salt
(`<store>.keysalt`), written before the store. Run as a user's script would: the real CLI in a fresh process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_SERVER = "http://127.0.0.1:9"  # nothing listens there: these commands must not need the server


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GEMBATCH_TUI_HOME=str(home), GOOGLE_API_KEY="private-dirs-key",
               GOOGLE_GEMINI_BASE_URL=NO_SERVER)
    env.pop("GEMINI_API_KEY", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "gembatch_tui", *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def batch_file(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "batch.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}})
                            + "\n" for i in range(2)))
    return path


@pytest.mark.parametrize("command", [("usage",), ("list",), ("list", "--json")])
def test_a_command_that_only_reads_makes_no_data_dir(command: tuple[str, ...], tmp_path: Path) -> None:
    """Nothing to read is nothing to make: a typo in --store or a fresh machine gets no folders from `list`."""
    home = tmp_path / "fresh" / "home"
    out = _run(home, *command)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not (tmp_path / "fresh").exists()


@pytest.mark.parametrize("command", [("submit", "--check", "{file}"), ("poll", "--once")])
def test_every_command_that_writes_creates_the_data_dir_0700(command: tuple[str, ...], batch_file: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, whatever the test runner has: it is what made 0755
    try:
        home = tmp_path / "fresh" / "home"  # neither it nor its parent exists yet
        out = _run(home, *(part.format(file=batch_file) for part in command))
    finally:
        os.umask(old)
    assert out.returncode == 0, out.stdout + out.stderr
    assert _mode(home) == 0o700, f"{command}: {oct(_mode(home))}"
    assert _mode(home.parent) == 0o700  # a parent we made is ours too
    for name in ("jobs.jsonl.keysalt", "jobs.jsonl"):
        if (home / name).exists():
            assert _mode(home / name) == 0o600, name


def test_a_data_dir_the_user_made_keeps_its_mode(batch_file: Path, tmp_path: Path) -> None:
    home = tmp_path / "mine"
    home.mkdir()
    home.chmod(0o750)
    out = _run(home, "submit", "--check", str(batch_file))
    assert out.returncode == 0, out.stderr
    assert _mode(home) == 0o750 and (home / "jobs.jsonl.keysalt").exists()


def test_results_dirs_in_the_data_dir_are_private_and_beside_inputs_are_not(tmp_path: Path, monkeypatch) -> None:
    """`<data dir>/results/` (adopted jobs' fallback) is 0700 like the data dir; `<input dir>/results/` is the
    user's folder, made with their umask as any folder they make there."""
    from gembatch_tui.core import paths

    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "home"))
    old = os.umask(0o022)
    try:
        fallback = paths.ensure_results_dir(paths.fallback_results_dir())
        demo = paths.ensure_results_dir(paths.demo_results_dir_for(tmp_path / "in" / "x.jsonl"))
        beside = paths.ensure_results_dir(tmp_path / "in" / "results")
    finally:
        os.umask(old)
    assert _mode(fallback) == 0o700 and _mode(tmp_path / "home") == 0o700
    assert _mode(demo) == 0o700 and _mode(demo.parent) == 0o700
    assert _mode(beside) == 0o755
    for taken in (tmp_path / "home" / "taken", tmp_path / "taken"):  # a file where the folder goes: an OSError
        taken.write_text("")
        with pytest.raises(OSError):
            paths.ensure_results_dir(taken)
