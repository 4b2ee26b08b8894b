"""Fixtures for the "results are never lost / leftovers are swept" tests: an emulator whose clock the test moves
(so a job finishes exactly when the test says), a service on it over real HTTP, and a job taken to downloaded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.models import SUCCEEDED, Record, record_state
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from tests.manual_clock import ManualClock

KEY = "test-key-TRUSTRESULTS-0123456789"
MODEL = "gemini-2.5-flash"
JOB_SECONDS = 10.0


def write_input(path: Path, n: int = 5, text: str = "q") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"{text}{i}"}]}]}}) + "\n")
    return path


def make_service(emu: Emulator, store_path: Path, **kw: object) -> BatchService:
    client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.02, retry_max_delay=0.05)
    return BatchService(JobStore(store_path), client, **kw)  # type: ignore[arg-type]


@dataclass
class World:
    emu: Emulator
    clock: ManualClock
    service: BatchService
    inputs: Path

    def remote_files(self) -> set[str]:
        return {f["name"] for f in self.emu.files_snapshot()}

    def downloaded(self, name: str = "basic.jsonl", n: int = 5) -> Record:
        """Submit a fresh input, let the emulator finish it, poll once: the record with its results on disk."""
        out = self.service.submit(write_input(self.inputs / name, n), model=MODEL)
        assert out.status == "submitted", out.message
        self.clock.advance(JOB_SECONDS * 3)
        report = poll_once(self.service)
        assert not report.failed, report
        rec = self.service.store.find_by_batch_name(out.batch_name or "")
        assert rec is not None and record_state(rec) == SUCCEEDED and rec.get("results_verified"), rec
        return rec


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = ManualClock()
    with Emulator(api_key=KEY, job_seconds=JOB_SECONDS, clock=clock) as emu:
        yield World(emu, clock, make_service(emu, tmp_path / "store" / "jobs.jsonl"), tmp_path / "inputs")
