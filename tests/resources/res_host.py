"""A tiny host app standing in for GembatchApp (service, store, settings, clock), which opens the
resources screen on mount and records the app-level messages it receives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.app import App
from textual.message import Message
from textual.signal import Signal

import gembatch_tui
from gembatch_tui.core.config import Settings
from gembatch_tui.core.cleanup.flags import Inventory
from gembatch_tui.tui.messages import StoreChanged
from gembatch_tui.tui.resources.screen import ResourcesScreen

APP_CSS = Path(gembatch_tui.__file__).parent / "tui" / "app.tcss"


class HostApp(App[None]):
    CSS_PATH = str(APP_CSS)

    def __init__(
        self,
        service: Any,
        clock: Callable[[], datetime],
        *,
        inventory: Inventory | None = None,
        records: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.store = service.store if service is not None else None
        self.settings = Settings(store_path=Path(self.store.path) if self.store else Path("/nonexistent"), bell=False)
        self.clock = clock
        self._inventory = inventory
        self._records = records
        self.jobs_changed: Signal[list[dict[str, Any]]] = Signal(self, "jobs-changed")
        """As GembatchApp: published with every new read of the store."""
        self.received: list[Message] = []

    def on_mount(self) -> None:
        self.push_screen(ResourcesScreen(self._inventory, self._records))

    def on_store_changed(self, message: StoreChanged) -> None:
        self.received.append(message)
