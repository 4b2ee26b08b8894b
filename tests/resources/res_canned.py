"""A fixed inventory (raw server JSON + store records, relative to FIXED_NOW) for snapshots and pure tests.

Every category is present, and the server text includes markup and an escape sequence, which must show
literally. Results files live under /tmp/gembatch-tui-resources-sample so `results_safe` sees them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from gembatch_tui.core.results.fingerprint import compute

FIXED_NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
SAMPLE_DIR = Path("/tmp/gembatch-tui-resources-sample")
NASTY = "[bold]x[/bold] [@click=app.quit]q[/] \x1b[31mred"


def fixed_clock() -> datetime:
    return FIXED_NOW


def _t(hours_ago: float) -> str:
    return (FIXED_NOW - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")


def _file(fid: str, display: str | None, size: int, hours_ago: float, source: str = "UPLOADED") -> dict[str, Any]:
    out: dict[str, Any] = {"name": f"files/{fid}", "mimeType": "application/jsonl", "sizeBytes": str(size),
                           "createTime": _t(hours_ago), "updateTime": _t(hours_ago),
                           "expirationTime": _t(hours_ago - 48), "state": "ACTIVE", "source": source}
    if display is not None:
        out["displayName"] = display
    return out


def _op(bid: str, display: str, state: str, hours_ago: float, input_id: str, out: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"model": "models/gemini-2.5-flash", "displayName": display,
                            "inputConfig": {"fileName": f"files/{input_id}"}, "createTime": _t(hours_ago),
                            "updateTime": _t(hours_ago), "batchStats": {"requestCount": "3"},
                            "state": f"BATCH_STATE_{state}", "name": f"batches/{bid}"}
    if out:
        meta["output"] = {"responsesFile": f"files/batch-{bid}"}
    return {"name": f"batches/{bid}", "metadata": meta}


def _record(rid: str, bid: str, input_id: str, state: str, name: str, *, out: bool, saved: bool) -> dict[str, Any]:
    batch: dict[str, Any] = {"name": f"batches/{bid}", "display_name": name, "model": "models/gemini-2.5-flash",
                             "state": f"JOB_STATE_{state}", "create_time": _t(3)}
    if out:
        batch["dest"] = {"file_name": f"files/batch-{bid}"}
    rec: dict[str, Any] = {"id": rid, "version": 1, "input_file": str(SAMPLE_DIR / name), "count": 3,
                           "uploaded_file_name": f"files/{input_id}", "display_name": name, "batch": batch}
    if saved:
        rec["results_file"] = str(SAMPLE_DIR / "results" / name)
        rec["results_verified"] = True
        saved_file = Path(rec["results_file"])
        if saved_file.is_file():  # what verification records: the file's size and sha256 (results_fingerprint)
            rec.update(compute(saved_file).fields())
    return rec


def canned() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(remote files, remote batch operations, store records)."""
    (SAMPLE_DIR / "results").mkdir(parents=True, exist_ok=True)
    (SAMPLE_DIR / "results" / "done.jsonl").write_text('{"key": "a"}\n', encoding="utf-8")
    files = [
        _file("in0done0001", "done.jsonl", 2_048, 3),
        _file("batch-job0done", None, 12_345, 2, "GENERATED"),
        _file("in0unsaved01", "unsaved.jsonl", 4_096, 3),
        _file("batch-job0unsaved", None, 1_500_000, 2, "GENERATED"),
        _file("in0running01", "running.jsonl", 640_000, 1),
        _file("in0cancel001", "cancelled.jsonl", 999, 5),
        _file("in0stranger1", NASTY, 77_000, 4),
        _file("batch-job0stranger", None, 88_000, 3, "GENERATED"),
        _file("old0upload01", "[red]old[/red] upload", 3_000_000_000, 44),
    ]
    batches = [
        _op("job0done", "done.jsonl", "SUCCEEDED", 3, "in0done0001", True),
        _op("job0unsaved", "unsaved.jsonl", "SUCCEEDED", 3, "in0unsaved01", True),
        _op("job0running", "running.jsonl", "RUNNING", 1, "in0running01", False),
        _op("job0cancel", "cancelled.jsonl", "CANCELLED", 5, "in0cancel001", False),
        _op("job0stranger", NASTY, "SUCCEEDED", 4, "in0stranger1", True),
        _op("job0old", "stuck \x1b]0;title\x07 job", "PENDING", 44, "gone0input01", False),
    ]
    records = [
        _record("r1", "job0done", "in0done0001", "SUCCEEDED", "done.jsonl", out=True, saved=True),
        _record("r2", "job0unsaved", "in0unsaved01", "SUCCEEDED", "unsaved.jsonl", out=True, saved=False),
        _record("r3", "job0running", "in0running01", "RUNNING", "running.jsonl", out=False, saved=False),
        _record("r4", "job0cancel", "in0cancel001", "CANCELLED", "cancelled.jsonl", out=False, saved=False),
        # A finished job whose remote resources are all gone already: in the clean-up plan, not on screen.
        _record("r5", "job0gone", "in0gone00001", "FAILED", "gone.jsonl", out=False, saved=False),
    ]
    return files, batches, records


EXPECTED = {
    "files/in0done0001": {"safe"},
    "files/batch-job0done": {"safe"},
    "files/in0unsaved01": {"protected"},
    "files/batch-job0unsaved": {"protected"},
    "files/in0running01": {"active"},
    "files/in0cancel001": {"safe"},
    "files/in0stranger1": {"orphan"},
    "files/batch-job0stranger": {"orphan", "protected"},
    "files/old0upload01": {"orphan", "expiring"},
    "batches/job0done": {"safe"},
    "batches/job0unsaved": {"protected"},
    "batches/job0running": {"active"},
    "batches/job0cancel": {"safe"},
    "batches/job0stranger": {"orphan", "protected"},
    "batches/job0old": {"orphan", "active", "expiring"},
}
