"""KeySet's set path (nothing spilled, issue 18) answers duplicates and differences exactly as its merge of spilled
runs does: the same repeats, first occurrences and counts, for any limit."""

from __future__ import annotations

import random

import pytest

from gembatch_tui.core.submit.keyset import KeySet, digests_of


def _fill(keys: list[str], run_size: int) -> KeySet:
    ks = KeySet(run_size=run_size)
    half = len(keys) // 2
    for i, key in enumerate(keys[:half]):
        ks.add(key, i + 1, i * 10)
    ks.add_many(keys[half:], range(half + 1, len(keys) + 1), range(half * 10, len(keys) * 10, 10))
    return ks


def _answers(a: KeySet, b: KeySet, limit: int) -> tuple:
    return a.duplicates(limit), a.difference(b, limit), b.difference(a, limit), b.duplicates(limit)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("limit", [0, 1, 3, 200])
def test_set_path_matches_the_merge(seed: int, limit: int) -> None:
    rng = random.Random(seed)
    pool = [f"k{i}" for i in range(rng.randint(1, 400))]
    a_keys = [rng.choice(pool) for _ in range(rng.randint(0, 500))]
    b_keys = [rng.choice(pool) for _ in range(rng.randint(0, 500))]
    with _fill(a_keys, 1 << 20) as a, _fill(b_keys, 1 << 20) as b, _fill(a_keys, 7) as a2, _fill(b_keys, 7) as b2:
        assert a._in_memory() and b._in_memory() and (not a_keys[7:] or not a2._in_memory())
        fast, merged = _answers(a, b, limit), _answers(a2, b2, limit)
        assert fast == merged
        assert _answers(a, b, limit) == fast  # asked again: the same


def test_set_path_answers_and_then_takes_no_more_keys() -> None:
    keys = ["a", "b", "a", "c", "b", "a"]
    with _fill(keys, 1 << 20) as got, _fill(["a", "d", "c"], 1 << 20) as wanted:
        pairs, total = got.duplicates(10)
        assert total == 3
        assert [(r.index, f.index) for r, f in pairs] == [(2, 0), (4, 1), (5, 0)]
        assert [r.line for r, _ in pairs] == [3, 5, 6] and pairs[0][0].offset == 20
        extra, n_extra = got.difference(wanted, 10)
        assert ([e.index for e in extra], n_extra) == ([1], 1)
        missing, n_missing = wanted.difference(got, 10)
        assert ([e.index for e in missing], n_missing) == ([1], 1)
        with pytest.raises(RuntimeError):
            got.add("z", 9, 90)
        with pytest.raises(RuntimeError):
            wanted.add_many(["z"], [9], [90])


def test_mixed_paths_one_spilled() -> None:
    rng = random.Random(9)
    a_keys = [f"k{rng.randrange(300)}" for _ in range(400)]
    b_keys = [f"k{rng.randrange(300)}" for _ in range(50)]
    with _fill(a_keys, 16) as a, _fill(b_keys, 1 << 20) as b, _fill(a_keys, 1 << 20) as a_mem:
        assert not a._in_memory() and b._in_memory()
        assert b.difference(a, 5) == b.difference(a_mem, 5)
        assert a.difference(b, 5)[1] == a_mem.difference(b, 5)[1]


@pytest.mark.parametrize("run_size", [1 << 20, 5])
def test_digests_made_elsewhere_are_the_keys_own(run_size: int) -> None:
    """The results check gets the input's keys as digests from the process that read them (`digests_of`, then
    `add_digests`): every answer is the one the key strings give, spilled or not."""
    rng = random.Random(3)
    keys = [rng.choice(["a", "é", "k\ud800", "x" * 300, f"k{rng.randint(0, 50)}"]) for _ in range(120)]
    other = [f"k{i}" for i in range(40)]
    lines, offsets = range(1, 121), range(0, 1200, 10)
    with KeySet(run_size=run_size) as strings, KeySet(run_size=run_size) as digested, KeySet() as b:
        strings.add_many(keys, lines, offsets)
        digested.add_digests(digests_of(keys[:50]), lines[:50], offsets[:50])
        digested.add_digests(digests_of(keys[50:]), lines[50:], offsets[50:])
        b.add_many(other, range(1, 41), range(40))
        assert len(digested) == len(strings) == 120
        assert _answers(digested, b, 200) == _answers(strings, b, 200)
        assert digested.duplicates(200)[1] > 0  # the keys repeat: the comparison is not of empty answers


def test_digests_and_columns_must_agree() -> None:
    with KeySet() as ks:
        with pytest.raises(ValueError):
            ks.add_digests(digests_of(["a", "b"]), [1], [0])  # two keys, one line number
        with pytest.raises(ValueError):
            ks.add_digests(b"1234567", [1], [0])  # not 8 bytes a key
        assert len(ks) == 0  # nothing half-added
