"""`submit` of a file big enough to be validated while uploaded: the same lines, exit codes and store as before.

The real CLI runs as a process against an in-process emulator; the input is just over overlap.MIN_BYTES.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.core.models import LOCAL_SUBMIT_FAILED, record_state
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit import overlap
from gembatch_tui.core.submit.validate import validate_file
from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli

KEY = "test-key-OVERLAPCLI-0123456789"
TEXT = "Summarise the following passage in two sentences, keeping every number exact. " * 12


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=60) as emu:
        yield emu


@pytest.fixture
def cli(tmp_path: Path, emulator: Emulator) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home, env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emulator.url})


def big_file(path: Path, bad_line: int | None = None) -> Path:
    """Just over overlap.MIN_BYTES of ~1 KB requests; `bad_line` (1-based) cut short."""
    n = 0
    written = 0
    with open(path, "w") as fh:
        while written <= overlap.MIN_BYTES:
            n += 1
            line = json.dumps({"key": f"k{n}", "request": {"contents": [{"parts": [{"text": f"{n} {TEXT}"}]}]}})
            if n == bad_line:
                line = line[:40]
            fh.write(line + "\n")
            written += len(line) + 1
    return path


def test_a_big_file_with_an_error_is_refused_as_before(cli: Cli, emulator: Emulator, tmp_path: Path) -> None:
    src = big_file(tmp_path / "big.jsonl", bad_line=60_000)
    expected = validate_file(src, max_bytes=None).messages()
    result = cli("submit", str(src), timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == expected  # FILE:LINE: message, exactly as validation says it
    line, why = expected[0][len(str(src)) + 1:].lstrip().split(": ", 1)
    assert line == "60000"
    assert result.stdout.strip() == f"[1/1] {src}: error: line 60000: {why}"
    assert emulator.files_snapshot() == [] and emulator.batches_snapshot() == []
    [rec] = JobStore(cli.home / "jobs.jsonl").read_all()
    assert record_state(rec) == LOCAL_SUBMIT_FAILED and expected[0] in rec["error"]


def test_a_big_valid_file_is_submitted_once(cli: Cli, emulator: Emulator, tmp_path: Path) -> None:
    src = big_file(tmp_path / "big.jsonl")
    result = cli("submit", str(src), timeout=300)
    assert result.returncode == 0, result.stderr
    [job] = emulator.batches_snapshot()
    assert result.stdout.startswith(f"[1/1] {src}: submitted {job['name']}")
    assert len(emulator.files_snapshot()) == 1
    again = cli("submit", str(src), timeout=300)
    assert again.returncode == 0 and "skipped" in again.stdout
    assert len(emulator.files_snapshot()) == 1 and len(emulator.batches_snapshot()) == 1
