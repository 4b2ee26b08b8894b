"""Provides the words of the resources screen's questions and its per-item outcome report.

The questions are shown by the shared `confirm.ConfirmDialog` (y / n / escape); this module only builds
their bodies, so every list says exactly what will go. Server text is passed through `safe()` into
`rich.text.Text`, never parsed as markup. `OutcomeDialog` lists what a deletion did, item by item.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from gembatch_tui.core.cleanup.plan import Action, ActionResult
from gembatch_tui.core.models import short_state
from gembatch_tui.core.text import fit
from gembatch_tui.core.cleanup.flags import BatchRow, Row
from gembatch_tui.core.cleanup.remote import CancelOutcome, risk_of
from gembatch_tui.tui.widgets.safe_text import safe


def _more(body: Text, hidden: int) -> None:
    if hidden > 0:
        body.append(f"  … and {hidden} more\n", style="dim")


def _by_risk(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(risk_of(row), []).append(row)
    return groups


def delete_question(
    actions: list[Action], protected: list[Row], refused: list[str], limit: int
) -> tuple[str, Text, str]:
    """(title, body, yes label) for deleting `actions`; protected rows are listed apart, in red."""
    protected_names = {row.name for row in protected}
    ordinary = [a for a in actions if a.target not in protected_names]
    room = max(1, limit - min(len(protected), limit // 2))
    body = Text(end="")
    body.append(f"Will delete {_n(len(actions), 'remote item')}:\n", style="bold")
    for action in ordinary[:room]:
        body.append(f"  • {safe(action.describe())}\n")
    _more(body, len(ordinary) - room)
    if protected:
        room = max(1, limit // 2)
        body.append(f"\n{len(protected)} of them PROTECTED (results not downloaded):\n", style="bold red")
        for row in protected[:room]:
            body.append(f"  • {safe(row.name)}\n", style="red")
        _more(body, len(protected) - room)
        body.append("y asks a second time about these.\n", style="yellow")
    if refused:
        body.append(f"\nKept ({len(refused)}):\n", style="bold")
        for reason in refused[:3]:
            body.append(f"  • {safe(reason)}\n", style="yellow")
        _more(body, len(refused) - 3)
    body.append("\nLocal results files are never touched.", style="dim")
    return "Delete these remote items?", body, f"delete {_n(len(actions), 'item')}"


def protected_question(protected: list[Row], limit: int) -> tuple[str, Text, str]:
    """The second question, naming the risk of each protected row (rows grouped by risk)."""
    body = Text(end="")
    body.append(f"{_n(len(protected), 'item')} {'holds' if len(protected) == 1 else 'hold'}", style="bold")
    body.append(" results that are NOT saved on this computer", style="bold red")
    body.append(" (not downloaded, or not verified).\n")
    shown = 0
    for risk, rows in _by_risk(protected).items():
        body.append(f"\n{risk[0].upper()}{risk[1:]}:\n", style="bold")
        for row in rows[: max(1, limit - shown)]:
            body.append(f"  • {safe(row.name)}\n", style="red")
        shown += min(len(rows), max(1, limit - shown))
    _more(body, len(protected) - shown)
    body.append(
        "\nOnce deleted, those results are lost for good. To keep them, answer n and let the job's "
        "results download first (adopt jobs that are not in the store)."
    )
    return "Delete results that are not downloaded?", body, "delete them anyway"


def cancel_all_question(active: list[BatchRow], limit: int) -> tuple[str, Text, str]:
    body = Text(end="")
    body.append(f"Cancel {_n(len(active), 'pending or running job')}:\n", style="bold")
    for row in active[:limit]:
        state = short_state(row.state).lower()
        body.append(f"  • {state:<8} {safe(row.name)}")
        room = 66 - len(row.name) - 10
        if room > 4:
            label = safe(row.display_name or "") if row.in_store else "(not in the store)"
            body.append(f"  {fit(label, room)}", style="" if row.in_store else "dim")
        body.append("\n")
    _more(body, len(active) - limit)
    body.append(
        "\nThe server's list is read again first: every job pending or running then is cancelled, also jobs "
        "created elsewhere with this key. Their unprocessed requests are not run. Nothing is deleted."
    )
    return "Cancel every active job?", body, "cancel them all"


def row_label(row: BatchRow) -> str:
    """How a user knows a remote job: its file's name when the store has it, else its job name."""
    return row.display_name if row.in_store and row.display_name else row.name


def not_cancelled(promised: list[BatchRow], outcomes: list[CancelOutcome], now: list[BatchRow] | None) -> list[str]:
    """Why each job the question promised to cancel was not tried: the server's list, read again right before the
    cancel, no longer had it active ("job15.jsonl had already succeeded"). `now` is the listing after the cancel
    (None when it could not be read)."""
    tried = {o.name for o in outcomes}
    states = {row.name: row.state for row in now or []}
    lines = []
    for row in promised:
        if row.name in tried:
            continue
        state = states.get(row.name)
        if state is None:
            why = "was no longer listed" if now is not None else "had already finished"
        else:
            why = f"had already {short_state(state).lower()}"
        lines.append(f"{row_label(row)} {why}")
    return lines


def cancelled_summary(outcomes: list[CancelOutcome], skipped: list[str]) -> str:
    """The toast after cancel-all: how many were cancelled, and why the others promised were not."""
    text = f"Cancelled {_n(len(outcomes), 'job')}"
    if skipped:
        more = f"; {len(skipped) - 3} more finished before the cancel" if len(skipped) > 3 else ""
        text += ": " + "; ".join(skipped[:3]) + more
    return text


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def outcome_text(results: list[ActionResult], refused: list[str]) -> Text:
    """Every deletion with ✔ or ✖ (failures first), then what was kept."""
    body = Text(end="")
    ok = sum(1 for r in results if r.ok)
    body.append(f"Deleted {ok} of {len(results)}.\n\n", style="bold")
    for result in sorted(results, key=lambda r: r.ok):
        if result.ok:
            body.append("✔ ", style="green")
            body.append(f"{safe(result.action.describe())}\n")
        else:
            body.append("✖ ", style="bold red")
            body.append(f"{safe(result.action.describe())}\n")
            body.append(f"    {safe(result.message)}\n", style="red")
    for reason in refused:
        body.append("• kept: ", style="yellow")
        body.append(f"{safe(reason)}\n")
    return body


def cancel_outcome_text(outcomes: list[CancelOutcome]) -> Text:
    body = Text(end="")
    for item in sorted(outcomes, key=lambda o: o.ok):
        body.append("✔ " if item.ok else "✖ ", style="green" if item.ok else "bold red")
        body.append(safe(item.name))
        body.append(f"  {short_state(item.state).lower()}" if item.state else "")
        if item.message:
            body.append(f"\n    {safe(item.message)}", style="red" if not item.ok else "dim")
        body.append("\n")
    return body


class OutcomeDialog(ModalScreen[None]):
    """What an action did, item by item; any key of enter / escape / q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "close", "Close", id="outcome.close"),
        Binding("escape", "close", "Close", show=False, id="outcome.escape"),
        Binding("q", "close", "Close", show=False, id="outcome.q"),
    ]
    DEFAULT_CSS = """
    OutcomeDialog {
        align: center middle;
        & > .outcome-box {
            width: 78;
            max-width: 100%;
            height: auto;
            max-height: 90%;
            padding: 0 1;
            border: thick $warning;
            background: $surface;
        }
        & .outcome-title { width: 100%; content-align: center middle; text-style: bold; }
        & .outcome-scroll { height: auto; max-height: 16; scrollbar-size-vertical: 1; }
    }
    """

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self._title = title
        self._body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="outcome-box"):
            yield Label(self._title, classes="outcome-title", markup=False)
            with VerticalScroll(classes="outcome-scroll"):
                yield Static(self._body, markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["OutcomeDialog", "cancel_all_question", "cancelled_summary", "delete_question", "not_cancelled",
           "outcome_text", "protected_question", "row_label"]
