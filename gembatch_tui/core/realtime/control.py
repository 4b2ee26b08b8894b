"""Provides cancelling a real-time run from outside it (`cancel JOB`, the dashboard's `c`): no batch API call,
a mark in its record that the run sees on its next progress write (about a second) and stops at.

A run whose process is gone (killed, on this host) cannot see the mark: its record is made CANCELLED at once, and
its partial answers stay for a rerun to continue from.
"""

from __future__ import annotations

import socket
from typing import Any

from gembatch_tui.core import child_process
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import CANCELLED, RUNNING, Record, batch_name, is_final, now_iso, record_key, \
    record_state, short_state


def _info(record: Record) -> dict[str, Any]:
    info = record.get("realtime")
    return info if isinstance(info, dict) else {}


def process_alive(record: Record) -> bool:
    """Whether the process that runs this record may still be running (another host's: assumed so; a record no
    process took up: not)."""
    info = _info(record)
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int) or pid <= 0:  # never started by any process
        return False
    if host is not None and host != socket.gethostname():
        return True
    return child_process.pid_alive(pid)


def request_cancel(store: Any, record: Record) -> str:
    """Ask the run of `record` to stop; returns the state it is in now (RUNNING until the run stops)."""
    name = batch_name(record) or record_key(record)
    state = record_state(record)
    if is_final(state):
        raise ServiceError(f"{name} is already {short_state(state)}; nothing to cancel")
    gone = not process_alive(record)
    at = now_iso()

    def apply(rec: Record) -> None:
        info = rec.get("realtime")
        if not isinstance(info, dict):
            info = rec["realtime"] = {}
        info["cancel_requested_at"] = at
        batch = rec.get("batch")
        if gone and isinstance(batch, dict) and not is_final(record_state(rec)):
            batch["state"] = CANCELLED
            batch["end_time"] = batch["update_time"] = at
            rec["cancelled_at"] = at

    store.update(record_key(record), apply)
    return CANCELLED if gone else RUNNING
