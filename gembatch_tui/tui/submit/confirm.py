"""Provides ConfirmSubmit: a y/n question before anything is sent, because a submit costs money.

It names every marked file under what the run will do with it (submit, skip as a duplicate of a job, refuse and
why), with counts, the model and the cost of what is sent, and dismisses with True (submit) or False (back to the
screen, nothing done). A long list scrolls inside the dialog, so it fits 80x24 with any number of files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from gembatch_tui.core.api.pricing import format_cost
from gembatch_tui.tui.submit.plan import REFUSE, SKIP, SubmitPlan
from gembatch_tui.tui.widgets.safe_text import safe

ICONS = {"submit": "↑", SKIP: "=", REFUSE: "✗"}


class ConfirmSubmit(ModalScreen[bool]):
    """Submit these files? y / enter = yes, n / escape = no; up/down/pgup/pgdn scroll the list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Submit", tooltip="In the confirm dialog: submit the files",
                id="confirm-submit.yes"),
        Binding("n,escape,q", "answer(False)", "Back", tooltip="In the confirm dialog: back, nothing is sent",
                id="confirm-submit.no"),
    ]

    DEFAULT_CSS = """
    ConfirmSubmit {
        align: center middle;
        & > Vertical {
            width: 76;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $accent;
            background: $surface;
            padding: 0 1;
        }
        #confirm-title { text-style: bold; }
        #confirm-counts { color: $text; }
        #confirm-head { color: $text-muted; }
        #confirm-scroll { height: auto; max-height: 55vh; scrollbar-size-vertical: 1; }
        #confirm-scroll:focus { background-tint: $foreground 3%; }
        #confirm-keys { color: $text-muted; }
        & > .confirm--submit { color: $success; }
        & > .confirm--skip { color: $warning; }
        & > .confirm--refuse { color: $error; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"confirm--submit", "confirm--skip", "confirm--refuse"}

    def __init__(self, plan: SubmitPlan, label: Callable[[Path], str]) -> None:
        super().__init__()
        self.plan = plan
        """What the run will do with each file (built by plan.build_plan in a worker)."""
        self._label = label

    def compose(self) -> ComposeResult:
        plan = self.plan
        request = plan.request
        head = [plan.totals_line] if plan.totals_line else []
        head.append(f"Model: {request.model} · Duplicates: {'submitted again' if request.force else 'skipped'}")
        if plan.cap is not None:
            head.append(f"Cost cap: {format_cost(plan.cap)} (max_cost_usd); a file that would pass it is refused")
        with Vertical():
            yield Static(Text(plan.title()), id="confirm-title")
            yield Static(Text(plan.counts_line()), id="confirm-counts")
            yield Static(Text(safe("\n".join(head), multiline=True)), id="confirm-head")
            with VerticalScroll(id="confirm-scroll"):
                yield Static("", id="confirm-body")
            yield Static(Text(self._keys()), id="confirm-keys")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-body", Static).update(self._body())
        # focused, up/down/pgup/pgdn scroll a long list; y, enter, n and escape still answer
        self.query_one("#confirm-scroll", VerticalScroll).focus()

    def _body(self) -> Text:
        out = Text()
        for kind, heading, rows in self.plan.sections():
            style = self.get_component_rich_style(f"confirm--{kind}", partial=True)
            if out:
                out.append("\n")
            out.append(heading + "\n", style="bold")
            for path, note in rows:
                out.append(f" {ICONS[kind]} ", style=style)
                out.append(safe(self._label(path)))
                if note:
                    out.append(f"  {safe(note)}", style="" if kind == "submit" else style)
                out.append("\n")
        out.rstrip()
        return out

    def _keys(self) -> str:
        if self.plan.to_submit == 0:
            return "n / escape: back (nothing would be sent)"
        return "y / enter: submit    n / escape: back    ↑↓ pgup pgdn: scroll"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer" and parameters and parameters[0] is True:
            return self.plan.to_submit > 0
        return True

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


__all__ = ["ConfirmSubmit"]
