"""Provides import of gembatch's job-info.jsonl (nested v0.2+ format and flat v0.1.0 format).

No network: a legacy record becomes a nested one from what the line says; polling fills in the rest.
Relative input paths are resolved against the job-info file's directory, where gembatch was run.

Why an imported state is not always kept as the job's state: the poller refreshes only jobs that are not final,
and downloads only jobs whose record names their output (`batch.dest.file_name`, which polling fills in). A
legacy line says `final_state: JOB_STATE_SUCCEEDED` but names neither the model nor the output, so a record that
kept that state was final yet had nothing to download: never polled, never downloaded, no model, no stats. A
record that lacks what the server would have told us (no `batch.model`, or SUCCEEDED without an output) is
therefore imported as not known yet (`JOB_STATE_UNSPECIFIED`, the line's claim kept in `imported_state`): the next
poll reads it from the server like any job and downloads its results exactly as for a job submitted here.
`count` is what `submit` would record: the requests of the input file, when the file is still there.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.models import SUCCEEDED, UNSPECIFIED, Record, batch_name, normalise_state
from gembatch_tui.core.store import JobStore, new_record_id


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportError_(Exception):
    """The import file as a whole cannot be read."""


BATCH_NAME = re.compile(r"batches/[A-Za-z0-9_-][A-Za-z0-9_.-]*")
"""`batches/ID` with one plain path component: the name later becomes part of a results file name."""


def _check_name(name: Any, field_name: str) -> None:
    if not isinstance(name, str) or not BATCH_NAME.fullmatch(name):
        raise ValueError(f"'{field_name}' must look like batches/ID, got {name!r}")


def _server_confirmed(batch: dict[str, Any]) -> bool:
    """Whether the line holds what a read from the server gives: the model, and the output of a succeeded job.
    (An inline job's output is not in any record: the poll reads it from the server.)"""
    dest = batch.get("dest")
    has_output = isinstance(dest, dict) and isinstance(dest.get("file_name"), str) and bool(dest["file_name"])
    return bool(batch.get("model")) and (batch.get("state") != SUCCEEDED or has_output)


def count_requests(path: Path) -> int | None:
    """Non-blank lines of the input file (what submit records as `count`), or None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return sum(1 for raw in fh if raw.strip())
    except OSError:
        return None


def convert_line(obj: dict[str, Any], base_dir: Path) -> Record:
    """One gembatch job-info object -> our record. Raises ValueError with a user-facing reason."""
    if isinstance(obj.get("batch"), dict):
        record: Record = json.loads(json.dumps(obj))  # deep copy, every unknown field kept
        if not batch_name(record):
            raise ValueError("'batch' has no 'name'")
        _check_name(batch_name(record), "batch.name")
        record["batch"]["state"] = normalise_state(record["batch"].get("state"))
    elif "job_name" in obj:
        name = obj.get("job_name")
        _check_name(name, "job_name")
        batch: dict[str, Any] = {"name": name, "state": normalise_state(obj.get("final_state"))}
        if obj.get("display_name"):
            batch["display_name"] = obj["display_name"]
        if obj.get("created_at"):
            batch["create_time"] = obj["created_at"]
        if obj.get("completed_at"):
            batch["end_time"] = obj["completed_at"]
        record = {k: v for k, v in obj.items() if k not in ("job_name",)}
        record["batch"] = batch
        record["legacy_format"] = "gembatch-0.1.0"
    else:
        raise ValueError("neither a nested 'batch' object nor a legacy 'job_name'")
    claimed = record["batch"]["state"]
    input_file = record.get("input_file")
    if input_file is not None or "input_file" in record:
        # A line without an input file names a job only (an inline job, say): its results go to the results dir.
        if not isinstance(input_file, str) or not input_file:
            raise ValueError("'input_file' must be a path")
        path = Path(input_file).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        record["input_file"] = os.path.normpath(str(path))
    if "count" in record and (not isinstance(record["count"], int) or isinstance(record["count"], bool)):
        try:
            record["count"] = int(record["count"])
        except (TypeError, ValueError):
            raise ValueError(f"'count' must be a whole number, got {record['count']!r}") from None
    if "count" not in record and record.get("input_file"):
        count = count_requests(Path(record["input_file"]))
        if count is not None:
            record["count"] = count
    if "results_file" not in record and record.get("input_file"):
        guess = Path(record["input_file"]).parent / "results" / Path(record["input_file"]).name
        if guess.is_file() and claimed == SUCCEEDED:
            record["results_file"] = str(guess)
    if not _server_confirmed(record["batch"]):
        record["imported_state"] = claimed
        record["batch"]["state"] = UNSPECIFIED
    record["imported_from"] = "gembatch"
    record.setdefault("id", new_record_id())
    return record


def import_job_info(path: str | os.PathLike[str], store: JobStore) -> ImportReport:
    """Read `path` line by line; bad lines are reported as FILE:LINE and the rest still import."""
    src = Path(path).expanduser()
    report = ImportReport()
    if src.is_dir():
        raise ImportError_(f"{src}: is a directory, not a job-info file")
    try:
        fh = open(src, "rb")
    except FileNotFoundError:
        raise ImportError_(f"{src}: no such file") from None
    except OSError as exc:
        raise ImportError_(f"{src}: cannot read: {exc.strerror or exc}") from None
    base_dir = src.resolve().parent
    candidates: list[tuple[int, Record]] = []
    with fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                report.problems.append(f"{src}:{line_no}: not valid UTF-8")
                continue
            try:
                obj = json.loads(text)
            except ValueError as exc:
                report.problems.append(f"{src}:{line_no}: not valid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                report.problems.append(f"{src}:{line_no}: not a JSON object")
                continue
            try:
                candidates.append((line_no, convert_line(obj, base_dir)))
            except ValueError as exc:
                report.problems.append(f"{src}:{line_no}: {exc}")
    existing = {batch_name(r) for r in store.read_all()}
    fresh: list[Record] = []
    for _line_no, record in candidates:
        name = batch_name(record)
        if name in existing:
            report.skipped.append(name or "")
            continue
        existing.add(name)
        fresh.append(record)
    if fresh:
        store.add_many(fresh)
    report.imported = [batch_name(r) or "" for r in fresh]
    return report
