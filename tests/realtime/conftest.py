"""Fixtures for the real-time tests: an input of N numbered questions, the emulator, and a service on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.emulator import Emulator

KEY = "test-key"


def write_input(path: Path, n: int) -> Path:
    """`k{i}` asks `question {i}`: the emulator logs the prompt, so a logged call names its key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"question {i}"}]}]}})
                    + "\n")
    return path


def key_of(prompt: str) -> str:
    return "k" + prompt.removeprefix("question ")


def make_service(emu: Emulator, store_path: Path) -> BatchService:
    client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
    return BatchService(JobStore(store_path), client)


def result_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=3600) as emu:  # a batch job beside a run stays running
        yield emu


@pytest.fixture
def service(emulator: Emulator, tmp_path: Path) -> BatchService:
    return make_service(emulator, tmp_path / "store" / "jobs.jsonl")
