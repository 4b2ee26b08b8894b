"""Provides the help screen (F1, ?): every key of every screen, the state symbols and the filter syntax.

The key list is read from the screens' own BINDINGS (SECTIONS names the classes), so it cannot fall out of date:
a binding with a description is listed, its tooltip (or description) says what it does.
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

from gembatch_tui.tui.dashboard.rows import STATE_LOOKS, UNKNOWN_LOOK
from gembatch_tui.tui.widgets.safe_text import safe

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


# Every screen's keys, read from these classes' BINDINGS in this order (a class that is not installed is left out).
SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("Dashboard", ("gembatch_tui.tui.dashboard.table:JobTable", "gembatch_tui.tui.dashboard.screen:DashboardScreen")),
    ("Job details", ("gembatch_tui.tui.dashboard.detail:DetailScreen",)),
    ("Results (v on a job)", ("gembatch_tui.tui.results.screen:ResultsScreen",)),
    ("Usage and cost (u)", ("gembatch_tui.tui.dashboard.usage:UsageScreen",)),
    ("Submit (s)", (
        "gembatch_tui.tui.submit.screen:SubmitScreen",
        "gembatch_tui.tui.submit.file_picker:FilePicker",
        "gembatch_tui.tui.submit.marked_list:MarkedList",
        "gembatch_tui.tui.submit.path_input:PathInput",
        "gembatch_tui.tui.submit.options:ModelInput",
        "gembatch_tui.tui.submit.confirm:ConfirmSubmit",
    )),
    ("Resources (b)", (
        "gembatch_tui.tui.resources.screen:ResourcesScreen",
        "gembatch_tui.tui.resources.table:ResourceTable",
    )),
    ("Event log (E)", ("gembatch_tui.tui.event_log:EventsScreen",)),
    ("No API key", ("gembatch_tui.tui.no_key:NoKeyScreen",)),
    ("Delete dialog", ("gembatch_tui.tui.dialogs.delete:DeleteDialog",)),
    ("Questions", ("gembatch_tui.tui.dialogs.confirm:ConfirmDialog",)),
    ("Everywhere", ("gembatch_tui.tui.app:GembatchApp",)),
]
EXTRA_ROWS: dict[str, list[tuple[str, str]]] = {
    "Dashboard": TABLE_KEYS[:2],
    "Submit (s)": [("enter", "On a folder: open it; on a file: submit it (or the marked files)")],
    "Everywhere": TABLE_KEYS[2:],
}


def _load(ref: str) -> type | None:
    from importlib import import_module

    module, _, name = ref.partition(":")
    try:
        return getattr(import_module(module), name, None)
    except ImportError:  # a screen built separately and not installed
        return None


def section_classes(first: type | None = None) -> list[tuple[str, tuple[type, ...]]]:
    """(title, classes) of every section whose classes can be imported; the section of screen class `first`
    (the screen F1 was pressed on) comes first."""
    out = []
    for title, refs in SECTIONS:
        classes = tuple(c for c in (_load(r) for r in refs) if c is not None)
        if classes:
            out.append((title, classes))
    if first is not None:
        out.sort(key=lambda section: not any(issubclass(first, c) for c in section[1]))
    return out


def help_sections(first: type | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(keys, what they do)]) for every screen, merged by action so aliases share a line."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for title, classes in section_classes(first):
        merged: dict[tuple[str, str], list[str]] = {}
        for cls in classes:
            for b in _bindings(cls):
                desc = b.tooltip or b.description
                merged.setdefault((b.action, desc), []).append(_key(b))
        rows = [(" / ".join(dict.fromkeys(keys)), desc) for (_, desc), keys in merged.items()]
        rows += EXTRA_ROWS.get(title, [])
        sections.append((title, rows))
    return sections


def help_renderable(store_path: str = "", first: type | None = None) -> Group:
    parts: list[object] = []
    for title, rows in help_sections(first):
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
    legend.append("RT name: a real-time run (generateContent, interactive prices)", style="bold magenta")
    parts.append(legend)
    parts.append(Text(""))
    parts.append(Text("Filter (/)", style="bold underline"))
    parts.append(
        Text(
            "Words must all appear in the name, batch, model or input path (any case). "
            "state:running, state:queued, state:failed,expired, state:active or state:final pick states; "
            "t cycles a state filter; o changes the sort column and O reverses it. "
            "A split job (▸ name 3 parts) is one row: it matches when any of its parts does, and space "
            "shows its parts. At most 1000 rows are listed at once: filter to narrow.",
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
        Binding("pagedown,space", "scroll('page_down')", "Page down", show=False, id="help.page_down"),
        Binding("pageup", "scroll('page_up')", "Page up", show=False, id="help.page_up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="help.top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="help.bottom"),
    ]

    def __init__(self, first: type | None = None) -> None:
        super().__init__()
        self.first = first
        """The class of the screen F1 was pressed on: its keys are listed first."""

    def compose(self) -> ComposeResult:
        app = self.app
        store = str(getattr(getattr(app, "store", None), "path", "") or "")
        with Vertical(id="help-box", classes="dialog"):
            yield Label("Keys — gembatch-tui", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(help_renderable(store, self.first), markup=False)
        yield Footer(compact=True)

    def action_close(self) -> None:
        self.dismiss()

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if where in ("page_down", "page_up"):
            (body.scroll_page_down if where == "page_down" else body.scroll_page_up)(animate=False)
            return
        move = {"down": body.scroll_down, "up": body.scroll_up, "home": body.scroll_home, "end": body.scroll_end}
        move[where](animate=False, immediate=True)
