"""Provides the index pass of a results join: one streaming scan of each file, key digests, and the join by digest.

Why it is its own module: this is the part that reads every byte of files of hundreds of MB, and what it
leaves behind is small: `RowColumns`, five parallel arrays (~25 bytes a row) that ResultsIndex reads rows
through. Only a 64-bit digest of each key is kept (as keyset.py does), never the key itself.
"""

from __future__ import annotations

import json
import os
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core.submit.keyset import key_hash
from gembatch_tui.core.results.status import DUPLICATE, INVALID, MISSING, STATUS_NAMES, UNEXPECTED, classify
from gembatch_tui.core.submit.input_read import iter_keys

PROGRESS_STEP = 1 << 20  # report progress about every MiB
_MASK32 = 0xFFFFFFFF

Progress = Callable[[int, int], None]
ResultHook = Callable[[dict[str, Any]], None]
InputKeys = tuple[array, array, array]  # digests, line offsets, line numbers of the input's keys


class IndexCancelled(Exception):
    """The caller's cancel event was set during a pass."""


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise IndexCancelled()


@dataclass
class InputScan:
    """What the pass over the input file found."""

    keys: InputKeys | None
    """(digests, offsets, line numbers) of the input's keys, or None when there is no usable input."""
    size: int = 0
    problem: str | None = None
    """Why the input cannot be joined (unreadable or no longer valid), or None."""


class RowColumns:
    """Per row of the join, in row order: where its input and result lines are, and its status."""

    def __init__(self) -> None:
        self.in_off = array("q")  # per row: input line offset, -1 for none
        self.in_line = array("I")  # per row: input line number, 0 for none
        self.res_off = array("q")  # per row: result line offset, -1 for none
        self.res_line = array("I")  # per row: result line number, 0 for none
        self.status = array("B")
        self.counts = [0] * len(STATUS_NAMES)
        """Rows per status, indexed by OK, ERROR, MISSING, ..."""

    def add(self, in_off: int, in_line: int, res_off: int, res_line: int, status: int) -> None:
        self.in_off.append(in_off)
        self.in_line.append(in_line)
        self.res_off.append(res_off)
        self.res_line.append(res_line)
        self.status.append(status)
        self.counts[status] += 1


def scan_input(input_path: Path, results_size: int, progress: Progress | None,
               cancel: threading.Event | None) -> InputScan:
    """One pass over the input file; progress counts it as the first part of input + results."""
    digests, offsets, lines = array("Q"), array("q"), array("I")
    size = 0
    try:
        size = os.path.getsize(input_path)
        total = size + results_size
        next_tick = PROGRESS_STEP
        for line_no, offset, key in iter_keys(input_path):
            digests.append(key_hash(key))
            offsets.append(offset)
            lines.append(line_no)
            if offset >= next_tick:
                next_tick = offset + PROGRESS_STEP
                check_cancel(cancel)
                if progress is not None:
                    progress(offset, total)
    except ValueError as exc:
        return InputScan(None, size, f"input file is not valid: {exc}")
    except OSError as exc:
        return InputScan(None, size, f"{input_path}: cannot read input file: {exc.strerror or exc}")
    return InputScan((digests, offsets, lines), size)


def scan_and_join(
    results_path: Path,
    results_size: int,
    inputs: InputKeys | None,
    input_size: int,
    progress: Progress | None,
    cancel: threading.Event | None,
    on_result: ResultHook | None,
) -> RowColumns:
    """One pass over the results file, then the join with the input's keys (if any)."""
    digests, offsets, lines, states = array("Q"), array("q"), array("I"), array("B")
    base = input_size if inputs is not None else 0
    total = base + results_size
    next_tick = PROGRESS_STEP
    offset = 0
    with open(results_path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            line_offset = offset
            offset += len(raw)
            if offset >= next_tick:
                next_tick = offset + PROGRESS_STEP
                check_cancel(cancel)
                if progress is not None:
                    progress(base + offset, total)
            if raw.isspace():
                continue
            digest, state = 0, INVALID
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):
                obj = None
            key, state = classify(obj)
            if key is not None:
                digest = key_hash(key)
                if on_result is not None:
                    on_result(obj)
            digests.append(digest)
            offsets.append(line_offset)
            lines.append(line_no)
            states.append(state)
    if progress is not None:
        progress(total, total)
    return join(inputs, digests, offsets, lines, states)


def join(inputs: InputKeys | None, digests: array, offsets: array, lines: array, states: array) -> RowColumns:
    """The rows: input requests in input order (matched or missing), then unmatched result lines in order."""
    rows = RowColumns()
    n = len(digests)
    if n >= _MASK32:
        raise ValueError("too many result lines")
    table = DigestTable(digests)
    repeat = bytearray(n)  # 1 for every line whose key an earlier line already had
    for i in range(n):
        if states[i] != INVALID and not table.add(i):
            repeat[i] = 1
    matched = bytearray(n)
    if inputs is not None:
        in_h, in_off, in_line = inputs
        for j, h in enumerate(in_h):
            i = table.get(h)
            if i >= 0:
                matched[i] = 1
                rows.add(in_off[j], in_line[j], offsets[i], lines[i], states[i])
            else:
                rows.add(in_off[j], in_line[j], -1, 0, MISSING)
    del table
    for i in range(n):
        if matched[i]:
            continue
        state = states[i]
        if state != INVALID and repeat[i]:
            state = DUPLICATE
        elif state != INVALID and inputs is not None:
            state = UNEXPECTED
        rows.add(-1, 0, offsets[i], lines[i], state)
    return rows


class DigestTable:
    """An open-addressing hash table from key digest to the first result line with it, in one flat array.

    A slot holds a line's index + 1 (0 is free) and the digest is read from `digests`, so the table costs
    4 bytes a slot at most 2/3 full: ~6 bytes a result line and no Python object per key (a dict of a million
    keys would cost ~100 MB). Digests are uniform, so their low bits pick the slot.
    """

    def __init__(self, digests: array) -> None:
        size = 1 << max(4, (len(digests) * 3 // 2).bit_length())
        self._mask = size - 1
        self._slots = array("I", [0]) * size
        self._digests = digests

    def add(self, index: int) -> bool:
        """Store line `index` under its digest unless a line with that digest is there already; True if new."""
        digest = self._digests[index]
        pos = digest & self._mask
        while True:
            held = self._slots[pos]
            if held == 0:
                self._slots[pos] = index + 1
                return True
            if self._digests[held - 1] == digest:
                return False
            pos = (pos + 1) & self._mask

    def get(self, digest: int) -> int:
        """The first line index stored with `digest`, or -1."""
        pos = digest & self._mask
        while True:
            held = self._slots[pos]
            if held == 0:
                return -1
            if self._digests[held - 1] == digest:
                return held - 1
            pos = (pos + 1) & self._mask


__all__ = [
    "PROGRESS_STEP",
    "DigestTable",
    "IndexCancelled",
    "InputScan",
    "Progress",
    "ResultHook",
    "RowColumns",
    "check_cancel",
    "join",
    "scan_and_join",
    "scan_input",
]
