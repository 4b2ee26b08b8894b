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

gembatch downloaded a succeeded job's results to `<input dir>/results/<input name>` and then deleted the job (and
its upload) on the server, and the remote output expires: a file there that matches the input key for key is
taken as the job's verified results (`results_source: "gembatch"`), as a download would record them, so nothing
is downloaded again and no poll fails on an output that is gone. A file two jobs would share is never taken.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.results import ledger
from gembatch_tui.core import record_shape
from gembatch_tui.core.jsonpos import json_error_text
from gembatch_tui.core.results.stream import verify_file
from gembatch_tui.core.poll.embeddings import summarise_embeddings
from gembatch_tui.core.models import SUCCEEDED, UNSPECIFIED, Record, batch_name, normalise_state, record_key
from gembatch_tui.core.store import DuplicateJob, JobStore, new_record_id


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


TEXT_FIELDS = ("display_name", "model", "state", "create_time", "update_time", "end_time")


def _check_shape(record: Record) -> None:
    """The fields the poller, cleanup and the screens read must have the types they read, or the line is refused
    (with its number) rather than stored to break a command later."""
    batch = record["batch"]
    for key in TEXT_FIELDS:
        if batch.get(key) is not None and not isinstance(batch[key], str):
            raise ValueError(f"'batch.{key}' must be text, got {batch[key]!r}")
    dest = batch.get("dest")
    if dest is not None and not (isinstance(dest, dict) and isinstance(dest.get("file_name") or "", str)):
        raise ValueError(f"'batch.dest' must be an object with a file_name, got {dest!r}")
    if batch.get("stats") is not None and not isinstance(batch["stats"], dict):
        raise ValueError(f"'batch.stats' must be an object, got {batch['stats']!r}")
    for key in ("results_file", "uploaded_file_name", "display_name", "model"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ValueError(f"'{key}' must be text, got {record[key]!r}")


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
        state = record["batch"].get("state")
        if state is not None and not isinstance(state, str):
            raise ValueError(f"'batch.state' must be text, got {state!r}")
        record["batch"]["state"] = normalise_state(state)
    elif "job_name" in obj:
        name = obj.get("job_name")
        _check_name(name, "job_name")
        for key in ("final_state", "display_name", "created_at", "completed_at"):
            if obj.get(key) is not None and not isinstance(obj[key], str):
                raise ValueError(f"'{key}' must be text, got {obj[key]!r}")
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
    _check_shape(record)
    claimed = record["batch"]["state"]
    input_file = record.get("input_file")
    if "input_file" in record:
        # A line without an input file names a job only (an inline job, say): its results go to the results dir.
        if not isinstance(input_file, str) or not input_file:
            raise ValueError("'input_file' must be a path")
        path = Path(input_file).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        record["input_file"] = os.path.normpath(str(path))
    if "count" in record:
        raw = record["count"]
        try:
            if isinstance(raw, bool) or isinstance(raw, float) or int(raw) < 0:
                raise ValueError
            record["count"] = int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"'count' must be a whole number, got {raw!r}") from None
        if record["count"] == 0:  # gembatch wrote 0 for "not counted yet"
            del record["count"]
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
    if not isinstance(record.get("id"), str) or not record["id"]:
        record["id"] = new_record_id()
    return record


def adopt_local_results(record: Record) -> bool:
    """Take the results file gembatch left (see the module docstring) as verified when it matches the input key
    for key; True when it was taken. Nothing is taken without an input to compare with. The check, the usage and
    the fingerprint come from one read of it (results/stream.py `verify_file`)."""
    path, input_file = record.get("results_file"), record.get("input_file")
    claimed = record.get("imported_state") or record["batch"].get("state")
    if record.get("results_verified") or claimed != SUCCEEDED or not isinstance(path, str) or not input_file:
        return False
    if not Path(path).is_file() or not Path(input_file).is_file():
        return False
    try:
        stamp = ledger.Usage.for_file(path)  # the file's size and time before it is read, as usage_from_file takes
    except OSError:
        return False
    verified = verify_file(Path(path), Path(input_file), usage=True)
    check, usage = verified.check, verified.usage
    if not (check.ok and check.keys_compared) or usage is None:
        return False
    usage.source_size, usage.source_mtime_ns = stamp.source_size, stamp.source_mtime_ns
    try:
        embedded = summarise_embeddings(path)
    except OSError:
        return False
    record["results_verified"] = True
    record["results_source"] = "gembatch"
    record["results_check"] = {**check.record_fields(), **(embedded if embedded.get("embeddings") else {})}
    record["results_bytes"], record["results_sha256"] = verified.fingerprint.size, verified.fingerprint.sha256
    if not embedded.get("embeddings"):
        record["usage"] = usage.to_dict()
    return True


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
            except (ValueError, RecursionError) as exc:
                report.problems.append(f"{src}:{line_no}: {json_error_text(text, exc)}")
                continue
            if not isinstance(obj, dict):
                report.problems.append(f"{src}:{line_no}: not a JSON object")
                continue
            try:
                record = convert_line(obj, base_dir)
            except ValueError as exc:
                report.problems.append(f"{src}:{line_no}: {exc}")
                continue
            wrong = record_shape.problem(record)  # the store would skip it: refuse it here, naming the line
            if wrong is not None:
                report.problems.append(f"{src}:{line_no}: {wrong}")
                continue
            candidates.append((line_no, record))
    stored = store.read_all()
    existing = {batch_name(r) for r in stored}
    keys = {record_key(r) for r in stored}
    fresh: list[Record] = []
    for _line_no, record in candidates:
        name = batch_name(record)
        if name in existing:
            report.skipped.append(name or "")
            continue
        existing.add(name)
        if record["id"] in keys:  # a line from another store's `list --json`: its local id may be taken here
            record["id"] = new_record_id()
        keys.add(record["id"])
        fresh.append(record)
    shared = Counter(r.get("results_file") for r in [*stored, *fresh] if isinstance(r.get("results_file"), str))
    for record in fresh:
        if shared[record.get("results_file")] == 1:
            adopt_local_results(record)
    report.imported = [batch_name(r) or "" for r in _add(store, fresh, report)]
    return report


def _add(store: JobStore, records: list[Record], report: ImportReport) -> list[Record]:
    """All at once; when another process added some of the same jobs meanwhile, one by one, skipping those."""
    if not records:
        return []
    try:
        store.add_many(records)
        return records
    except DuplicateJob:
        pass
    added = []
    for record in records:
        try:
            store.add(record)
        except DuplicateJob:
            report.skipped.append(batch_name(record) or "")
        else:
            added.append(record)
    return added
