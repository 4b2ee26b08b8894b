"""A tiny host app for ResultsScreen: the attributes the screen uses (store, service, settings, clock), no poller."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from textual.app import App

from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.results.screen import ResultsScreen

FIXED_NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


class FakeService:
    """Records submit calls; answers like BatchService.submit."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.calls: list[dict[str, Any]] = []

    def submit(self, path: Path, **kw: Any) -> Any:
        from gembatch_tui.core.submit.outcome import SubmitOutcome

        self.calls.append({"path": Path(path), **kw})
        self.store.add({"input_file": str(path), "batch": {"name": "batches/retry1"}, **(kw.get("extra") or {})})
        return SubmitOutcome(Path(path), "submitted", batch_name="batches/retry1", request_count=2)

    def duplicate_of(self, path: Path, sha256: str | None) -> None:
        return None


class ResultsHost(App[None]):
    """Pushes ResultsScreen(record) on mount."""

    def __init__(self, record: dict[str, Any], store: JobStore, service: Any = None) -> None:
        super().__init__()
        self.record = record
        self.store = store
        self.service = service
        self.settings = Settings(store_path=store.path, bell=False)
        self.clock = lambda: FIXED_NOW
        self.store_changes: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(ResultsScreen(self.record))

    def on_store_changed(self, message: Any) -> None:
        self.store_changes.append(message.reason)
