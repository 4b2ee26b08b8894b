"""Provides the check of `fileData` parts in batch requests against the emulator's Files.

Why: on the real service a request that names an uploaded file which is gone (deleted, expired) or not ACTIVE
yet (video still PROCESSING) fails, per request, instead of being answered. The check is made once, when
the job is created, and its verdict kept: `failed` indices plus the messages per file, both persisted (a state
dir written before the messages were saved answers those lines with a general message).
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import results
from .files import ACTIVE, FileRecord
from .synth import get

FILE_REF_BYTES = (b"fileUri", b"file_uri")
_FILE_PATH_RE = re.compile(r"(?:^|/)files/([a-z0-9][a-z0-9-]{0,39})$")
GENERIC_PROBLEM = "A file named by fileData.fileUri was missing or not ACTIVE when the batch was created."

Verdicts = dict[str, str | None]  # file id -> why it cannot be used (None: usable)


def missing(file_id: str) -> str:
    return f"You do not have permission to access the File {file_id} or it may not exist."


def not_active(file_id: str) -> str:
    return f"The File {file_id} is not in an ACTIVE state and usage is not allowed."


def file_ids(request: Any) -> list[str]:
    """The Files API ids a request's fileData parts point at; other URIs (YouTube, gs://) are not ours."""
    out: list[str] = []
    for field in ("contents", "content", "systemInstruction", "system_instruction"):
        value = get(request, field)
        for content in value if isinstance(value, list) else [value]:
            for part in get(content, "parts") or []:
                data = get(part, "fileData", "file_data")
                uri = get(data, "fileUri", "file_uri")
                if isinstance(uri, str):
                    path = urlsplit(uri).path if "://" in uri else uri
                    found = _FILE_PATH_RE.search(path)
                    if found:
                        out.append(found.group(1))
    return out


def verdicts(files: dict[str, FileRecord], now: float) -> Verdicts:
    """Every current file's usability now (caller holds the state lock; a dict copy, so the scan needs none)."""
    out: Verdicts = {}
    for fid, rec in files.items():
        if rec.expires <= now:
            out[fid] = missing(fid)
        elif rec.state_at(now) != ACTIVE:
            out[fid] = not_active(fid)
        else:
            out[fid] = None
    return out


def problem_of(request: Any, known: Verdicts) -> tuple[str, str] | None:
    """(file id, message) of the first unusable file the request names, else None."""
    for fid in file_ids(request):
        why = known[fid] if fid in known else missing(fid)
        if why is not None:
            return fid, why
    return None


def scan_file(path: Path, kind: str, known: Verdicts) -> tuple[list[int], dict[str, str]]:
    """(indices of requests that name an unusable file, message per such file). Only lines that mention a
    fileUri are parsed; indices count lines as results.scan_input does."""
    bad: list[int] = []
    messages: dict[str, str] = {}
    with open(path, "rb") as f:
        if not _mentions_files(f):  # most inputs: one fast search instead of a second pass over the lines
            return bad, messages
        for index, (lineno, raw) in enumerate(results.iter_lines(f)):
            if raw is None or not any(marker in raw for marker in FILE_REF_BYTES):
                continue
            checked = results.check_line(raw, lineno, kind)
            if checked.error is None and checked.request is not None:
                found = problem_of(checked.request, known)
                if found is not None:
                    bad.append(index)
                    messages.setdefault(*found)
    return bad, messages


def _mentions_files(f: Any) -> bool:
    if os.fstat(f.fileno()).st_size == 0:
        return False
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        return any(view.find(marker) != -1 for marker in FILE_REF_BYTES)


def check_inline(items: list[results.Checked], known: Verdicts) -> list[results.Checked]:
    """Inline requests with an error set on those that name an unusable file."""
    out = []
    for item in items:
        found = problem_of(item.request, known) if item.error is None and item.request is not None else None
        out.append(item._replace(error=found[1]) if found else item)
    return out


def merge(failed: array[int], extra: Iterable[int]) -> array[int]:
    return array("I", sorted(set(failed).union(extra)))


def write_results(
    in_path: Path, out_path: Path, kind: str, model: str, seed: int, failed: array[int], messages: dict[str, str]
) -> tuple[int, str]:
    """results.write_results, except that a request marked failed at creation whose line is itself fine fails
    for its file (the verdict of creation time stands, whatever happened to the file since)."""
    marked = set(failed)
    hasher = hashlib.sha256()
    size = 0
    with open(in_path, "rb") as src, open(out_path, "wb") as dst:
        for index, (lineno, raw) in enumerate(results.iter_lines(src)):
            checked = results.check_line(raw, lineno, kind)
            if index in marked and checked.error is None:
                why = next((messages[f] for f in file_ids(checked.request) if f in messages), GENERIC_PROBLEM)
                checked = checked._replace(error=why)
            data = (results.file_result_line(checked, kind, model, seed, index) + "\n").encode("utf-8")
            hasher.update(data)
            dst.write(data)
            size += len(data)
    return size, hasher.hexdigest()
