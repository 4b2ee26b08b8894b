"""Provides a memory-compact multiset of request keys, for duplicate and missing-key checks on huge files.

A batch file can hold millions of requests. A `set` or `dict` of a million key strings costs well over 100 MB,
so each key is kept as a 64-bit BLAKE2b digest instead, and only its line number and byte offset stay in memory
(12 bytes a key, in `array`s). Digests are sorted in runs of RUN_SIZE and each full run is spilled to an
anonymous temporary file; duplicates and differences are then found by streaming a k-way merge of the runs, so
memory stays at ~12 bytes a key plus one run, however big the file. The key text is never kept: callers re-read
the few lines they report by seeking to the stored offset.

Two different keys share a 64-bit digest with probability about n**2 / 2**65 (3e-8 for a million keys), so
equal digests are treated as equal keys; callers that report a duplicate re-read both lines and drop a false one.
"""

from __future__ import annotations

import heapq
import sys
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from hashlib import blake2b
from typing import IO

RUN_SIZE = 1 << 18  # keys sorted in memory at a time (~12 MB of transient Python ints)
_BLOCK = 1 << 13  # records read back from a spilled run at a time
_MASK32 = 0xFFFFFFFF


def key_hash(key: str) -> int:
    """The 64-bit digest a key is stored as."""
    return int.from_bytes(blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class Entry:
    """Where one stored key was seen: its insertion index, 1-based line number and byte offset of the line."""

    index: int
    line: int
    offset: int


class KeySet:
    """Append-only multiset of keys; after the last `add`, ask for duplicates or differences (any number of times)."""

    def __init__(self, run_size: int | None = None) -> None:
        self._run_size = run_size or RUN_SIZE
        self._pending = array("Q")  # digests not yet sorted into a run
        self._lines = array("I")
        self._offsets = array("Q")
        self._spill: IO[bytes] | None = None
        self._runs: list[tuple[int, int]] = []  # (byte position, record count) of each spilled run
        self._tail: list[int] | None = None  # the last, unspilled run once finished

    def __len__(self) -> int:
        return len(self._lines)

    def __enter__(self) -> KeySet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the spill file, if any (also happens when the KeySet is garbage-collected)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None
            self._runs = []

    def add(self, key: str, line: int, offset: int) -> None:
        if self._tail is not None:
            raise RuntimeError("KeySet is finished; no more keys can be added")
        self._pending.append(key_hash(key))
        self._lines.append(line)
        self._offsets.append(offset)
        if len(self._pending) >= self._run_size:
            self._spill_run()

    def add_many(self, keys: Iterable[str], lines: Iterable[int], offsets: Iterable[int]) -> None:
        """`add` for a block of keys: the same digests, in half the time of a call of `add` per key."""
        if self._tail is not None:
            raise RuntimeError("KeySet is finished; no more keys can be added")
        digests = array("Q", b"".join([blake2b(k.encode("utf-8", "surrogatepass"), digest_size=8).digest()
                                       for k in keys]))
        if sys.byteorder != "little":  # key_hash reads the digest as little-endian
            digests.byteswap()
        self._pending.extend(digests)
        self._lines.extend(lines)
        self._offsets.extend(offsets)
        if len(self._pending) >= self._run_size:
            self._spill_run()

    def entry(self, index: int) -> Entry:
        return Entry(index, self._lines[index], self._offsets[index])

    def _sorted_pending(self) -> list[int]:
        """Pending digests as sorted (digest << 32 | index) ints; clears the pending buffer."""
        base = len(self._lines) - len(self._pending)
        combined = sorted((h << 32) | i for i, h in enumerate(self._pending, base))
        self._pending = array("Q")
        return combined

    def _spill_run(self) -> None:
        combined = self._sorted_pending()
        records = array("Q", bytes(16 * len(combined)))
        records[0::2] = array("Q", (v >> 32 for v in combined))
        records[1::2] = array("Q", (v & _MASK32 for v in combined))
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="gembatch-keys-")  # noqa: SIM115 - closed in close()
        self._spill.seek(0, 2)
        self._runs.append((self._spill.tell(), len(combined)))
        records.tofile(self._spill)

    def _read_run(self, position: int, count: int) -> Iterator[int]:
        spill = self._spill
        assert spill is not None
        done = 0
        while done < count:
            n = min(_BLOCK, count - done)
            spill.seek(position + 16 * done)  # runs are read interleaved, so always seek first
            block = array("Q")
            block.frombytes(spill.read(16 * n))
            pairs = iter(block)
            for h, i in zip(pairs, pairs):
                yield (h << 32) | i
            done += n

    def _stream(self) -> Iterator[int]:
        """Every key as (digest << 32 | index), sorted by digest then insertion order."""
        if self._tail is None:
            if len(self._lines) > _MASK32:
                raise ValueError("too many keys")
            self._tail = self._sorted_pending()
        sources = [self._read_run(pos, n) for pos, n in self._runs]
        if not sources:
            return iter(self._tail)
        sources.append(iter(self._tail))
        return heapq.merge(*sources)

    def duplicates(self, limit: int) -> tuple[list[tuple[Entry, Entry]], int]:
        """(repeat, first occurrence) pairs for the `limit` earliest repeats, and how many repeats there are in all.

        Every occurrence of a key after its first counts as one repeat.
        """
        heap: list[tuple[int, int]] = []  # (-repeat index, first index): a max-heap keeps the smallest indices
        total = 0
        prev = -1
        first = 0
        for v in self._stream():
            h = v >> 32
            if h == prev:
                total += 1
                _push_smallest(heap, limit, (-(v & _MASK32), first))
            else:
                prev, first = h, v & _MASK32
        pairs = sorted((-neg, first) for neg, first in heap)
        return [(self.entry(i), self.entry(f)) for i, f in pairs], total

    def difference(self, other: KeySet, limit: int) -> tuple[list[Entry], int]:
        """Distinct keys in self and not in `other`: first occurrences of the `limit` earliest, and the count."""
        theirs = other._stream()
        their_h = next(theirs, -1) >> 32 if len(other) else None
        heap: list[tuple[int, int]] = []
        total = 0
        prev = -1
        for v in self._stream():
            h = v >> 32
            if h == prev:
                continue
            prev = h
            while their_h is not None and their_h < h:
                nxt = next(theirs, None)
                their_h = None if nxt is None else nxt >> 32
            if their_h == h:
                continue
            total += 1
            _push_smallest(heap, limit, (-(v & _MASK32), 0))
        return [self.entry(-neg) for neg, _ in sorted(heap, reverse=True)], total


def _push_smallest(heap: list[tuple[int, int]], limit: int, item: tuple[int, int]) -> None:
    """Keep the `limit` items with the smallest index in a max-heap of negated indices."""
    if limit <= 0:
        return
    if len(heap) < limit:
        heapq.heappush(heap, item)
    elif item[0] > heap[0][0]:
        heapq.heapreplace(heap, item)
