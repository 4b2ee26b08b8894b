"""Provides the argument types of the command line (counts, seconds, sizes, dollars), one copy for every subcommand
module, so `run --max-cost` and `submit --max-cost` refuse the same text with the same words."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def usd(text: str) -> float:
    """`--max-cost 5`, `$5`, `0.25`: US dollars, zero or more."""
    from gembatch_tui.core.api.pricing import parse_usd  # only when the flag is given: pricing costs ~25 ms to import

    try:
        return parse_usd(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def byte_size(text: str) -> int:
    """`1000`, `500K`, `500M`, `2G` (powers of 1024; `KB`/`MB`/`GB` and `KiB`... spellings too)."""
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (raw[:-1], raw[-1]) if raw and raw[-1] in "KMGT" else (raw, "")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 500M or 2G)") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be positive")
    return int(value)
