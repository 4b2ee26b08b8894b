"""Provides the delete dialog: choose what goes (b/i/o/l), see the exact plan, confirm with y.

One job, or every part of a split input at once (the dashboard's group row). The plan shown is exactly
`cleanup.plan_delete` for each record with the options ticked, and results that are not downloaded are
never included unless a second question naming that risk was answered yes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from gembatch_tui.core.models import Record, batch_name, display_name, record_key, record_state, short_state
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.widgets.safe_text import safe

LISTED = 12
"""At most this many planned deletions are listed one by one (a group of many parts says how many more)."""


def cleanup_rules():  # noqa: ANN202
    """core.cleanup pulls in the whole service stack (~70 ms): import it when a dialog first needs it."""
    from gembatch_tui.core.cleanup import plan as cleanup

    return cleanup


_NOT_DOWNLOADED = ("results not downloaded yet", "The results are not downloaded yet")
_REMOVED = ("saved results removed since", "The results file saved here was removed since it was verified")
_CHANGED = ("saved results changed since", "The results file saved here changed since it was verified")
_UNSAFE = ("results not safely on disk", "The results are not safely on disk")


def _unsaved_why(problems: list[str]) -> tuple[str, str]:
    """(a few words, a sentence) for why results are not safely on disk, from cleanup's sentences
    (results_problem): the local copy was never made, or it is gone or changed since it was verified (then the
    remote copy may be the only one left). ("", "") when there is no problem."""
    if not problems:
        return "", ""
    if all(p == "results are not downloaded yet" for p in problems):
        return _NOT_DOWNLOADED
    if any(" is missing since it was verified" in p for p in problems):
        return _REMOVED
    if any(" changed since it was verified" in p for p in problems):
        return _CHANGED
    return _UNSAFE


@dataclass(frozen=True)
class DeleteRequest:
    """What the user chose to delete for one job or every part of a group (the dialog's result)."""

    keys: tuple[str, ...]
    remote_job: bool = True
    input_file: bool = True
    output_file: bool = True
    local_record: bool = False
    allow_unsaved_results: bool = False

    @property
    def key(self) -> str:
        return self.keys[0]

    def plan(self, records: list[Record]):  # noqa: ANN201 - cleanup.DeletePlan
        """The deletions for these records (as they are now), in record order."""
        cleanup = cleanup_rules()
        out = cleanup.DeletePlan()
        for record in records:
            one = cleanup.plan_delete(
                record,
                remote_job=self.remote_job,
                input_file=self.input_file,
                output_file=self.output_file,
                local_record=self.local_record,
                allow_unsaved_results=self.allow_unsaved_results,
            )
            out.actions.extend(one.actions)
            out.refused.extend(one.refused)
        return out


KINDS = {"remote_job": "batch", "input_file": "input", "output_file": "output", "local_record": "record"}
"""Each dialog option and the cleanup.Action kind it adds."""
OPTIONS = [
    ("b", "remote_job", "remote batch job"),
    ("i", "input_file", "uploaded input file"),
    ("o", "output_file", "remote results file"),
    ("l", "local_record", "local record (this row)"),
]


def _bullets(body: Text, lines: list[str], style: str) -> None:
    for line in lines[:LISTED]:
        body.append(f"  • {safe(line)}\n", style=style)
    if len(lines) > LISTED:
        body.append(f"  … and {len(lines) - LISTED} more\n", style=style)


def count_actions(actions: list) -> list[str]:  # noqa: ANN001 - cleanup.Action
    """`4 remote batch jobs (1 of an earlier attempt)`, one line per kind, in the order kinds first appear."""
    lines = []
    for kind in dict.fromkeys(a.kind for a in actions):
        same = [a for a in actions if a.kind == kind]
        noun = cleanup_rules().KIND_NOUNS.get(kind, kind)
        line = f"{len(same)} {noun}{'s' if len(same) != 1 and not noun.endswith('s') else ''}"
        earlier = sum(1 for a in same if getattr(a, "attempt", None) is not None)
        if earlier:
            line += f" ({earlier} of {'an earlier attempt' if earlier == 1 else 'earlier attempts'})"
        lines.append(line)
    return lines


class DeleteDialog(ModalScreen[DeleteRequest | None]):
    """Choose what to delete (b/i/o/l), see the exact plan, confirm with y."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Delete", id="delete.yes"),
        Binding("n", "decline", "Keep all", id="delete.no"),
        Binding("escape", "decline", "Keep all", show=False, id="delete.escape"),
        Binding("q", "decline", "Keep all", show=False, id="delete.q"),
        Binding("b", "toggle('remote_job')", "Job", tooltip="Toggle the remote batch job", id="delete.job"),
        Binding("i", "toggle('input_file')", "Input", tooltip="Toggle the uploaded input file", id="delete.input"),
        Binding("o", "toggle('output_file')", "Output", tooltip="Toggle the remote results file", id="delete.output"),
        Binding("l", "toggle('local_record')", "Record", tooltip="Toggle the local record", id="delete.record"),
    ]

    def __init__(self, record: Record | list[Record], *, label: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.records = list(record) if isinstance(record, list) else [record]
        """The job or the group's parts, as they were when the dialog opened."""
        self.label = label
        """How a group is named in the title line (None: one job, named by its record)."""
        cleanup = cleanup_rules()
        problems = [problem for r in self.records if (problem := cleanup.results_problem(r)) is not None]
        self.unsaved_ok = not problems
        self.unsaved_why, self.unsaved_sentence = _unsaved_why(problems)
        """Why the results are not safely on disk, in a few words and as a sentence ("" when they are)."""
        # One default with the CLI's delete: the local record goes too when nothing remote is left to protect
        # (a `not sent` row: d, y removes it); with results not safely on disk it stays, as the remote output does.
        self.choice = DeleteRequest(keys=tuple(record_key(r) for r in self.records), output_file=self.unsaved_ok,
                                    local_record=self.unsaved_ok)
        """The options as currently ticked."""

    @property
    def record(self) -> Record:
        return self.records[0]

    def compose(self) -> ComposeResult:
        title = "Delete this job?" if self.label is None else f"Delete all {len(self.records)} parts?"
        with Vertical(classes="dialog"):
            yield Label(title, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-scroll"):  # a small terminal scrolls the plan; keys stay in the footer
                yield Static("", id="delete-plan", classes="dialog-body", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_plan()
        self.query_one(".dialog-scroll", VerticalScroll).focus()  # up/down/pgup/pgdn scroll; the letters still act

    def _heading(self, body: Text) -> None:
        if self.label is None:
            rec = self.record
            body.append(safe(display_name(rec)), style="bold")
            body.append(f"  {safe(batch_name(rec) or '')}  ({short_state(record_state(rec)).lower()})\n\n")
            return
        states = sorted({short_state(record_state(r)).lower() for r in self.records})
        body.append(safe(self.label), style="bold")
        body.append(f"  {len(self.records)} parts ({', '.join(states)})\n\n")

    def _show_plan(self) -> None:
        plan = self.choice.plan(self.records)
        risky = replace(self.choice, allow_unsaved_results=True).plan(self.records)
        everything = replace(self.choice, remote_job=True, input_file=True, output_file=True, local_record=True,
                             allow_unsaved_results=True)
        available = {a.kind for a in everything.plan(self.records).actions}
        body = Text(end="")
        self._heading(body)
        for key, field, label in OPTIONS:
            kind = KINDS[field]
            ticked = getattr(self.choice, field)
            if kind == "record" and self.label is not None:
                label = "local records (every part)"
            body.append(f" {key} ", style="reverse")
            if kind not in available:
                body.append(" [-] ", style="dim")
                body.append(label, style="dim")
                body.append("  (nothing to delete)", style="dim")
            else:
                body.append(" [x] " if ticked else " [ ] ", style="bold" if ticked else "")
                body.append(label)
                if kind in ("output", "record") and not self.unsaved_ok:
                    body.append(f"  {self.unsaved_why}", style="yellow")
            body.append("\n")
        body.append("\nWill delete:\n", style="bold")
        if plan.actions and self.label is not None:  # a group: how many of each, so the dialog fits 80x24
            _bullets(body, count_actions(plan.actions), "red")
        elif plan.actions:
            _bullets(body, [a.describe() for a in plan.actions], "red")
        else:
            body.append("  nothing\n", style="dim")
        if plan.refused:
            body.append("Will keep:\n", style="bold")
            _bullets(body, list(plan.refused), "yellow")
        if len(risky.actions) > len(plan.actions):
            body.append(
                f"\n{self.unsaved_sentence}. Pressing y asks a second time before deleting anything that "
                "holds them.\n",
                style="yellow",
            )
        body.append("\n")
        body.append(" y ", style="reverse bold")
        body.append(" delete what is listed    ")
        body.append(" n ", style="reverse")
        body.append(" / ")
        body.append(" esc ", style="reverse")
        body.append(" keep everything")
        self.query_one("#delete-plan", Static).update(body)

    def action_toggle(self, field: str) -> None:
        self.choice = replace(self.choice, **{field: not getattr(self.choice, field)})
        self._show_plan()

    def action_decline(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:

        plan = self.choice.plan(self.records)
        risky = replace(self.choice, allow_unsaved_results=True).plan(self.records)
        extra = [a for a in risky.actions if a not in plan.actions]
        if not extra:
            self.dismiss(self.choice)
            return
        rec = self.record
        whose = self.label if self.label is not None else (batch_name(rec) or display_name(rec))
        body = Text(end="")
        body.append("The results of ")
        body.append(safe(whose), style="bold")
        body.append(" are NOT saved on this computer", style="bold red")
        body.append(f". {self.unsaved_sentence}.\n\nAlso deleting:\n")
        _bullets(body, [a.describe() for a in extra], "red")
        body.append(
            "\nThe remote results file is the only copy: once it is deleted, or the record that finds it "
            "is removed, those results are lost for good.",
        )

        def second(yes: bool | None) -> None:
            if yes:
                self.dismiss(replace(self.choice, allow_unsaved_results=True))
            elif plan.actions:
                self.notify("Kept the unsaved results; press y again to delete only the safe items", markup=False)

        self.app.push_screen(
            ConfirmDialog("Delete results that are not downloaded?", body, "delete them anyway", danger=True), second
        )


__all__ = ["DeleteDialog", "DeleteRequest", "KINDS", "OPTIONS", "count_actions"]
