"""Fixtures for the submit screen: a real emulator, the real service and store, and a tiny host app.

The host app stands in for GembatchApp (it has `service`, `store`, `settings`, `clock`) so these tests do not
depend on app.py. It records the app-level messages the screen posts (JobsSubmitted, StoreChanged).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.message import Message

from gembatch_tui.core.config import Settings
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.messages import JobsSubmitted, StoreChanged
from gembatch_tui.tui.submit.screen import SubmitScreen

EXAMPLES = Path("/work/shared/examples")

BROKEN = (
    '{"key": "a", "request": {"contents": [{"parts": [{"text": "fine"}]}]}}\n'
    "{not json}\n"
    '{"key": "a", "request": {"contents": []}}\n'
)


class HostApp(App[None]):
    """The smallest app the submit screen needs."""

    def __init__(self, service: Any, store: JobStore, settings: Settings, start_dir: Path | None,
                 marked: list[Path] | None = None) -> None:
        super().__init__()
        self.marked = marked
        self.service = service
        self.store = store
        self.settings = settings
        self.clock = time.time
        self.start_dir = start_dir
        self.received: list[Message] = []
        self.events: list[str] = []
        """What the screen put in the session's log (the real app's EventsOwner.record_event)."""

    def on_mount(self) -> None:
        self.push_screen(SubmitScreen(self.start_dir, marked=self.marked))

    def record_event(self, message: str, *, title: str = "", severity: str = "information") -> None:
        self.events.append(message)

    def on_jobs_submitted(self, message: JobsSubmitted) -> None:
        self.received.append(message)

    def on_store_changed(self, message: StoreChanged) -> None:
        self.received.append(message)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """tmp/batches with the two shared examples and one broken file (a bad JSON line, an empty and a repeated key)."""
    folder = tmp_path / "batches"
    folder.mkdir()
    for name in ("basic.jsonl", "structured-output.jsonl"):
        shutil.copyfile(EXAMPLES / name, folder / name)
    (folder / "broken.jsonl").write_text(BROKEN, encoding="utf-8")
    return folder


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        kwargs.setdefault("job_seconds", 1.0)
        emu = Emulator(api_key="test-key", **kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory()


@pytest.fixture
def make_host(tmp_path: Path) -> Callable[..., HostApp]:
    def make(emu: Emulator | None, start_dir: Path | None, *, model: str = "gemini-2.5-flash",
             marked: list[Path] | None = None) -> HostApp:
        store = JobStore(tmp_path / "store" / "jobs.jsonl")
        base_url = emu.url if emu is not None else "http://127.0.0.1:9"  # never contacted without an emulator
        client = GeminiClient("test-key", base_url=base_url, retry_initial_delay=0.05, retry_max_delay=0.2)
        service = BatchService(store, client)
        settings = Settings(store_path=store.path, default_model=model, config_path=tmp_path / "no-config.json")
        return HostApp(service, store, settings, start_dir, marked)

    return make
