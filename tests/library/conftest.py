"""Fixtures for the library tests: an emulator over real HTTP (the real SDK talks to it) and small input files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator

KEY = "test-key-LIBRARY-0123456789"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:  # the tests wait for the jobs: short ones
        yield emu


def write_input(path: Path, n: int, tag: str = "q") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(
        json.dumps({"key": f"{tag}-{i}", "request": {"contents": [{"parts": [{"text": f"{tag} question {i}"}]}]}})
        + "\n" for i in range(n)))
    return path
