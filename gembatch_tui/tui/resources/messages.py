"""Provides the messages the resources screen's workers post (past tense: they report what happened)."""

from __future__ import annotations

from textual.message import Message

from gembatch_tui.core.cleanup.plan import ActionResult
from gembatch_tui.core.models import Record
from gembatch_tui.core.cleanup.flags import Inventory
from gembatch_tui.core.cleanup.remote import CancelOutcome


class WorkProgressed(Message):
    """How far a listing or a deletion has got; only the latest one matters."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WorkProgressed)


class InventoryLoaded(Message):
    """A listing or re-classification finished; `note` says what happened (shown in the status line)."""

    def __init__(self, inventory: Inventory, records: list[Record], note: str = "") -> None:
        super().__init__()
        self.inventory, self.records, self.note = inventory, records, note


class ResourcesDeleted(Message):
    """A deletion ran: one result per item, and what was kept (refused) instead."""

    def __init__(self, results: list[ActionResult], refused: list[str]) -> None:
        super().__init__()
        self.results, self.refused = results, refused


class JobsAdopted(Message):
    def __init__(self, names: list[str], errors: list[str]) -> None:
        super().__init__()
        self.names, self.errors = names, errors


class ActiveJobsCancelled(Message):
    """Cancel-all ran: one outcome a job tried, and why each job the question promised was not tried."""

    def __init__(self, outcomes: list[CancelOutcome], skipped: list[str] | None = None) -> None:
        super().__init__()
        self.outcomes = outcomes
        self.skipped = skipped or []


__all__ = ["ActiveJobsCancelled", "InventoryLoaded", "JobsAdopted", "ResourcesDeleted", "WorkProgressed"]
