from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Cli:
    """Runs `python -m gembatch_tui` as a real process (no stdin), like a user's script would."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.env = dict(os.environ)
        self.env["GEMBATCH_TUI_HOME"] = str(home)
        self.env["PYTHONPATH"] = str(ROOT) + os.pathsep + self.env.get("PYTHONPATH", "")
        if env:
            self.env.update(env)

    def __call__(self, *args: str, timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gembatch_tui", *args],
            capture_output=True, text=True, env=self.env, timeout=timeout,
            stdin=subprocess.DEVNULL if input is None else None, input=input,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")
