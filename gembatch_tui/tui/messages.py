"""Provides the app-wide messages that workers and screens post (past tense: they report what happened)."""

from __future__ import annotations

from textual.message import Message


class StoreChanged(Message):
    """Something wrote to the job store (a submit, a delete, an import): views should reload from it."""

    def __init__(self, reason: str = "") -> None:
        super().__init__()
        self.reason = reason


class JobsSubmitted(Message):
    """A submit worker finished; `names` are the new batch names (may be empty when all were skipped)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names
