"""Provides the help screen (F1, ?): every key of every screen, the state symbols and the filter syntax.

The key list is read from the screens' own BINDINGS, so it cannot fall out of date.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from gembatch_tui.widgets.job_rows import STATE_LOOKS, UNKNOWN_LOOK
from gembatch_tui.widgets.safe_text import safe

KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "escape": "esc",
    "enter": "enter",
    "pageup": "pgup",
    "pagedown": "pgdn",
}
TABLE_KEYS = [
    ("up / down", "Move between jobs"),
    ("pgup / pgdn", "Move a page"),
    ("ctrl+p", "Command palette: every main action by name"),
    ("ctrl+q", "Quit from anywhere"),
]


def _key(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    return ", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in binding.key.split(","))


def _bindings(cls: type) -> list[Binding]:
    return [b for b in Binding.make_bindings(getattr(cls, "BINDINGS", [])) if b.description]


def help_sections(extra: list[tuple[str, type]] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(keys, what they do)]) for every screen, merged by action so aliases share a line.

    `extra` adds (title, screen class) for screens built elsewhere (submit, resources)."""
    from gembatch_tui.app import GembatchApp
    from gembatch_tui.screens.confirm import ConfirmDialog, DeleteDialog
    from gembatch_tui.screens.dashboard import DashboardScreen
    from gembatch_tui.screens.detail import DetailScreen
    from gembatch_tui.widgets.job_table import JobTable

    sections: list[tuple[str, list[tuple[str, str]]]] = []
    screens: list[tuple[str, tuple[type, ...]]] = [
        ("Dashboard", (JobTable, DashboardScreen)),
        ("Job details", (DetailScreen,)),
        ("Delete dialog", (DeleteDialog,)),
        ("Questions", (ConfirmDialog,)),
    ]
    screens += [(title, (cls,)) for title, cls in extra or []]
    screens.append(("Everywhere", (GembatchApp,)))
    for title, classes in screens:
        merged: dict[tuple[str, str], list[str]] = {}
        for cls in classes:
            for b in _bindings(cls):
                desc = b.tooltip or b.description
                merged.setdefault((b.action, desc), []).append(_key(b))
        rows = [(" / ".join(dict.fromkeys(keys)), desc) for (_, desc), keys in merged.items()]
        if title == "Dashboard":
            rows += [(k, d) for k, d in TABLE_KEYS[:2]]
        if title == "Everywhere":
            rows += [(k, d) for k, d in TABLE_KEYS[2:]]
        sections.append((title, rows))
    return sections


def help_renderable(store_path: str = "", extra: list[tuple[str, type]] | None = None) -> Group:
    parts: list[object] = []
    for title, rows in help_sections(extra):
        parts.append(Text(title, style="bold underline"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True, min_width=12)
        grid.add_column()
        for keys, desc in rows:
            grid.add_row(Text(keys, end=""), Text(desc, end=""))
        parts.append(grid)
        parts.append(Text(""))
    parts.append(Text("Job states", style="bold underline"))
    legend = Text()
    for look in [*STATE_LOOKS.values(), UNKNOWN_LOOK]:
        legend.append(f"{look.symbol} {look.label}", style=look.style)
        legend.append("   ")
    parts.append(legend)
    parts.append(Text(""))
    parts.append(Text("Filter (/)", style="bold underline"))
    parts.append(
        Text(
            "Words must all appear in the name, batch, model or input path (any case). "
            "state:running, state:failed,expired, state:active or state:final pick states; "
            "t cycles a state filter; o changes the sort column and O reverses it. "
            "At most 1000 jobs are listed at once: filter to narrow.",
        )
    )
    if store_path:
        parts.append(Text(""))
        parts.append(Text(f"Store: {safe(store_path)}", style="dim"))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    """Every key; escape, q, F1 or ? close it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "close", "Close help", id="help.close"),
        Binding("j,down", "scroll('down')", "Scroll", show=False, id="help.down"),
        Binding("k,up", "scroll('up')", "Scroll", show=False, id="help.up"),
    ]

    def compose(self) -> ComposeResult:
        app = self.app
        store = str(getattr(getattr(app, "store", None), "path", "") or "")
        from gembatch_tui.screens.dashboard import optional_screen

        extra: list[tuple[str, type]] = []
        for name, title in (("submit", "Submit"), ("resources", "Resources")):
            screen = optional_screen(name)
            if screen is not None:
                extra.append((title, screen))
        with Vertical(id="help-box", classes="dialog"):
            yield Label("Keys — gembatch-tui", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(help_renderable(store, extra), markup=False)
        yield Footer(compact=True)

    def action_close(self) -> None:
        self.dismiss()

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        (body.scroll_down if where == "down" else body.scroll_up)(animate=False, immediate=True)
