"""Provides AppHost: what a screen may ask of the App (records, store, service, clock, settings, the signals the
App publishes, polling and the job questions), as a Protocol.

Why: screens typed against GembatchApp imported the module that imports them (a cycle); with this small surface
the App knows its screens and the screens know only this.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.signal import Signal

    from gembatch_tui.core.config import Settings
    from gembatch_tui.core.models import Record
    from gembatch_tui.core.submit.service import BatchService
    from gembatch_tui.core.store import JobStore


class AppHost(Protocol):
    service: BatchService | None
    store: JobStore
    settings: Settings
    records: list[Record]
    loaded: bool
    missing_key: bool
    demo_seed_done: bool
    clock: Callable[[], datetime]
    jobs_changed: Signal[list[Record]]
    """Every new read of the store."""
    poll_status_changed: Signal[Any]
    durations_ticked: Signal[datetime]
    poll_errors_changed: Signal[None]
    poll_passed: Signal[None]
    poll_errors: dict[str, tuple[datetime, str]]

    def record(self, key: str | None) -> Record | None: ...

    def poll_now(self) -> None: ...

    def poll_status_text(self) -> Any: ...

    def record_event(self, message: str, *, title: str = "", severity: str = "information") -> Any: ...

    def say(self, message: str, *, title: str = "", severity: str = "information") -> None: ...

    def request_cancel(self, key: str) -> None: ...

    def request_cancel_group(self, keys: list[str], label: str) -> None: ...

    def request_delete(self, key: str) -> None: ...

    def request_delete_group(self, keys: list[str], label: str) -> None: ...

    def request_quit(self) -> None: ...

    # What the command palette asks of any Textual App.
    def run_action(self, action: str) -> Any: ...

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any: ...
