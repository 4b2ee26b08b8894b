"""Provides `gc_paused`: no cyclic garbage collection while a batch of acyclic objects is built.

Why: each full collection walks every object the process holds, and with a store of 100,000 records loaded
(several million objects) building 100,000 more (parsed lines, copies of records, the rows of `list`) set off
several of them: a fifth of a store load, a sixth of `list`. JSON values and rows of strings have no cycles, so
reference counting still frees all of it; the collector is switched back on, if it was on, even on error.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
