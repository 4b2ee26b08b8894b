"""Provides splitting of an input file that exceeds a per-job limit into parts, each submitted as its own job.

A part holds consecutive requests of the input, in order, so the parts' results put back together part by part
are the input's order. Limits per part (any may be None = no limit):
- `max_requests`: requests (non-blank lines);
- `max_bytes`: bytes of the uploaded copy, counted as the canonical line plus media.FILE_DATA_OVERHEAD per
  `[[FILE:]]` reference (the marker becomes a longer fileData part when uploaded);
- `max_tokens`: estimated prompt tokens (core.pricing), so that each part fits the model's enqueued-token budget.
A single request over a limit becomes a part of its own.

Two ways through the file, both streaming (bounded memory whatever the size):
- fast: when the input is canonical and no token limit applies, lines are copied byte for byte without parsing,
  and each part's token estimate is its share (by bytes) of the whole file's estimate;
- parsed: otherwise every line is parsed, written in canonical form (markers kept: they are replaced at upload
  time, when the media URIs are known), and estimated line by line.
Parts are written to temporary names and renamed to `<stem>.part-001-of-003.jsonl` once the count is known.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gembatch_tui.core.submit import media
from gembatch_tui.core.errors import Cancelled
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.api.pricing import estimate_request_tokens
from gembatch_tui.core.submit.input_read import canonical_line, iter_parsed
from gembatch_tui.core.submit.validate import ValidationReport

CANCEL_CHECK_BYTES = 1 << 22
FAST_BLOCK = 1 << 22


@dataclass
class PartInfo:
    """One written part."""

    path: Path
    index: int  # 1-based
    count: int
    size_bytes: int
    est_tokens: int
    sha256: str
    media_refs: int = 0


def upload_bytes_estimate(report: ValidationReport) -> int:
    """The size of the uploaded copy, allowing for fileData parts that replace markers."""
    return report.size_bytes + report.media_refs * media.FILE_DATA_OVERHEAD


def split_reason(report: ValidationReport, limits: JobLimits, budget: int | None) -> str | None:
    """Why this input must be split (one phrase), or None when it fits in one job."""
    if limits.max_requests_per_job and report.request_count > limits.max_requests_per_job:
        return f"{report.request_count} requests, over {limits.max_requests_per_job} per job"
    if limits.max_bytes_per_job and upload_bytes_estimate(report) > limits.max_bytes_per_job:
        return f"{upload_bytes_estimate(report)} bytes, over {limits.max_bytes_per_job} per job"
    if budget and report.est_input_tokens > budget:
        return f"~{report.est_input_tokens} tokens, over the enqueued-token budget of {budget}"
    return None


def part_name(stem: str, index: int, total: int) -> str:
    return f"{stem}.part-{index:03d}-of-{total:03d}.jsonl"


class _Writer:
    """Opens parts as needed and keeps their counters."""

    def __init__(self, dest_dir: Path, max_requests: int | None, max_bytes: int | None, max_tokens: int | None):
        self.dest_dir = dest_dir
        self.limits = (max_requests, max_bytes, max_tokens)
        self.parts: list[PartInfo] = []
        self._fh: IO[bytes] | None = None
        self._sha: Any = None
        self._cost = 0  # bytes counted against max_bytes (with the media allowance)

    def fits(self, cost: int, tokens: int) -> bool:
        if not self.parts or self._fh is None:
            return False
        part = self.parts[-1]
        if part.count == 0:
            return True
        max_requests, max_bytes, max_tokens = self.limits
        return not (
            (max_requests is not None and part.count + 1 > max_requests)
            or (max_bytes is not None and self._cost + cost > max_bytes)
            or (max_tokens is not None and part.est_tokens + tokens > max_tokens)
        )

    def add(self, line: bytes, cost: int, tokens: int, refs: int = 0) -> None:
        if not self.fits(cost, tokens):
            self._open()
        assert self._fh is not None
        self._fh.write(line)
        self._sha.update(line)
        part = self.parts[-1]
        part.count += 1
        part.size_bytes += len(line)
        part.est_tokens += tokens
        part.media_refs += refs
        self._cost += cost

    def add_lines(self, chunk: bytes) -> None:
        """Append complete LF-terminated lines (no blank ones), cutting parts only between lines."""
        max_requests, max_bytes, _max_tokens = self.limits
        while chunk:
            if self._fh is None:
                self._open()
            part = self.parts[-1]
            room_bytes = len(chunk) if max_bytes is None else max_bytes - self._cost
            room_lines = None if max_requests is None else max_requests - part.count
            cut = len(chunk) if room_bytes >= len(chunk) else chunk.rfind(b"\n", 0, max(room_bytes, 0)) + 1
            if room_lines is not None and cut and chunk.count(b"\n", 0, cut) > room_lines:
                cut = _after_nth_newline(chunk, room_lines)
            if cut == 0:
                if part.count:
                    self._open()
                    continue
                cut = chunk.find(b"\n") + 1  # one line over the limit: a part of its own
            piece, chunk = chunk[:cut], chunk[cut:]
            self._fh.write(piece)
            self._sha.update(piece)
            part.count += piece.count(b"\n")
            part.size_bytes += len(piece)
            self._cost += len(piece)
            if chunk:
                self._open()

    def _open(self) -> None:
        self._close()
        index = len(self.parts) + 1
        path = self.dest_dir / f".part-{index}.tmp"
        self._fh = open(path, "wb")  # noqa: SIM115 - closed in _close
        self._sha = hashlib.sha256()
        self._cost = 0
        self.parts.append(PartInfo(path, index, 0, 0, 0, ""))

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self.parts[-1].sha256 = self._sha.hexdigest()
            self._fh = None

    def finish(self, stem: str) -> list[PartInfo]:
        self._close()
        total = len(self.parts)
        for part in self.parts:
            final = self.dest_dir / part_name(stem, part.index, total)
            os.replace(part.path, final)
            part.path = final
        return self.parts

    def abort(self) -> None:
        self._close()
        for part in self.parts:
            try:
                os.unlink(part.path)
            except OSError:
                pass


def _after_nth_newline(data: bytes, n: int) -> int:
    pos = 0
    for _ in range(n):
        pos = data.find(b"\n", pos) + 1
    return pos


def write_parts(
    src: str | os.PathLike[str],
    dest_dir: str | os.PathLike[str],
    *,
    report: ValidationReport,
    max_requests: int | None = None,
    max_bytes: int | None = None,
    max_tokens: int | None = None,
    cancel: threading.Event | None = None,
) -> list[PartInfo]:
    """Write the parts of a validated input into `dest_dir` (which must exist); returns them in order.

    Raises ValueError on an invalid line (validate first), OSError on I/O errors, Cancelled when `cancel` is set;
    on any failure the parts written so far are removed.
    """
    src_path, out_dir = Path(src), Path(dest_dir)
    writer = _Writer(out_dir, max_requests, max_bytes, max_tokens)
    try:
        if not report.needs_normalising and max_tokens is None:
            _copy_fast(src_path, writer, cancel)
            total_bytes = sum(p.size_bytes for p in writer.parts) or 1
            for part in writer.parts:
                part.est_tokens = max(1, round(report.est_input_tokens * part.size_bytes / total_bytes))
        else:
            _copy_parsed(src_path, writer, report.kind, cancel)
        return writer.finish(Path(src_path.name).stem)
    except BaseException:
        writer.abort()
        raise


def _copy_fast(src: Path, writer: _Writer, cancel: threading.Event | None) -> None:
    """Copy whole blocks of lines (a canonical input has no blank lines); CRLF endings become LF."""
    carry = b""
    with open(src, "rb") as f:
        while block := f.read(FAST_BLOCK):
            if cancel is not None and cancel.is_set():
                raise Cancelled("split cancelled")
            data = carry + block
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                lines = data[:cut]
                writer.add_lines(lines.replace(b"\r\n", b"\n") if b"\r" in lines else lines)
    if carry.strip():
        writer.add_lines(carry.rstrip(b"\r") + b"\n")


def _copy_parsed(src: Path, writer: _Writer, kind: str, cancel: threading.Event | None) -> None:
    next_check = CANCEL_CHECK_BYTES
    for _line_no, offset, raw, key, request, canonical in iter_parsed(src, kind):
        if offset >= next_check:
            next_check = offset + CANCEL_CHECK_BYTES
            if cancel is not None and cancel.is_set():
                raise Cancelled("split cancelled")
        refs = len(media.find_refs(request)) if media.MARKER_BYTES in raw else 0
        estimate_of = media.substitute(request, media.placeholder) if refs else request
        line = canonical_line(raw, key, request, canonical)
        writer.add(line, len(line) + refs * media.FILE_DATA_OVERHEAD, estimate_request_tokens(estimate_of), refs)
