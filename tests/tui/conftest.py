"""Fixtures for the TUI tests: an isolated home in UTC, a real emulator over HTTP on a hand-moved clock,
a service on a tmp store, and a store of fixed sample jobs. Helpers live in tui_helpers.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


from tests.tui.sample_data import sample_records, write_results_files, write_store
from tests.tui.tui_helpers import ManualClock

from gembatch_tui.core.config import Settings
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore


@pytest.fixture(autouse=True)
def _tui_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A private data dir, no real key or base URL, and UTC so that times on screen never vary."""
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(tmp_path / "home"))
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def emu_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(emu_clock: ManualClock) -> Iterator[Any]:
    """The in-process emulator; its jobs take 1.5 s of `emu_clock` time (the test advances it)."""
    from gembatch_tui.emulator import Emulator

    emu = Emulator(api_key="test-key", job_seconds=1.5, clock=emu_clock).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    s = JobStore(tmp_path / "store" / "jobs.jsonl")
    s.ensure()
    return s


@pytest.fixture
def service(emulator: Any, store: JobStore, tmp_path: Path) -> BatchService:
    client = GeminiClient("test-key", base_url=emulator.url, retry_initial_delay=0.05, retry_max_delay=0.2)
    return BatchService(store, client, results_dir=tmp_path / "results")


@pytest.fixture
def settings(store: JobStore) -> Settings:
    return Settings(store_path=store.path, poll_interval=60.0, bell=False)


@pytest.fixture
def batch_file(tmp_path: Path) -> Path:
    path = tmp_path / "input" / "small.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"question {i}"}]}]}} for i in range(3)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


@pytest.fixture
def sample_store(tmp_path: Path) -> JobStore:
    """A store pre-filled with jobs in every state (fixed data, for snapshots and offline checks)."""
    write_results_files()
    path = write_store(tmp_path / "sample" / "jobs.jsonl", sample_records())
    return JobStore(path)


