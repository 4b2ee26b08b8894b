"""Helpers for the TUI tests (a module of its own: every test directory has a `conftest`, so importing
from `conftest` could pick up another directory's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore


def offline_service(store: JobStore) -> BatchService:
    """A service whose client is never called where it is used (nothing listens on port 9)."""
    return BatchService(store, GeminiClient("test-key", base_url="http://127.0.0.1:9", retry_attempts=1))


from tests.manual_clock import ManualClock  # noqa: E402,F401 - re-exported for the tui tests
from tests.pilot_support import screen_text, wait_for  # noqa: E402,F401 - re-exported for the tui tests


def loaded(app: Any, rows: int | None = None) -> Callable[[], bool]:
    """True once the dashboard shows the store as it stands (with `rows` rows, when given): the usage check of
    the first load has finished and no newer view is being computed."""
    from gembatch_tui.tui.dashboard.screen import DashboardScreen
    from gembatch_tui.tui.dashboard.table import JobTable

    def check() -> bool:
        dash = next((s for s in app.screen_stack if isinstance(s, DashboardScreen)), None)
        if dash is None or not dash.settled or not getattr(app, "usage_settled", True):
            return False
        table = dash.query_one(JobTable)
        return rows is None or table.row_count == rows

    return check


def footer_keys(app: Any) -> set[str]:
    """The keys the footer of the current screen shows."""
    from textual.widgets._footer import FooterKey

    return {key.key for key in app.screen.query(FooterKey)}


def flat(text: str) -> str:
    """Screen text with borders removed and all whitespace (including wrapping) collapsed to one space."""
    for ch in "█▀▄▌▐│":
        text = text.replace(ch, " ")
    return " ".join(text.split())


async def open_cancel_dialog(pilot: Any, app: Any, rows: int = 1) -> None:
    """From the dashboard once its `rows` rows are in: c on the highlighted job, until its dialog is up."""
    from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
    from tests.pilot_support import wait_for as wait

    await wait(pilot, loaded(app, rows))
    await wait(pilot, lambda: "c" in footer_keys(app), what="cancel in the footer")
    await pilot.press("c")
    await wait(pilot, lambda: isinstance(app.screen, ConfirmDialog))

