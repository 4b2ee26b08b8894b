"""Provides PrepareDialog: turn a table (CSV, TSV, JSON list of objects) into a batch file from the submit screen.

It asks what `gembatch-tui prepare` takes (the prompt template with {column} fields, the id column, an optional
system instruction and JSON Schema file) and dismisses with a PrepareRequest, or None; the screen runs the
prepare in a worker. Keyboard only: tab moves between fields, enter or ctrl+s prepares, escape cancels. The
template is checked here (a clear line under the fields, never a traceback); what needs the file (rows, the
schema) is reported by the run.

Why the dialog checks for an existing batch file itself: the run's refusal (core/prepare/build) is worded for the
command line ("pass --force"), and here the way to replace it is the dialog's own checkbox, which the message
names and the focus moves to.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Footer, Input, Label, Static

from gembatch_tui.core.prepare import template
from gembatch_tui.core.prepare.build import output_paths
from gembatch_tui.tui.submit.prepare_run import PrepareRequest
from gembatch_tui.tui.widgets.safe_text import safe

FIELDS = (
    ("template", "Template", "the prompt: Summarise {title}: {body}"),
    ("id_column", "ID column", "the column that keys each request (empty: the row number)"),
    ("system", "System", "optional system instruction for every request"),
    ("schema", "Schema", "optional JSON Schema file: structured answers"),
)


class PrepareDialog(ModalScreen[PrepareRequest | None]):
    """Prepare DATA as a batch file? enter / ctrl+s prepares, escape cancels, tab moves between the fields."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "prepare", "Prepare", tooltip="Write <name>.batch.jsonl from the table and mark it",
                id="prepare.run"),
        Binding("escape", "cancel", "Cancel", tooltip="Back to the files, nothing written", id="prepare.cancel"),
        Binding("tab", "app.focus_next", "Next field", show=False),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False),
    ]

    DEFAULT_CSS = """
    PrepareDialog {
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
        #prepare-title { text-style: bold; }
        #prepare-columns, #prepare-keys { color: $text-muted; }
        .prepare-row { height: 1; margin-top: 1; }
        .prepare-row > Label { width: 11; color: $text-muted; }
        .prepare-row > Input { width: 1fr; }
        .prepare-row > Input:focus { background-tint: $accent 30%; }
        #prepare-replace { margin-top: 1; border: none; padding: 0; height: 1; }
        #prepare-error { color: $error; }
    }
    """

    def __init__(self, data: Path, label: str, columns: list[str] | None, problem: str | None = None,
                 last: PrepareRequest | None = None) -> None:
        super().__init__()
        self.data = data
        """The table to prepare."""
        self._label = label
        self._columns = columns
        self._problem = problem
        self._last = last

    def compose(self) -> ComposeResult:
        last = self._last
        batch = PrepareRequest(self.data, "").batch
        with Vertical():
            yield Static(Text(safe(f"Prepare {self._label} as a batch file")), id="prepare-title")
            yield Static(Text(safe(self._columns_line(), multiline=True)), id="prepare-columns")
            for name, label, placeholder in FIELDS:
                with Horizontal(classes="prepare-row"):
                    yield Label(label, markup=False)
                    field = Input(getattr(last, name, "") if last else "", placeholder=placeholder,
                                  compact=True, id=f"prepare-{name.replace('_', '-')}")
                    field.cursor_blink = False
                    yield field
            yield Checkbox(self._replace_label(batch), bool(last and last.replace), id="prepare-replace")
            yield Static("", id="prepare-error", markup=False)
            yield Static(Text(f"enter: write {batch.name} and mark it · tab: next · esc: cancel"),
                         id="prepare-keys")
        yield Footer()

    @staticmethod
    def _replace_label(batch: Path) -> str:
        return f"Replace {batch.name} if it exists"

    def _columns_line(self) -> str:
        if self._problem:
            return self._problem
        if self._columns is None:
            return "Records of a JSON list: {field} names a key of each record"
        shown = ", ".join(self._columns[:12]) + (f", … ({len(self._columns)} in all)" if len(self._columns) > 12
                                                  else "")
        return f"Columns: {shown}"

    def on_mount(self) -> None:
        self.query_one("#prepare-template", Input).focus()

    def _value(self, name: str) -> str:
        return self.query_one(f"#prepare-{name.replace('_', '-')}", Input).value

    def request(self) -> PrepareRequest:
        """The fields as they are now."""
        return PrepareRequest(self.data, self._value("template"), self._value("id_column"), self._value("system"),
                              self._value("schema"), self.query_one("#prepare-replace", Checkbox).value)

    def problem(self, request: PrepareRequest) -> str | None:
        """What is wrong with the fields that can be told without reading a file, or None."""
        if not request.template.strip():
            return "Template: write the prompt, with {column} for a column's value"
        try:
            parsed = template.parse(request.template, "Template")
        except template.TemplateError as exc:
            return str(exc)
        if self._columns is not None:
            wanted = [*parsed.fields, *([request.id_column.strip()] if request.id_column.strip() else [])]
            missing = [name for name in dict.fromkeys(wanted) if name not in self._columns]
            if missing:
                return f"no column {missing[0]!r} in {self._label}; the columns are listed above"
        return None

    def existing_output(self, request: PrepareRequest) -> str | None:
        """Why the run would refuse to write (the batch file or its key map is there and Replace is not ticked),
        in the dialog's words, or None."""
        if request.replace:
            return None
        batch = request.batch
        for path in output_paths(self.data.absolute(), None):
            if path.exists() or path.is_symlink():
                return (f"{path.name} already exists; to replace it, tick \"{self._replace_label(batch)}\" (space) "
                        "and press ctrl+s")
        return None

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_prepare()

    def action_prepare(self) -> None:
        request = self.request()
        why = self.problem(request)
        exists = self.existing_output(request) if why is None else None
        why = why or exists
        if why is not None:
            self.query_one("#prepare-error", Static).update(Text(safe(why)))
            if exists:
                self.query_one("#prepare-replace", Checkbox).focus()  # space ticks it, ctrl+s then prepares
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["PrepareDialog"]
