"""Provides what the job detail says of a real-time run (core/realtime): its kind and prices, how far it is, who runs
it with which limits, and which job's failures it retries.

Why it is its own module: detail.py lays out every job; these rows exist only for a job of this kind, and they
say what a batch job's would get wrong (it is priced at interactive rates, and no server holds a job for it).
"""

from __future__ import annotations

import socket

from rich.text import Text

from gembatch_tui.core.api.pricing import INTERACTIVE_FACTOR
from gembatch_tui.core.models import Record, record_state, record_stats
from gembatch_tui.tui.dashboard.states import ACTIVE
from gembatch_tui.tui.widgets.safe_text import safe


def _info(record: Record) -> dict[str, object]:
    value = record.get("realtime")
    return value if isinstance(value, dict) else {}


def kind_text() -> Text:
    text = Text("real-time run", style="bold magenta", end="")
    text.append(f": sent through generateContent, priced at interactive rates ({INTERACTIVE_FACTOR:g}× the batch "
                "price)")
    return text


def progress_text(record: Record) -> Text:
    """`5 of 12 requests answered (1 with an error), 7 to send`."""
    stats = record_stats(record)
    total = stats["request_count"] or int(record.get("count") or 0)
    failed = stats["failed_request_count"]
    done = stats["successful_request_count"] + failed
    text = Text(f"{done:,} of {total:,} requests answered ({failed:,} with an error)", end="")
    left = max(0, total - done)
    if left:
        text.append(f", {left:,} {'to send' if record_state(record) in ACTIVE else 'not answered'}")
    return text


def run_text(record: Record, *, here: bool) -> Text | None:
    """Who runs it and under which limits; None once it ended with no limits recorded."""
    from gembatch_tui.core.realtime.control import process_alive

    info = _info(record)
    text = Text(end="")
    if record_state(record) in ACTIVE:
        pid, host = info.get("pid"), info.get("host")
        if here:
            text.append("this app runs it (c stops it)")
        elif process_alive(record):
            where = f" on {safe(host)}" if host and host != socket.gethostname() else ""
            text.append(f"process {safe(pid)}{where} runs it (c asks it to stop)")
        else:
            text.append("its process is gone: c marks it cancelled; running the same input again continues it",
                        style="yellow")
    limits = [f"{info['rpm']:,} requests/min" if isinstance(info.get("rpm"), int) else "",
              f"{info['tpm']:,} tokens/min" if isinstance(info.get("tpm"), int) else "",
              f"{info['concurrency']} at once" if isinstance(info.get("concurrency"), int) else ""]
    limits = [x for x in limits if x]
    if limits:
        text.append(("  " if text.plain else "") + ", ".join(limits), style="dim")
    return text if text.plain else None


def realtime_rows(record: Record, *, here: bool) -> list[tuple[str, Text]]:
    """(label, value) rows for the detail's summary, after the model."""
    rows = [("Kind", kind_text())]
    run = run_text(record, here=here)
    if run is not None:
        rows.append(("Run", run))
    parent = record.get("resubmit_of_batch") or record.get("resubmit_of")
    if parent:
        rows.append(("Retries", Text(f"the failed and missing requests of {safe(parent)}", end="")))
    return rows


__all__ = ["kind_text", "progress_text", "realtime_rows", "run_text"]
