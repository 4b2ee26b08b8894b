"""Provides JobActions, the app's side of cancel and delete: ask with a dialog (dialogs/confirm.py, dialogs/delete.py),
then do it in a worker and report by message.

A split input's group row cancels or deletes every part at once, with one question for all of them.

A job being cancelled or deleted is marked as such from the yes until its worker reports (`_busy`): the user is
told at once ("Deleting job15.jsonl…"), and a second c or d on it is refused with that reason instead of opening a
second dialog, which would run the same delete twice (two "Deleted" events, the second one failing or doing
nothing) while the first was still waiting on the service.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.message import Message

from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (
    LOCAL_QUEUED,
    Record,
    batch_name,
    display_name,
    is_final,
    record_state,
    record_stats,
    short_state,
)
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.dialogs.delete import DeleteDialog, DeleteRequest, count_actions
from gembatch_tui.tui.widgets.safe_text import safe


def cancel_group_question(parts: list[Record], label: str) -> tuple[str, Text, str]:
    """(title, body, yes label) of the cancel confirmation for every unfinished part of a split input."""
    running = [p for p in parts if batch_name(p) and not is_final(record_state(p))]
    waiting = [p for p in parts if not batch_name(p) and record_state(p) == LOCAL_QUEUED]
    body = Text(end="")
    body.append("Cancel ")
    body.append(safe(label), style="bold")
    body.append(f": {len(running)} part job(s) pending or running are stopped")
    if waiting:
        body.append(f", {len(waiting)} queued part(s) are never sent")
    body.append(f"; {len(parts) - len(running) - len(waiting)} part(s) already finished are kept.\n\n")
    body.append(
        "The group cannot be merged until the cancelled parts are retried (R on the group row). "
        "The local records are kept."
    )
    return f"Cancel {len(running) + len(waiting)} parts?", body, "cancel them"


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


# ----------------------------------------------------------------------------- the work they confirm
class JobCancelled(Message):
    """A cancel request was accepted; `state` is what the service reported right after."""

    def __init__(self, name: str, state: str) -> None:
        super().__init__()
        self.name, self.state = name, state


class CancelTooLate(Message):
    """The job had finished before the cancel reached it: said as information, the store already says how."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class PartsCancelled(Message):
    """Cancel ran over the parts of a group: one (line, ok) per part it tried."""

    def __init__(self, lines: list[tuple[str, bool]]) -> None:
        super().__init__()
        self.lines = lines


class JobsDeleted(Message):
    """Delete actions ran; `results` are cleanup.ActionResult, `refused` what the plan kept."""

    def __init__(self, key: str, results: list[Any], refused: list[str]) -> None:
        super().__init__()
        self.key, self.results, self.refused = key, results, refused


class JobActionEnded(Message):
    """A cancel or delete worker is over (done or failed): its jobs take c and d again.

    Posted last by the worker, after its outcome message, so a failure (which goes to the App's failure handler,
    not to an outcome message) also frees them."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        super().__init__()
        self.keys = keys


class JobActions:
    """Cancel and delete, mixed into the App: ask with a dialog, then work in a thread and report by message.

    Uses the app's `store`, `service`, `record()`, `load_jobs()` and `poll_soon()`.
    """

    store: Any
    service: Any

    @property
    def _busy(self) -> dict[str, str]:
        """Record key -> what is being done to it ("cancelled", "deleted"), from the yes until the worker ends;
        a record deleted locally stays marked "gone" (its row lingers until the store is read again)."""
        busy = self.__dict__.get("_job_actions_busy")
        if busy is None:
            busy = self.__dict__["_job_actions_busy"] = {}
        return busy

    def _refuse_busy(self, keys: list[str] | tuple[str, ...], label: str, what: str) -> bool:
        """Say so and return True when one of `keys` is already being cancelled or deleted (`what`: the key
        refused, "cancel" or "delete")."""
        for key in keys:
            doing = self._busy.get(key)
            if doing is not None:
                news = "already deleted" if doing == "gone" else f"already being {doing}"
                self.say(f"{safe(label)} is {news}", title=f"No {what}", severity="warning")  # type: ignore[attr-defined]
                return True
        return False

    def _start(self, keys: list[str] | tuple[str, ...], doing: str, label: str) -> None:
        """Mark `keys` as being `doing` ("cancelled", "deleted") and say so at once: the service may take seconds."""
        for key in keys:
            self._busy[key] = doing
        verb, title = {"cancelled": ("Cancelling", "Cancel"), "deleted": ("Deleting", "Delete")}[doing]
        self.say(f"{verb} {safe(label)}…", title=title)  # type: ignore[attr-defined]

    def on_job_action_ended(self, message: JobActionEnded) -> None:
        for key in message.keys:
            if self._busy.get(key) != "gone":
                self._busy.pop(key, None)

    def _service_of(self, rec: Any) -> Any:
        """The service of the key that made `rec` (several keys: runtime.service_for); another key would
        only get 404, so a job whose key is not set is refused with the reason."""
        runtime = getattr(self, "runtime", None)
        if runtime is None or not getattr(runtime, "services", None) or not batch_name(rec):
            return self.service
        service = runtime.service_for(rec)
        if service is None:
            raise ServiceError(f"{batch_name(rec)}: {runtime.absent_reason(rec)}")
        return service

    def request_cancel(self, key: str) -> None:
        """Ask (y/n) and, on yes, cancel the job in a worker."""
        rec = self.record(key)  # type: ignore[attr-defined]
        if rec is None or self.service is None:
            return
        label = display_name(rec) or batch_name(rec) or key
        if self._refuse_busy([key], label, "cancel"):
            return

        def answered(yes: bool | None) -> None:
            if yes and not self._refuse_busy([key], label, "cancel"):
                self._start([key], "cancelled", label)
                self._cancel_worker(key)

        self.push_screen(ConfirmDialog(*cancel_question(rec)), answered)  # type: ignore[attr-defined]

    def request_cancel_group(self, keys: list[str], label: str) -> None:
        """Ask once (y/n) and, on yes, cancel every part in `keys` that is not finished, in a worker."""
        parts = [r for r in (self.record(k) for k in keys) if r is not None]  # type: ignore[attr-defined]
        if not parts or self.service is None or self._refuse_busy(keys, label, "cancel"):
            return

        def answered(yes: bool | None) -> None:
            if yes and not self._refuse_busy(keys, label, "cancel"):
                self._start(keys, "cancelled", label)
                self._cancel_worker(*keys)

        self.push_screen(ConfirmDialog(*cancel_group_question(parts, label)), answered)  # type: ignore[attr-defined]

    @work(thread=True, group="actions", exit_on_error=False, description="cancel jobs")
    def _cancel_worker(self, *keys: str) -> None:
        """Cancel one job, or each unfinished part of a group (one failure does not stop the others)."""
        try:
            self._cancel(keys)
        finally:
            self.post_message(JobActionEnded(keys))  # type: ignore[attr-defined]

    def _cancel(self, keys: tuple[str, ...]) -> None:
        from gembatch_tui.core.cleanup.cancel import AlreadyFinished, cancel_job
        from gembatch_tui.tui.dashboard.states import can_cancel

        if len(keys) == 1:
            rec = self.store.get(keys[0])
            if rec is None:
                raise ServiceError("the job is no longer in the store")
            try:
                state = cancel_job(self._service_of(rec), rec)
            except AlreadyFinished as exc:  # it ended while the question was open
                self.post_message(CancelTooLate(str(exc)))  # type: ignore[attr-defined]
                return
            self.post_message(JobCancelled(batch_name(rec) or keys[0], state))  # type: ignore[attr-defined]
            return
        lines: list[tuple[str, bool]] = []
        for key in keys:
            rec = self.store.get(key)
            if rec is None or not can_cancel(rec):
                continue
            name = batch_name(rec) or display_name(rec) or key
            try:
                state = cancel_job(self._service_of(rec), rec)
            except ServiceError as exc:
                lines.append((f"{name}: {exc}", False))
            else:
                lines.append((f"{name}: cancel requested, now {short_state(state).lower()}", True))
        self.post_message(PartsCancelled(lines))  # type: ignore[attr-defined]

    def on_job_cancelled(self, message: JobCancelled) -> None:
        self.notify(  # type: ignore[attr-defined]
            f"{safe(message.name)}: cancel requested, now {short_state(message.state).lower()}", markup=False
        )
        self.load_jobs()  # type: ignore[attr-defined]
        self.poll_soon()  # type: ignore[attr-defined]

    def on_cancel_too_late(self, message: CancelTooLate) -> None:
        self.notify(safe(message.text), title="Nothing to cancel", markup=False)  # type: ignore[attr-defined]
        self.load_jobs()  # type: ignore[attr-defined]
        self.poll_soon()  # type: ignore[attr-defined]

    def on_parts_cancelled(self, message: PartsCancelled) -> None:
        done = [text for text, ok in message.lines if ok]
        if done:
            self.notify(safe("\n".join(done[:6])), title=f"Cancelled {len(done)} parts", markup=False)  # type: ignore[attr-defined]
        for text, ok in message.lines:
            if not ok:
                self.notify(safe(text), title="Not cancelled", severity="error", markup=False)  # type: ignore[attr-defined]
        self.load_jobs()  # type: ignore[attr-defined]
        self.poll_soon()  # type: ignore[attr-defined]

    def request_delete(self, key: str) -> None:
        """Open the delete dialog; on a confirmed choice, delete in a worker."""
        rec = self.record(key)  # type: ignore[attr-defined]
        if rec is None or self.service is None:
            return
        label = display_name(rec) or batch_name(rec) or key
        if self._refuse_busy([key], label, "delete"):
            return

        def answered(choice: DeleteRequest | None) -> None:
            if choice is not None and not self._refuse_busy(choice.keys, label, "delete"):
                self._start(choice.keys, "deleted", label)
                self._delete_worker(choice)

        self.push_screen(DeleteDialog(rec), answered)  # type: ignore[attr-defined]

    def request_delete_group(self, keys: list[str], label: str) -> None:
        """The delete dialog for every part of a split input at once."""
        parts = [r for r in (self.record(k) for k in keys) if r is not None]  # type: ignore[attr-defined]
        if not parts or self.service is None or self._refuse_busy(keys, label, "delete"):
            return

        def answered(choice: DeleteRequest | None) -> None:
            if choice is not None and not self._refuse_busy(choice.keys, label, "delete"):
                self._start(choice.keys, "deleted", label)
                self._delete_worker(choice)

        self.push_screen(DeleteDialog(parts, label=label), answered)  # type: ignore[attr-defined]

    @work(thread=True, group="actions", exit_on_error=False, description="delete jobs")
    def _delete_worker(self, choice: DeleteRequest) -> None:
        try:
            self._delete(choice)
        finally:
            self.post_message(JobActionEnded(choice.keys))  # type: ignore[attr-defined]

    def _delete(self, choice: DeleteRequest) -> None:
        # The records as they are now, not as the dialog saw them.
        records = [r for r in (self.store.get(k) for k in choice.keys) if r is not None]
        if not records:
            raise ServiceError("the job is no longer in the store")
        plan = choice.plan(records)
        runtime = getattr(self, "runtime", None)
        if runtime is not None and getattr(runtime, "services", None):  # each job's actions with its own key
            results = runtime.execute_routed(plan.actions) if plan.actions else []
        else:
            from gembatch_tui.core.cleanup.execute import execute

            results = execute(self.service, plan.actions) if plan.actions else []
        self.post_message(JobsDeleted(choice.key, results, plan.refused))  # type: ignore[attr-defined]

    def on_jobs_deleted(self, message: JobsDeleted) -> None:
        notify = self.notify  # type: ignore[attr-defined]
        ok = [r for r in message.results if r.ok]
        for r in ok:  # its row stays until the store is read again: a d on it says it is gone
            if r.action.kind == "record" and r.action.record_key:
                self._busy[r.action.record_key] = "gone"
        # What was asked for and done goes to the event line and the log (E), not a toast over the table.
        if len(ok) > 4:  # a whole group: how many of each
            self.record_event("; ".join(f"deleted {line}" for line in count_actions([r.action for r in ok])),  # type: ignore[attr-defined]
                              title="Deleted")
        elif ok:
            self.record_event("; ".join(f"deleted {r.action.describe()}" for r in ok), title="Deleted")  # type: ignore[attr-defined]
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
