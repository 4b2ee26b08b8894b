"""Provides the command palette's gembatch commands (ctrl+p): poll, submit, filter, sort, help, resources, quit.

Every command calls the same app method as its key, so the palette and the keyboard cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from gembatch_tui.app import GembatchApp


class GembatchCommands(Provider):
    """The main actions of the app, by name."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        from gembatch_tui.screens.dashboard import has_screen

        app: GembatchApp = self.app  # type: ignore[assignment]
        dash = app.show_dashboard
        commands: list[tuple[str, str, Callable[[], Any]]] = [
            ("Poll now", "Refresh every unfinished job and fetch new results (r)", app.poll_now),
            ("Filter jobs", "Show only jobs matching text or state:running (/)", lambda: dash().action_filter()),
            ("Sort jobs", "Sort by the next column (o)", lambda: dash().action_sort()),
            ("Help", "Every key and what it does (F1, ?)", app.action_help),
            ("Quit", "Leave gembatch-tui (q)", app.exit),
        ]
        if app.service is not None and has_screen("submit"):
            commands.insert(1, ("Submit files", "Validate and submit JSONL batch files (s)",
                                lambda: dash().action_submit()))
        if app.service is not None and has_screen("resources"):
            commands.insert(-2, ("Resources", "Remote batch jobs and files of this key (b)",
                                 lambda: dash().action_resources()))
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
