"""Provides `ProcessValidation`: `validate_file` run by a second process while this one uploads the file.

Why a process: validation parses every line and holds the GIL while it does; in a thread beside the upload it
starves the upload thread, which needs the GIL between every partial `send` of each 8 MiB chunk (measured: the
overlapped submit took 1.9x the bare upload on the loaded 2-core machine, `bench_submit.py`). In a child process
the upload keeps this process to itself. The child runs the very same `validate_file` (so the report, FILE:LINE
messages included, is the same) and sends its `watch` events as they happen, so the parent stops the upload at the
first problem, not at the end.

Started from a fork server (the app runs threads; a plain fork of a threaded process is unsafe), as
results/verify_process.py does. Where no process can be started, or the child dies without an answer (killed,
out of memory), the same validation runs here, in this thread: slower, never different.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gembatch_tui.core import child_process
from gembatch_tui.core.submit import validate as validation

START_METHODS = ("forkserver", "spawn")  # never a plain fork: the app's threads (Textual, workers) would be copied
POLL_S = 0.1  # how often the parent looks at the cancel event while it waits


def _context() -> Any:
    return child_process.context(START_METHODS, __name__)


class ProcessValidation:
    """`validate_file(path, ...)` in a child process, started at once; `report()` waits for it."""

    def __init__(self, path: Path, *, kind: str | None, allow_media_outside: bool,
                 watch: Callable[[str], None] | None) -> None:
        self._path, self._kind, self._outside, self._watch = path, kind, allow_media_outside, watch
        self._proc: Any = None
        self._conn: Any = None
        try:
            ctx = _context()
            self._conn, child = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_child, args=(child, str(path), kind, allow_media_outside),
                                     name="gembatch-validate", daemon=True)
            try:
                self._proc.start()
            finally:
                child.close()
        except (OSError, ValueError, ImportError, RuntimeError):  # no process here: report() validates in-process
            self._proc = None

    def report(self, cancel: threading.Event | None = None) -> validation.ValidationReport:
        """The child's report; ValidationCancelled when `cancel` is set first (the child is ended)."""
        try:
            if self._proc is not None:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise validation.ValidationCancelled(str(self._path))
                    try:
                        if not self._conn.poll(POLL_S):
                            continue
                        message = self._conn.recv()
                    except (EOFError, OSError):
                        break  # gone without an answer: validated here instead
                    if message[0] == "watch":
                        if self._watch is not None:
                            self._watch(message[1])
                    elif message[0] == "done":
                        return message[1]  # type: ignore[no-any-return]
                    else:
                        break
        finally:
            self.close()
        return validation.validate_file(self._path, cancel=cancel, max_bytes=None, kind=self._kind,
                                        allow_media_outside=self._outside, watch=self._watch)

    def close(self) -> None:
        """End the child (at once, when it has not answered) and free its pipe."""
        if self._proc is None:
            return
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(timeout=10)
        self._conn.close()
        if self._proc.exitcode is not None:
            self._proc.close()
        self._proc = None


def _child(conn: Any, path: str, kind: str | None, allow_media_outside: bool) -> None:
    try:
        try:
            report = validation.validate_file(path, max_bytes=None, kind=kind, allow_media_outside=allow_media_outside,
                                              watch=lambda what: conn.send(("watch", what)))
            conn.send(("done", report))
        except (BrokenPipeError, EOFError, OSError):
            return  # the submission was abandoned: nobody waits for an answer
        except Exception as exc:  # noqa: BLE001 - the parent validates in-process instead
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


__all__ = ["ProcessValidation"]
