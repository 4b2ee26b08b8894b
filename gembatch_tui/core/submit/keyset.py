"""Provides a memory-compact multiset of request keys, for duplicate and missing-key checks on huge files.

A batch file can hold millions of requests. A `set` or `dict` of a million key strings costs well over 100 MB,
so each key is kept as a 64-bit BLAKE2b digest instead, and only its line number and byte offset stay in memory
(12 bytes a key, in `array`s). Digests are sorted in runs of RUN_SIZE and each full run is spilled to an
anonymous temporary file; duplicates and differences are then found by streaming a k-way merge of the runs, so
memory stays at ~12 bytes a key plus one run, however big the file. The key text is never kept: callers re-read
the few lines they report by seeking to the stored offset.

While no run has been spilled (up to RUN_SIZE keys, the common case), duplicates and differences are found with
sets of the digests instead, in a fifth of the time, with the same answers: the check of a results file runs this
after its last byte arrives (issue 18).

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


def digests_of(keys: Iterable[str]) -> bytes:
    """The keys' 64-bit digests (`key_hash`, 8 bytes a key, little-endian), for `KeySet.add_digests`."""
    return b"".join([blake2b(k.encode("utf-8", "surrogatepass"), digest_size=8).digest() for k in keys])


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
        self._tail: list[int] | None = None  # the last, unspilled run once sorted for the stream
        self._done = False  # once asked for duplicates or a difference: no more keys
        self._distinct: set[int] | None = None  # the digests as a set, while nothing is spilled (_in_memory)

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
        if self._done:
            raise RuntimeError("KeySet is finished; no more keys can be added")
        self._pending.append(key_hash(key))
        self._lines.append(line)
        self._offsets.append(offset)
        if len(self._pending) >= self._run_size:
            self._spill_run()

    def add_many(self, keys: Iterable[str], lines: Iterable[int], offsets: Iterable[int]) -> None:
        """`add` for a block of keys: the same digests, in half the time of a call of `add` per key."""
        self.add_digests(digests_of(keys), lines, offsets)

    def add_digests(self, digests: bytes, lines: Iterable[int], offsets: Iterable[int]) -> None:
        """`add_many` for keys already digested (`digests_of`, 8 bytes a key), say by the process that read them:
        the results check gets the input's keys so, and does not hash them again itself."""
        if self._done:
            raise RuntimeError("KeySet is finished; no more keys can be added")
        if len(digests) % 8:
            raise ValueError("digests must be 8 bytes a key")
        block = array("Q", digests)
        if sys.byteorder != "little":  # key_hash reads the digest as little-endian
            block.byteswap()
        line_block, offset_block = array("I", lines), array("Q", offsets)
        if not len(line_block) == len(offset_block) == len(block):
            raise ValueError("one line number and one offset a key")
        self._pending.extend(block)
        self._lines.extend(line_block)
        self._offsets.extend(offset_block)
        if len(self._pending) >= self._run_size:
            self._spill_run()

    def entry(self, index: int) -> Entry:
        return Entry(index, self._lines[index], self._offsets[index])

    def _sorted_pending(self, keep: bool = False) -> list[int]:
        """Pending digests as sorted (digest << 32 | index) ints; clears the pending buffer unless `keep`."""
        base = len(self._lines) - len(self._pending)
        combined = sorted((h << 32) | i for i, h in enumerate(self._pending, base))
        if not keep:
            self._pending = array("Q")
        return combined

    def _in_memory(self) -> bool:
        """Whether every digest is still in `_pending`, in insertion order (nothing spilled): the set path."""
        return not self._runs and len(self._pending) == len(self._lines)

    def _digest_set(self) -> set[int]:
        self._done = True
        if self._distinct is None:
            self._distinct = set(self._pending)
        return self._distinct

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
        self._done = True
        if self._tail is None:
            if len(self._lines) > _MASK32:
                raise ValueError("too many keys")
            self._tail = self._sorted_pending(keep=not self._runs)  # kept for the set path
        sources = [self._read_run(pos, n) for pos, n in self._runs]
        if not sources:
            return iter(self._tail)
        sources.append(iter(self._tail))
        return heapq.merge(*sources)

    def duplicates(self, limit: int) -> tuple[list[tuple[Entry, Entry]], int]:
        """(repeat, first occurrence) pairs for the `limit` earliest repeats, and how many repeats there are in all.

        Every occurrence of a key after its first counts as one repeat.
        """
        if self._in_memory():
            return self._duplicates_in_memory(limit)
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

    def _duplicates_in_memory(self, limit: int) -> tuple[list[tuple[Entry, Entry]], int]:
        digests = self._pending
        total = len(digests) - len(self._digest_set())
        pairs: list[tuple[Entry, Entry]] = []
        if total and limit > 0:
            first: dict[int, int] = {}
            for i, h in enumerate(digests):  # in insertion order: the earliest repeats come first
                j = first.setdefault(h, i)
                if j != i:
                    pairs.append((self.entry(i), self.entry(j)))
                    if len(pairs) >= limit:
                        break
        return pairs, total

    def difference(self, other: KeySet, limit: int) -> tuple[list[Entry], int]:
        """Distinct keys in self and not in `other`: first occurrences of the `limit` earliest, and the count."""
        if self._in_memory() and other._in_memory():
            return self._difference_in_memory(other, limit)
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

    def _difference_in_memory(self, other: KeySet, limit: int) -> tuple[list[Entry], int]:
        other._done = True
        mine = self._digest_set()
        theirs = other._distinct
        only = mine.difference(theirs if theirs is not None else other._pending)
        entries: list[Entry] = []
        if only and limit > 0:
            seen: set[int] = set()
            for i, h in enumerate(self._pending):  # in insertion order: first occurrences, the earliest first
                if h in only and h not in seen:
                    seen.add(h)
                    entries.append(self.entry(i))
                    if len(entries) >= limit:
                        break
        return entries, len(only)


def _push_smallest(heap: list[tuple[int, int]], limit: int, item: tuple[int, int]) -> None:
    """Keep the `limit` items with the smallest index in a max-heap of negated indices."""
    if limit <= 0:
        return
    if len(heap) < limit:
        heapq.heappush(heap, item)
    elif item[0] > heap[0][0]:
        heapq.heapreplace(heap, item)
