from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "examples"
KEY = "test-key-SECRETVALUE123"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """Copies of the real example inputs, in a directory of their own."""
    d = tmp_path / "inputs"
    d.mkdir()
    if EXAMPLES.is_dir():
        for name in ("basic.jsonl", "structured-output.jsonl"):
            shutil.copy(EXAMPLES / name, d / name)
    else:  # pragma: no cover - shared/ missing: make equivalent files
        for name in ("basic.jsonl", "structured-output.jsonl"):
            (d / name).write_text(
                "".join(f'{{"key": "request_{i}", "request": {{"contents": [{{"parts": [{{"text": "q{i} {name}"}}]}}]}}}}\n' for i in range(1, 6))
            )
    return d


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """Jobs that end in 0.3 s: the tests wait for them; one that must catch a job running starts its own."""
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        yield emu


def make_service(emu: Emulator, store_path: Path, **kw: object) -> BatchService:
    client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
    return BatchService(JobStore(store_path), client, **kw)  # type: ignore[arg-type]


@pytest.fixture
def service(emulator: Emulator, tmp_path: Path) -> BatchService:
    return make_service(emulator, tmp_path / "store" / "jobs.jsonl")
