"""Provides the key map `prepare` writes beside its batch file, and finding it again from a job's input path.

`<name>.batch.jsonl` gets `<name>.batch.map.jsonl`: JSON Lines, so a script can join results to rows with any
JSONL tool, and so it streams like the batch file.
- line 1, the header: `{"gembatch_prepare": 1, "source": ABS PATH, "format": "csv", "source_size": N,
  "source_mtime_ns": N, "columns": [...] or null, "id_column": COL or null, "batch": ABS PATH,
  "answer_fields": [...], "template": TEXT}`;
- then one line per request, in batch order: `{"key": K, "row": R, "line": L}` (the record number and the line
  of the data file it starts on; batch line R is record R);
- last, the trailer: `{"end": {"rows": N, "columns": [...], "source_sha256": HEX}}` (columns: for JSON and JSONL
  every field name seen, in first-seen order, which is only known at the end; the digest of the data file as it
  was read, absent when it changed meanwhile or in maps of older versions).
Export finds the map by the job's input path (the batch file) and re-reads the source rows in order, checking
each row's key against the batch's, so no copy of the data is kept. A data file whose size and mtime are as they
were is taken as unchanged; one with another mtime but the same size (copied, checked out, touched) is compared by
its sha256, so only a change of content stops the join.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gembatch_tui.core.results import fingerprint

VERSION = 1


def map_path_for(batch_path: str | os.PathLike[str]) -> Path:
    """`x.batch.jsonl` -> `x.batch.map.jsonl`; any other name gets `.map.jsonl` added."""
    path = Path(batch_path)
    if path.suffix.lower() == ".jsonl":
        return path.with_name(path.name[: -len(".jsonl")] + ".map.jsonl")
    return path.with_name(path.name + ".map.jsonl")


def header(
    *, source: Path, fmt: str, columns: list[str] | None, id_column: str | None, batch: Path,
    answer_fields: list[str], template: str,
) -> dict[str, Any]:
    st = os.stat(source)
    return {
        "gembatch_prepare": VERSION, "source": str(source), "format": fmt, "source_size": st.st_size,
        "source_mtime_ns": st.st_mtime_ns, "columns": columns, "id_column": id_column, "batch": str(batch),
        "answer_fields": answer_fields, "template": template,
    }


def write_json_line(out: IO[bytes], obj: Any) -> None:
    out.write((json.dumps(obj, separators=(",", ":")) + "\n").encode("ascii"))  # a path or template may hold anything


@dataclass
class PreparedMap:
    """What export needs from a map: the header, the trailer, and whether the source is as it was."""

    path: Path
    header: dict[str, Any]
    rows: int
    columns: list[str]
    problem: str | None  # why the source rows cannot be joined any more (moved, changed), or None
    source_sha256: str | None = None  # the data file's digest when it was prepared (None: not recorded)

    @property
    def source(self) -> Path:
        return Path(self.header["source"])

    @property
    def answer_fields(self) -> list[str]:
        fields = self.header.get("answer_fields")
        return [str(f) for f in fields] if isinstance(fields, list) else []


def find_map(batch_path: str | os.PathLike[str] | None) -> PreparedMap | None:
    """The map of a prepared batch file, or None when the file was not made by `prepare` (or its map is
    unreadable: the export is then the plain one)."""
    if batch_path is None:
        return None
    path = map_path_for(batch_path)
    try:
        with open(path, "rb") as f:
            head = json.loads(f.readline())
            tail = json.loads(_last_line(f))
    except (OSError, ValueError):
        return None
    if not isinstance(head, dict) or head.get("gembatch_prepare") != VERSION or not isinstance(tail, dict):
        return None
    end = tail.get("end")
    if not isinstance(end, dict) or not isinstance(head.get("source"), str):
        return None
    columns = end.get("columns") if isinstance(end.get("columns"), list) else head.get("columns") or []
    digest = end.get("source_sha256")
    prepared = PreparedMap(path, head, int(end.get("rows") or 0), [str(c) for c in columns], None,
                           digest if isinstance(digest, str) else None)
    prepared.problem = _source_problem(prepared)
    return prepared


def _source_problem(prepared: PreparedMap) -> str | None:
    source = prepared.source
    try:
        st = os.stat(source)
    except OSError:
        return f"the data file {source} it was prepared from is gone"
    if st.st_size != prepared.header.get("source_size"):
        return f"the data file {source} changed since it was prepared"
    if st.st_mtime_ns != prepared.header.get("source_mtime_ns"):
        if prepared.source_sha256 is None:
            return f"the data file {source} changed since it was prepared (its modification time differs)"
        try:
            same = fingerprint.current(source).sha256 == prepared.source_sha256  # once for a note and the export
        except OSError as exc:
            return f"the data file {source} cannot be read: {exc.strerror or exc}"
        if not same:
            return f"the data file {source} changed since it was prepared"
    return None


class SourceDigest:
    """The data file's sha256, taken in a thread while `prepare` reads the rows (hashlib lets go of the GIL, and
    the second read comes from the page cache). `result` is None when the file was not the same from the header's
    stat to the end, or could not be read: the map then records no digest."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self._path, self._header = path, header
        self._digest: str | None = None
        self._thread = threading.Thread(target=self._run, name="gembatch-prepare-digest", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._digest = fingerprint.compute(self._path).sha256
        except OSError:
            self._digest = None

    def result(self) -> str | None:
        self._thread.join()
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        if (st.st_size, st.st_mtime_ns) != (self._header.get("source_size"), self._header.get("source_mtime_ns")):
            return None
        return self._digest


def _last_line(f: IO[bytes]) -> bytes:
    f.seek(0, os.SEEK_END)
    end = f.tell()
    step = 4096
    pos = end
    data = b""
    while pos > 0:
        pos = max(0, pos - step)
        f.seek(pos)
        data = f.read(end - pos)
        lines = data.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or pos == 0:
            return lines[-1]
        step *= 2
    return data


__all__ = ["PreparedMap", "SourceDigest", "VERSION", "find_map", "header", "map_path_for", "write_json_line"]
