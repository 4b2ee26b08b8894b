"""Provides the multiprocessing context for work moved to a second process (results checks, validation beside an
upload): one rule for both, because a plain fork would copy the app's threads (Textual, workers) into the child.
Also the one test of whether another process on this host still lives (a submission's or a real-time run's owner)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def context(start_methods: Iterable[str], module: str) -> Any:
    """The first available context of `start_methods`; a fork server preloads `__main__` and `module` once, so each
    child is a fork of a ready server. Raises RuntimeError when no child could import the main module (`python -`)."""
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if getattr(getattr(main, "__spec__", None), "name", None) is None and main_file and not Path(main_file).is_file():
        raise RuntimeError("the main module cannot be imported by a child process")
    for method in start_methods:
        try:
            ctx = multiprocessing.get_context(method)
        except ValueError:
            continue
        if method == "forkserver":
            ctx.set_forkserver_preload(["__main__", module])
        return ctx
    raise RuntimeError("no process start method available")


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
