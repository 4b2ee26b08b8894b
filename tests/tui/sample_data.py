"""Fixed job records in every state, for snapshots, screenshots and benchmarks (no server needed).

Times are relative to FIXED_NOW so a fixed clock gives the same screen every run; result files live
under SAMPLE_DIR (a fixed, non-personal path) so the "saved" status and the paths shown never vary.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

FIXED_NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
SAMPLE_DIR = Path("/tmp/gembatch-tui-sample")


def fixed_clock() -> datetime:
    return FIXED_NOW


def _t(minutes_ago: float) -> str:
    return (FIXED_NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def _stats(total: int, ok: int, failed: int = 0) -> dict[str, int]:
    return {
        "request_count": total,
        "successful_request_count": ok,
        "failed_request_count": failed,
        "pending_request_count": max(0, total - ok - failed),
    }


def _record(i: int, name: str, state: str | None, *, total: int, ok: int = 0, failed: int = 0,
            created: float = 60, ended: float | None = None, model: str = "models/gemini-2.5-flash",
            **extra: Any) -> dict[str, Any]:
    input_file = str(SAMPLE_DIR / name)
    rec: dict[str, Any] = {
        "id": f"rec{i:04d}",
        "version": 1,
        "input_file": input_file,
        "count": total,
        "uploaded_file_name": f"files/in{i:04d}",
        "model": model,
        "display_name": name,
        "submitted_at": _t(created + 0.5),
    }
    if state is not None:
        batch: dict[str, Any] = {
            "name": f"batches/job{i:04d}",
            "display_name": name,
            "model": model,
            "state": state,
            "create_time": _t(created),
            "update_time": _t(ended if ended is not None else 1),
            "stats": _stats(total, ok, failed),
        }
        if ended is not None:
            batch["end_time"] = _t(ended)
        if state == "JOB_STATE_SUCCEEDED":
            batch["dest"] = {"file_name": f"files/batch-job{i:04d}"}
        rec["batch"] = batch
    rec.update(extra)
    return rec


def sample_records() -> list[dict[str, Any]]:
    """One or more jobs in every state the dashboard distinguishes."""
    saved = str(SAMPLE_DIR / "results" / "catalog-embeddings.jsonl")
    return [
        _record(1, "translations-fr.jsonl", "JOB_STATE_RUNNING", total=500, ok=317, failed=3, created=22),
        _record(2, "summaries-2026-11.jsonl", "JOB_STATE_PENDING", total=1200, created=2),
        _record(3, "catalog-embeddings.jsonl", "JOB_STATE_SUCCEEDED", total=5000, ok=5000, created=180, ended=133,
                model="models/gemini-embedding-001", results_file=saved, results_verified=True,
                downloaded_at=_t(132), results_check={"lines": 5000, "ok": 5000, "errors": 0, "missing": 0,
                                                      "unexpected": 0, "duplicates": 0}),
        _record(4, "eval-prompts-v2.jsonl", "JOB_STATE_SUCCEEDED", total=250, ok=246, failed=4, created=95, ended=12,
                model="models/gemini-2.5-pro"),
        _record(5, "product-descriptions.jsonl", "JOB_STATE_FAILED", total=100, created=300, ended=290,
                error="INVALID_ARGUMENT: request 17: contents must not be empty"),
        _record(6, "weekly-digest.jsonl", "JOB_STATE_CANCELLED", total=300, ok=40, created=50, ended=35,
                cancelled_at=_t(35)),
        _record(7, "old-backfill.jsonl", "JOB_STATE_EXPIRED", total=2000, created=3 * 1440, ended=1440),
        _record(8, "new-upload.jsonl", None, total=40, created=0.2, local_state="submitting"),
        _record(9, "broken-upload.jsonl", None, total=12, created=70, local_state="submit_failed",
                error="upload broken-upload.jsonl: cannot reach the service (ConnectError)"),
        _record(10, "faq-answers.jsonl", "JOB_STATE_SUCCEEDED", total=80, ok=80, created=40, ended=30,
                results_error="download files/batch-job0010: the service failed (503 UNAVAILABLE) after retries"),
        _record(11, "mystery.jsonl", "JOB_STATE_UNSPECIFIED", total=7, created=15),
    ]


GROUP_ID = "a1b2c3d4e5f6"
GROUP_KEYS = ["rec0021", "rec0022", "rec0023"]


def group_records() -> list[dict[str, Any]]:
    """A big input split into 3 parts (one group): part 1 succeeded with its results saved, part 2 running,
    part 3 still queued locally (no remote job yet)."""
    n = 3
    parts_dir = SAMPLE_DIR / "parts" / GROUP_ID
    out = []
    for i, (state, ok, failed, created) in enumerate(
        [("JOB_STATE_SUCCEEDED", 100, 0, 25), ("JOB_STATE_RUNNING", 40, 2, 20), (None, 0, 0, 30)], start=1
    ):
        extra: dict[str, Any] = {
            "group_id": GROUP_ID, "group_part": i, "group_parts": n,
            "group_input_file": str(SAMPLE_DIR / "big-input.jsonl"), "group_count": 300,
            "group_display_name": "big-input.jsonl", "group_submitted_at": _t(30),
            "group_split_reason": "300 requests, over 100 per job",
        }
        if state is None:
            extra.update(local_state="queued", queued_reason="waiting for its turn")
        if state == "JOB_STATE_SUCCEEDED":
            extra.update(results_file=str(parts_dir / "results" / f"big-input.part-001-of-00{n}.jsonl"),
                         results_verified=True, downloaded_at=_t(9))
        rec = _record(20 + i, f"big-input.jsonl [{i}/{n}]", state, total=100, ok=ok, failed=failed, created=created,
                      ended=10 if state == "JOB_STATE_SUCCEEDED" else None, **extra)
        rec["input_file"] = str(parts_dir / f"big-input.part-00{i}-of-00{n}.jsonl")
        out.append(rec)
    return out


def write_results_files() -> None:
    """The "saved" results files the sample data points at."""
    for path in (SAMPLE_DIR / "results" / "catalog-embeddings.jsonl",
                 SAMPLE_DIR / "parts" / GROUP_ID / "results" / "big-input.part-001-of-003.jsonl"):
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text('{"key": "k1", "response": {}}\n', encoding="utf-8")


def write_store(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def many_records(n: int, *, final: bool = False, results_dir: Path | None = None) -> list[dict[str, Any]]:
    """`n` synthetic jobs (all final when `final`, else a mix), newest last.

    With `results_dir`, succeeded jobs get a verified results file there, so nothing is left to download.
    """
    states = ["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"]
    if not final:
        states += ["JOB_STATE_RUNNING", "JOB_STATE_PENDING"]
    out = []
    for i in range(n):
        state = states[i % len(states)]
        ended = None if state in ("JOB_STATE_RUNNING", "JOB_STATE_PENDING") else float(n - i)
        extra: dict[str, Any] = {}
        if results_dir is not None and state == "JOB_STATE_SUCCEEDED":
            path = results_dir / f"bulk-{i:05d}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text('{"key": "k", "response": {}}\n', encoding="utf-8")
            extra = {"results_file": str(path), "results_verified": True}
        out.append(_record(100000 + i, f"bulk-{i:05d}.jsonl", state, total=100, ok=100 if ended else 10,
                           created=float(n - i) + 5, ended=ended, **extra))
    return out
