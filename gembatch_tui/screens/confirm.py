"""Provides the confirmation dialogs (a y/n/escape question; the delete dialog with its options) and
JobActions, the app's side of cancel and delete: ask with a dialog, then do it in a worker.

Each dialog is a typed ModalScreen that dismisses with its answer. The delete dialog shows the exact
plan (`cleanup.plan_delete`) for the options chosen, and never includes results that are not
downloaded unless a second question naming that risk was answered yes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import Record, batch_name, display_name, record_state, record_stats, short_state
from gembatch_tui.core.store import record_key
from gembatch_tui.widgets.safe_text import safe


def _cleanup():  # noqa: ANN202
    """core.cleanup pulls in the whole service stack (~70 ms): import it when a dialog first needs it."""
    from gembatch_tui.core import cleanup

    return cleanup


class ConfirmDialog(ModalScreen[bool]):
    """A question with a yes and a no: y confirms, n or escape declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "No", show=False, id="confirm.escape"),
    ]

    def __init__(self, title: str, body: Text | Group, yes: str = "yes", *, danger: bool = False) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body
        self._yes = yes
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger" if self._danger else "dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Static(self._body, classes="dialog-body", markup=False)
            keys = Text(end="")
            keys.append(" y ", style="reverse bold")
            keys.append(f" {self._yes}    ")
            keys.append(" n ", style="reverse")
            keys.append(" / ")
            keys.append(" esc ", style="reverse")
            keys.append(" no, change nothing")
            yield Static(keys, classes="dialog-keys", markup=False)
        yield Footer(compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def cancel_question(record: Record) -> tuple[str, Text, str]:
    """(title, body, yes label) of the cancel confirmation for `record`."""
    stats = record_stats(record)
    done = stats["successful_request_count"] + stats["failed_request_count"]
    total = stats["request_count"] or int(record.get("count") or 0)
    body = Text(end="")
    body.append("Cancel ")
    body.append(safe(batch_name(record) or "queued part"), style="bold")
    body.append(f" ({safe(display_name(record))}), now {short_state_of(record)}")
    if total:
        body.append(f", {done} of {total} requests done")
    body.append(".\n\n")
    if batch_name(record) is None:
        body.append(
            "This part is waiting locally for token budget and was never sent: it is marked cancelled and will "
            "not be submitted; its group cannot be merged until the part is retried (R). The local record is kept."
        )
    elif record.get("group_id"):
        body.append(
            "The service stops this part's job: requests not yet processed are not run. The group cannot be "
            "merged until the part is retried (R runs the whole part again). The local record is kept."
        )
    else:
        body.append(
            "The service stops the job: requests not yet processed are not run, and the job cannot be resumed "
            "(submit the file again to rerun it). The local record is kept."
        )
    return "Cancel this job?", body, "cancel the job"


def short_state_of(record: Record) -> str:
    return short_state(record_state(record)).lower()


@dataclass(frozen=True)
class DeleteRequest:
    """What the user chose to delete for one job (the dialog's result)."""

    key: str
    remote_job: bool = True
    input_file: bool = True
    output_file: bool = True
    local_record: bool = False
    allow_unsaved_results: bool = False

    def plan(self, record: Record):  # noqa: ANN201 - cleanup.DeletePlan
        return _cleanup().plan_delete(
            record,
            remote_job=self.remote_job,
            input_file=self.input_file,
            output_file=self.output_file,
            local_record=self.local_record,
            allow_unsaved_results=self.allow_unsaved_results,
        )


KINDS = {"remote_job": "batch", "input_file": "input", "output_file": "output", "local_record": "record"}
"""Each dialog option and the cleanup.Action kind it adds."""
OPTIONS = [
    ("b", "remote_job", "remote batch job"),
    ("i", "input_file", "uploaded input file"),
    ("o", "output_file", "remote results file"),
    ("l", "local_record", "local record (this row)"),
]


class DeleteDialog(ModalScreen[DeleteRequest | None]):
    """Choose what to delete (b/i/o/l), see the exact plan, confirm with y."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Delete", id="delete.yes"),
        Binding("n", "decline", "Keep all", id="delete.no"),
        Binding("escape", "decline", "Keep all", show=False, id="delete.escape"),
        Binding("b", "toggle('remote_job')", "Job", tooltip="Toggle the remote batch job", id="delete.job"),
        Binding("i", "toggle('input_file')", "Input", tooltip="Toggle the uploaded input file", id="delete.input"),
        Binding("o", "toggle('output_file')", "Output", tooltip="Toggle the remote results file", id="delete.output"),
        Binding("l", "toggle('local_record')", "Record", tooltip="Toggle the local record", id="delete.record"),
    ]

    def __init__(self, record: Record) -> None:
        super().__init__(classes="dialog-screen")
        self.record = record
        """The job, as it was when the dialog opened."""
        safe_now = _cleanup().results_safe(record)
        self.choice = DeleteRequest(key=record_key(record), output_file=safe_now)
        """The options as currently ticked."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Delete this job?", classes="dialog-title", markup=False)
            yield Static("", id="delete-plan", classes="dialog-body", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_plan()

    def _show_plan(self) -> None:
        rec = self.record
        plan = self.choice.plan(rec)
        risky = replace(self.choice, allow_unsaved_results=True).plan(rec)
        body = Text(end="")
        body.append(safe(display_name(rec)), style="bold")
        body.append(f"  {safe(batch_name(rec) or '')}  ({short_state_of(rec)})\n\n")
        unsaved_ok = _cleanup().results_safe(rec)
        available = {a.kind for a in _cleanup().plan_delete(rec, remote_job=True, input_file=True, output_file=True,
                                                  local_record=True, allow_unsaved_results=True).actions}
        for key, field, label in OPTIONS:
            kind = KINDS[field]
            ticked = getattr(self.choice, field)
            body.append(f" {key} ", style="reverse")
            if kind not in available:
                body.append(" [-] ", style="dim")
                body.append(label, style="dim")
                body.append("  (nothing to delete)", style="dim")
            else:
                body.append(" [x] " if ticked else " [ ] ", style="bold" if ticked else "")
                body.append(label)
                if kind in ("output", "record") and not unsaved_ok:
                    body.append("  results not downloaded yet", style="yellow")
            body.append("\n")
        body.append("\nWill delete:\n", style="bold")
        if plan.actions:
            for action in plan.actions:
                body.append(f"  • {safe(action.describe())}\n", style="red")
        else:
            body.append("  nothing\n", style="dim")
        if plan.refused:
            body.append("Will keep:\n", style="bold")
            for reason in plan.refused:
                body.append(f"  • {safe(reason)}\n", style="yellow")
        if len(risky.actions) > len(plan.actions):
            body.append(
                "\nThe results are not downloaded yet. Pressing y asks a second time before deleting "
                "anything that holds them.\n",
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
        rec = self.record
        plan = self.choice.plan(rec)
        risky = replace(self.choice, allow_unsaved_results=True).plan(rec)
        extra = [a for a in risky.actions if a not in plan.actions]
        if not extra:
            self.dismiss(self.choice)
            return
        body = Text(end="")
        body.append("The results of ")
        body.append(safe(batch_name(rec) or display_name(rec)), style="bold")
        body.append(" are NOT saved on this computer", style="bold red")
        body.append(" (not downloaded or not verified).\n\nAlso deleting:\n")
        for action in extra:
            body.append(f"  • {safe(action.describe())}\n", style="red")
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


# ----------------------------------------------------------------------------- the work they confirm
class JobCancelled(Message):
    """A cancel request was accepted; `state` is what the service reported right after."""

    def __init__(self, name: str, state: str) -> None:
        super().__init__()
        self.name, self.state = name, state


class JobsDeleted(Message):
    """Delete actions ran; `results` are cleanup.ActionResult, `refused` what the plan kept."""

    def __init__(self, key: str, results: list[Any], refused: list[str]) -> None:
        super().__init__()
        self.key, self.results, self.refused = key, results, refused


class JobActions:
    """Cancel and delete, mixed into the App: ask with a dialog, then work in a thread and report by message.

    Uses the app's `store`, `service`, `record()`, `load_jobs()` and `poll_soon()`.
    """

    store: Any
    service: Any

    def request_cancel(self, key: str) -> None:
        """Ask (y/n) and, on yes, cancel the job in a worker."""
        rec = self.record(key)  # type: ignore[attr-defined]
        if rec is None or self.service is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel_worker(key)

        self.push_screen(ConfirmDialog(*cancel_question(rec)), answered)  # type: ignore[attr-defined]

    @work(thread=True, group="actions", exit_on_error=False, description="cancel a job")
    def _cancel_worker(self, key: str) -> None:
        rec = self.store.get(key)
        if rec is None:
            raise ServiceError("the job is no longer in the store")
        state = _cleanup().cancel_job(self.service, rec)
        self.post_message(JobCancelled(batch_name(rec) or key, state))  # type: ignore[attr-defined]

    def on_job_cancelled(self, message: JobCancelled) -> None:
        self.notify(  # type: ignore[attr-defined]
            f"{safe(message.name)}: cancel requested, now {short_state(message.state).lower()}", markup=False
        )
        self.load_jobs()  # type: ignore[attr-defined]
        self.poll_soon()  # type: ignore[attr-defined]

    def request_delete(self, key: str) -> None:
        """Open the delete dialog; on a confirmed choice, delete in a worker."""
        rec = self.record(key)  # type: ignore[attr-defined]
        if rec is None or self.service is None:
            return

        def answered(choice: DeleteRequest | None) -> None:
            if choice is not None:
                self._delete_worker(choice)

        self.push_screen(DeleteDialog(rec), answered)  # type: ignore[attr-defined]

    @work(thread=True, group="actions", exit_on_error=False, description="delete a job")
    def _delete_worker(self, choice: DeleteRequest) -> None:
        rec = self.store.get(choice.key)  # the record as it is now, not as the dialog saw it
        if rec is None:
            raise ServiceError("the job is no longer in the store")
        plan = choice.plan(rec)
        results = _cleanup().execute(self.service, plan.actions) if plan.actions else []
        self.post_message(JobsDeleted(choice.key, results, plan.refused))  # type: ignore[attr-defined]

    def on_jobs_deleted(self, message: JobsDeleted) -> None:
        notify = self.notify  # type: ignore[attr-defined]
        ok = [r for r in message.results if r.ok]
        if ok:
            notify("\n".join(f"deleted {safe(r.action.describe())}" for r in ok[:6]), title="Deleted", markup=False)
        for r in message.results:
            if r.ok:
                continue
            if r.warning:  # a best-effort extra (a group's part files): the delete itself went through
                notify(f"{safe(r.action.target)}: {safe(r.message)}", title="Kept", severity="warning", markup=False)
            else:
                notify(f"{safe(r.action.target)}: {safe(r.message)}", title="Not deleted", severity="error", markup=False)
        for reason in message.refused:
            notify(safe(reason), title="Kept", severity="warning", markup=False)
        if not message.results and not message.refused:
            notify("Nothing to delete", markup=False)
        self.load_jobs()  # type: ignore[attr-defined]


__all__ = ["ConfirmDialog", "DeleteDialog", "DeleteRequest", "JobActions", "cancel_question"]
