"""Provides import of gembatch's job-info.jsonl (nested v0.2+ format and flat v0.1.0 format).

No network: a legacy record becomes a nested one from what the line says; polling fills in the rest.
Relative input paths are resolved against the job-info file's directory, where gembatch was run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.models import Record, batch_name, normalise_state
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


def convert_line(obj: dict[str, Any], base_dir: Path) -> Record:
    """One gembatch job-info object -> our record. Raises ValueError with a user-facing reason."""
    if isinstance(obj.get("batch"), dict):
        record: Record = json.loads(json.dumps(obj))  # deep copy, every unknown field kept
        if not batch_name(record):
            raise ValueError("'batch' has no 'name'")
        record["batch"]["state"] = normalise_state(record["batch"].get("state"))
    elif "job_name" in obj:
        name = obj.get("job_name")
        if not isinstance(name, str) or not name.startswith("batches/"):
            raise ValueError(f"'job_name' must look like batches/ID, got {name!r}")
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
    input_file = record.get("input_file")
    if not isinstance(input_file, str) or not input_file:
        raise ValueError("no 'input_file'")
    path = Path(input_file).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    record["input_file"] = os.path.normpath(str(path))
    if "count" in record and not isinstance(record["count"], int):
        try:
            record["count"] = int(record["count"])
        except (TypeError, ValueError):
            raise ValueError(f"'count' must be a whole number, got {record['count']!r}") from None
    if "results_file" not in record:
        guess = Path(record["input_file"]).parent / "results" / Path(record["input_file"]).name
        if guess.is_file() and record["batch"].get("state") == "JOB_STATE_SUCCEEDED":
            record["results_file"] = str(guess)
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
