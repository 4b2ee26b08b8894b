"""Provides the results of jobs whose requests were sent inline (the SDK's `src=[...]`).

Why: such a job has no output file to download; its answers sit in the job itself, as
`metadata.output.inlinedResponses.inlinedResponses[]` (each item `response` or `error`, plus the request's
`metadata` echoed back). A job adopted from the server, or imported, may be one of those, and the poller only
downloads `batch.dest.file_name`, so it never got results. Here the inline answers are written as the same JSONL
a file job's output has (`{"key": ..., "response": {...}}` or `{"key": ..., "error": {...}}` per line; the key
is the item's `metadata.key`, else its 1-based position as a string), verified the same way (against the input
file when there is one, and the job's request count), and recorded with the same fields (`results_file`,
`results_verified`, `results_check`, `usage`, and the file's `results_bytes`/`results_sha256` that cleanup
re-checks), so the results browser, export, usage and cleanup see no difference.

The answers are read from the raw Operation JSON (the SDK's parsed job drops fields and breaks on some valid
items), and the reply is checked against what was asked before anything is written. The file is written like a
download: to a hidden `.partial` beside the target, verified, then claimed with `place_beside` (a rename that
never replaces another job's file; `fsutil.atomic_writer` would replace one of the same name). The poller calls
this from `download_results`, under the same per-job lock as a download.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core.results.stream import verify_file
from gembatch_tui.core.results.fingerprint import mark_verified
from gembatch_tui.core.poll.embeddings import describe as describe_embeddings
from gembatch_tui.core.poll.embeddings import summarise_embeddings
from gembatch_tui.core.errors import describe_api_error
from gembatch_tui.core import paths
from gembatch_tui.core.fsutil import place_beside
from gembatch_tui.core.models import (
    SUCCEEDED,
    Record,
    batch_name,
    is_realtime,
    normalise_state,
    record_key,
    record_state,
    record_stats,
    remote_gone,
)
from gembatch_tui.core.submit.service import BatchService

NO_ANSWER = "the server's answer holds neither a response nor an error for this request"


@dataclass
class Saved:
    """What saving a job's inline results came to (the poller reports it like a download)."""

    ok: bool
    path: Path | None = None
    message: str = ""
    busy: bool = False  # nothing failed, the next pass does the rest (the job turned out to have an output file)


class ReplyError(ValueError):
    """The server's reply is not a succeeded job with inline answers for the job asked about."""


def needs_results(record: Record) -> bool:
    """A succeeded job with no output file whose results are not saved yet: its answers may be inline.

    A job with `batch.dest.file_name` is the poller's download; a job deleted (by us or outside) is gone."""
    if record_state(record) != SUCCEEDED or record.get("remote_missing_at") or not batch_name(record):
        return False
    if is_realtime(record):  # its answers were written by its run; no job on the server holds them
        return False
    gone = remote_gone(record)
    if gone.get("batch") or gone.get("output"):
        return False
    dest = record["batch"].get("dest")
    if isinstance(dest, dict) and dest.get("file_name"):
        return False
    path = record.get("results_file")
    return not (isinstance(path, str) and path and record.get("results_verified") and Path(path).is_file())


def inline_items(op: Any, name: str) -> list[Any] | str:
    """The inline answers of the Operation `op` of job `name`, or the name of its output file when it has one.
    Raises ReplyError for a reply that is not about `name`, not succeeded, or has no output."""
    if not isinstance(op, dict) or op.get("name") != name:
        got = op.get("name") if isinstance(op, dict) else type(op).__name__
        raise ReplyError(f"the server answered about {got!r}, not {name}")
    meta = op.get("metadata") if isinstance(op.get("metadata"), dict) else {}
    state = normalise_state(meta.get("state"))
    if state != SUCCEEDED:
        raise ReplyError(f"the server says the job is {state[:60]!r}, not succeeded")
    output = meta.get("output") if isinstance(meta.get("output"), dict) else None
    if output is None and isinstance(op.get("response"), dict):
        output = op["response"]
    if not isinstance(output, dict):
        raise ReplyError("the server reports no output for this succeeded job")
    file_name = output.get("responsesFile")
    if isinstance(file_name, str) and file_name:
        return file_name
    inlined = output.get("inlinedResponses")
    items = inlined.get("inlinedResponses") if isinstance(inlined, dict) else inlined
    if not isinstance(items, list):
        raise ReplyError("the server reports no output for this succeeded job")
    return items


def result_line(item: Any, index: int) -> dict[str, Any]:
    """One results-file line for the `index`-th (0-based) inline answer."""
    if not isinstance(item, dict):
        raise ReplyError(f"inline answer {index + 1} is not a JSON object")
    metadata = item.get("metadata")
    key = metadata.get("key") if isinstance(metadata, dict) else None
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str) or not key:
        key = str(index + 1)
    if item.get("error") is not None:
        return {"key": key, "error": item["error"]}
    if isinstance(item.get("response"), dict):
        return {"key": key, "response": item["response"]}
    return {"key": key, "error": {"message": NO_ANSWER}}


def save_results(service: BatchService, record: Record, *, cancel: threading.Event | None = None) -> Saved:
    """Read the job from the server and write its inline answers as a verified results file."""
    key = record_key(record)
    name = batch_name(record) or key
    try:
        op = service.client.reader.get_json(name)
    except Exception as exc:  # noqa: BLE001 - every failure of the read is this job's transient error
        return _failed(service, key, str(describe_api_error(exc, f"get {name}")))
    try:
        items = inline_items(op, name)
    except ReplyError as exc:
        return _failed(service, key, f"{name}: {exc}")
    if isinstance(items, str):
        return _found_file(service, key, name, items)
    if cancel is not None and cancel.is_set():
        return Saved(False, message="download cancelled")
    target, alternative, ours = service.results_targets(record)
    try:
        paths.ensure_results_dir(target.parent)
    except OSError as exc:
        return _failed(service, key, f"{target.parent}: cannot create results directory: {exc.strerror}")
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        embeds, size, sha256 = _write(partial, items)
        expected = record_stats(record)["request_count"] or None
        input_file = record.get("input_file")
        input_path = Path(input_file) if isinstance(input_file, str) and Path(input_file).is_file() else None
        embed = record.get("kind") == "embed" or embeds
        verified = verify_file(partial, input_path, expected_count=expected, usage=not embed)  # one read
        check = verified.check
        if check.parse_errors:
            first = check.parse_errors[0]
            where = f"line {first.line}: " if first.line else ""
            raise ReplyError(f"results failed verification: {where}{first.message}")
        embedded = summarise_embeddings(partial) if embed else {}
        usage = verified.usage
        target = place_beside(partial, target, alternative, ours=ours)
    except (ReplyError, OSError) as exc:
        try:
            partial.unlink()
        except OSError:
            pass
        return _failed(service, key, f"{name}: {exc}" if isinstance(exc, ReplyError) else f"{target}: {exc}")

    def apply(rec: Record) -> None:
        mark_verified(rec, target, {**check.record_fields(), **embedded}, size, sha256, usage)
        rec["results_source"] = "inline"

    service.store.update(key, apply)
    summary = check.summary()
    vectors = describe_embeddings(embedded)
    return Saved(True, path=target, message=f"{summary}; {vectors}" if vectors else summary)


def _write(partial: Path, items: list[Any]) -> tuple[bool, int, str]:
    """Write the lines (private, flushed to disk). Returns (any answer is an embedding, size, sha256 hex)."""
    embeds = False
    digest = hashlib.sha256()
    size = 0
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        for index, item in enumerate(items):
            line = result_line(item, index)
            response = line.get("response")
            embeds = embeds or (isinstance(response, dict) and ("embedding" in response or "embeddings" in response))
            try:
                data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate escaped in the reply: keep it escaped
                data = (json.dumps(line, separators=(",", ":")) + "\n").encode("ascii")
            fh.write(data)
            digest.update(data)
            size += len(data)
        fh.flush()
        os.fsync(fh.fileno())
    return embeds, size, digest.hexdigest()


def _found_file(service: BatchService, key: str, name: str, file_name: str) -> Saved:
    """The job has an output file after all (a record that never had it): note it; the next pass downloads it."""

    def apply(rec: Record) -> None:
        batch = rec.get("batch")
        if isinstance(batch, dict):
            dest = batch.get("dest") if isinstance(batch.get("dest"), dict) else {}
            batch["dest"] = {**dest, "file_name": file_name}

    service.store.update(key, apply)
    return Saved(False, message=f"{name}: its results are in {file_name}; downloaded on the next pass", busy=True)


def _failed(service: BatchService, key: str, message: str) -> Saved:
    def apply(rec: Record) -> None:
        rec["results_error"] = message
        rec["results_attempts"] = int(rec.get("results_attempts") or 0) + 1

    try:
        service.store.update(key, apply)
    except Exception:  # noqa: BLE001 - the outcome still reports the failure
        pass
    return Saved(False, message=message)
