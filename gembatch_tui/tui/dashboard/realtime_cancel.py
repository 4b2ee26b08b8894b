"""Provides `c` on a real-time job (dashboard and detail): a question in the run's own words, then the stop: the
run's cancel event when this app runs it, else a mark in its record that its process sees within a second
(core/realtime/control.py; a record whose process is gone becomes cancelled at once).

Why not the batch cancel's question: nothing is cancelled on a server, the answers so far are kept, and the same
command continues the run later; "cannot be resumed" would be wrong.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.text import Text

from gembatch_tui.core.models import Record, batch_name, display_name, record_key, record_stats
from gembatch_tui.tui.results.realtime_run import runs_of
from gembatch_tui.tui.widgets.safe_text import safe

GROUP = "realtime-cancel"


def cancel_question(record: Record, *, here: bool, alive: bool) -> tuple[str, Text, str]:
    """(title, body, yes label) of the question before stopping a real-time run."""
    stats = record_stats(record)
    done = stats["successful_request_count"] + stats["failed_request_count"]
    total = stats["request_count"] or int(record.get("count") or 0)
    body = Text(end="")
    body.append("Stop ")
    body.append(safe(batch_name(record) or record_key(record)), style="bold")
    body.append(f" ({safe(display_name(record))}), {done:,} of {total:,} requests answered")
    body.append(", run by this app.\n\n" if here else ".\n\n")
    if alive:
        body.append("No more requests are sent; those in flight are answered and kept. The job becomes cancelled, "
                    "and the answers so far are its results.")
    else:
        body.append("Its process is gone (killed?): the job is marked cancelled now; the answers it wrote are kept.")
    body.append(" Running the same input again (`gembatch-tui run FILE --realtime`, or t in the results it "
                "retries) sends only the requests without an answer.")
    return "Stop this real-time run?", body, "stop it"


def ask_cancel(screen: Any, record: Record) -> None:
    """Ask (y/n) and, on yes, stop the run of `record`."""
    from gembatch_tui.core.realtime.control import process_alive
    from gembatch_tui.tui.dialogs.confirm import ConfirmDialog

    app = screen.app
    key = record_key(record)
    here = key in runs_of(app).running_keys()

    def answered(yes: bool | None) -> None:
        if not yes:
            return
        if runs_of(app).cancel(key=key):  # this app's run: its event stops it at once
            app.record_event(f"{safe(batch_name(record))}: stopping; the answers in flight are kept",
                             title="Real-time run")
            return
        app.run_worker(partial(_mark_cancel, app, key), thread=True, group=GROUP, exit_on_error=False,
                       description="stop the real-time run")

    app.push_screen(ConfirmDialog(*cancel_question(record, here=here, alive=here or process_alive(record))),
                    answered)


def _mark_cancel(app: Any, key: str) -> None:
    """The worker: the mark in the record (another process's run stops at its next progress write)."""
    from gembatch_tui.core.errors import ServiceError
    from gembatch_tui.core.models import RUNNING
    from gembatch_tui.core.realtime.control import request_cancel
    from gembatch_tui.tui.messages import StoreChanged

    record = app.store.get(key)
    if record is None:
        raise ServiceError("the job is no longer in the store")
    state = request_cancel(app.store, record)
    name = batch_name(record) or key
    note = "stopping within a second; the answers in flight are kept" if state == RUNNING else \
        "marked cancelled (its process was gone)"
    try:
        app.call_from_thread(app.record_event, f"{safe(name)}: {note}", title="Real-time run")
    except RuntimeError:  # the app is closing: the mark is written, which is what matters
        pass
    app.post_message(StoreChanged("real-time cancel"))


__all__ = ["ask_cancel", "cancel_question"]
