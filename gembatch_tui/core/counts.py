"""Provides `counted` and `noun`: counts as people read them, `1 request`, `2 requests`, `1,234 jobs`.

Why one place: human output (CLI lines, the TUI) said `1 requests` in some places and `1234 jobs` in others;
every count that a person reads goes through these two, JSON output never does (it keeps plain numbers).
"""

from __future__ import annotations


def noun(n: int, word: str, many: str | None = None) -> str:
    """`word` for exactly one, else `many` (default: word + "s"): `noun(1, "job")` -> `job`."""
    return word if n == 1 else (many if many is not None else f"{word}s")


def counted(n: int, word: str, many: str | None = None) -> str:
    """`counted(1234, "request")` -> `1,234 requests`; `counted(1, "job")` -> `1 job`."""
    return f"{n:,} {noun(n, word, many)}"


__all__ = ["counted", "noun"]
