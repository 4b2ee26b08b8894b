"""Provides the command palette's gembatch commands (ctrl+p): every action of the current screen and row, by name.

How: the keys live in the screens' BINDINGS, so the palette reads the bindings that are live on the screen it
was opened on (its check_action decides, as for the footer): on a running row it offers "Cancel", on a succeeded
one "Results", in the results browser "Export". A few commands have no key of their own on that screen and are
added by name (usage totals, clean-up, event log, help, quit). Each title appears once; Textual's own
commands and its widgets' own keys (cursor, paging, copy) are left out; the theme switch is one of ours (kept for
the next start: theme_memory.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from gembatch_tui.tui.host import AppHost

KEY_NAMES = {"slash": "/", "escape": "esc", "enter": "enter", "question_mark": "?", "space": "space"}
SKIP_ACTIONS = {"help", "app.help", "quit", "app.quit", "command_palette", "app.command_palette", "events"}
"""Added by name below, once (so no second "Quit" or "Help")."""
TITLES = {
    "cancel_job": "Cancel job",
    "delete_job": "Delete job",
    "view_results": "Results: browse the job's answers",
    "retry_parts": "Retry failed parts",
    "poll_now": "Poll now",
    "submit": "Submit files",
    "resources": "Remote resources (files and jobs of this key)",
    "filter": "Filter jobs",
    "cycle_state": "State filter",
    "sort": "Sort jobs",
    "reverse_sort": "Reverse sort",
    "usage": "Usage and cost: tokens and price of every job",
}
"""Fuller titles for the dashboard's short footer labels (the palette has room); other screens keep their own."""

Command = tuple[str, str, Callable[[], Any]]


def _key(key: str) -> str:
    return KEY_NAMES.get(key, key)


def _textual_own(binding: Any, node: Any) -> bool:
    """A binding a Textual widget brings itself (cursor up, page down, copy...): keys of every list and field,
    not actions of this app; listed, they filled three pages of the palette before the first of ours."""
    for cls in type(node).__mro__:
        if cls.__module__.startswith("textual.") and any(
                (getattr(b, "action", None), getattr(b, "description", None)) == (binding.action, binding.description)
                for b in cls.__dict__.get("BINDINGS", ())):
            return True
    return False


def _moves(action: str) -> bool:
    """A key that moves the cursor or the view (j, k, g, G, pgdn...): a key, not a command to look up by name."""
    return action.startswith(("cursor_", "scroll_", "page_")) or action in ("app.focus_next", "app.focus_previous")


def screen_commands(app: AppHost, screen: Any) -> list[Command]:
    """The live, described bindings of `screen` (its focused widget's, its own), as palette commands."""
    from gembatch_tui.tui.dashboard.screen import DashboardScreen

    out: list[Command] = []
    seen: set[str] = set()
    dashboard = isinstance(screen, DashboardScreen)  # TITLES speak of jobs: the results screen's / filters rows
    try:
        active = screen.active_bindings
    except Exception:  # noqa: BLE001 - a screen being torn down: no commands from it
        return out
    for key, active_binding in active.items():
        binding, node = active_binding.binding, active_binding.node
        if not binding.description or not active_binding.enabled or binding.system:
            continue
        if binding.action in SKIP_ACTIONS or node is app or _textual_own(binding, node) or _moves(binding.action):
            continue
        title = TITLES.get(binding.action, binding.description) if dashboard else binding.description
        if title in seen:
            continue
        seen.add(title)
        help_text = f"{binding.tooltip or binding.description} ({binding.key_display or _key(key)})"

        def run(action: str = binding.action, target: Any = node) -> Any:
            return app.run_action(action, target)

        out.append((title, help_text, run))
    return out


def named_commands(app: AppHost, screen: Any) -> list[Command]:
    """Commands that are not a key of this screen: usage totals, clean-up, export hint, events, help, quit."""
    from gembatch_tui.tui.optional_screens import has_screen
    from gembatch_tui.tui.dashboard.screen import DashboardScreen

    out: list[Command] = []
    if isinstance(screen, DashboardScreen):
        out.append(("Usage and cost: tokens and price of every job", "Every job's tokens and cost, and the store's "
                    "total (u)", screen.action_usage))
        if app.service is not None and has_screen("resources"):
            out.append(("Clean up remote files and jobs", "Open Remote resources with the safe set selected (b, u)",
                        screen.open_clean_up))
        if screen.check_action("view_results", ()):
            out.append(("Export results (JSONL or CSV)", "Open the results of this job; x writes JSONL, X CSV",
                        screen.open_export))
    settings = getattr(app, "settings", None)
    profiles = getattr(settings, "profiles", None)
    if profiles and not getattr(settings, "demo", False) and hasattr(app, "switch_profile"):
        for name in ["default", *profiles]:
            has_key = bool(profiles[name].key()) if name in profiles else bool(settings.default_key)
            if name == settings.profile or not has_key:  # a profile whose key is not set cannot submit
                continue
            env = profiles[name].key_env if name in profiles else "GOOGLE_API_KEY / GEMINI_API_KEY"
            out.append((f"Profile: {name}", f"Submit with the key in {env} (the app starts again; every "
                        "job of a key that is set is polled either way)",
                        lambda n=name: app.switch_profile(n)))  # type: ignore[attr-defined]
    out.append(("Event log", "Every event of this session (E)", app.action_events))
    out.append(("Theme: change the colours", "Pick a theme; it is kept for the next start (ui.json)",
                app.action_change_theme))
    out.append(("Help: keys of this screen", "Every key and what it does (F1, ?)", app.action_help))
    out.append(("Quit", "Leave gembatch-tui (q on the dashboard, ctrl+q anywhere)", app.request_quit))
    return out


class GembatchCommands(Provider):
    """Every action of the screen the palette was opened on, by name."""

    def _commands(self) -> list[Command]:
        app: AppHost = self.app  # type: ignore[assignment]
        commands = screen_commands(app, self.screen)
        titles = {c[0] for c in commands}
        commands += [c for c in named_commands(app, self.screen) if c[0] not in titles]
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
