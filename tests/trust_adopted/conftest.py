"""Fixtures for jobs that reach the store without being submitted here (imported, adopted): an emulator on a
manual clock, the real google-genai SDK to create jobs on it, and a BatchService over its own store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from google import genai

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from tests.manual_clock import ManualClock

KEY = "test-key-adopted-SECRET42"
JOB_SECONDS = 60.0
MODEL = "gemini-2.5-flash"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=JOB_SECONDS, clock=clock) as emulator:
        yield emulator


@pytest.fixture
def sdk(emu: Emulator) -> genai.Client:
    """The real SDK, as another tool (gembatch, a notebook) would have used it to create the jobs."""
    return genai.Client(api_key=KEY, http_options={"base_url": emu.url})


def make_service(emu: Emulator, store_path: Path, **kw: object) -> BatchService:
    client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
    return BatchService(JobStore(store_path), client, **kw)  # type: ignore[arg-type]


@pytest.fixture
def service(emu: Emulator, tmp_path: Path) -> BatchService:
    return make_service(emu, tmp_path / "store" / "jobs.jsonl")


def finish_jobs(clock: ManualClock) -> None:
    """Move the emulator's clock past every job's end: they are SUCCEEDED on the next read."""
    clock.advance(JOB_SECONDS + 1)
