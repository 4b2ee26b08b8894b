"""Provides `ProcessVerifier`: the check of a results file made by a second process while the download writes it,
and `verifier_for`, which picks it or the in-process `StreamVerifier`.

Why a process: checking parses every line, and in the downloading process it either waits for the download (one
core, one pass after the other) or, in a thread, holds the GIL and slows the transfer threefold (stream.py). Here
the download process only hashes the chunks it writes (hashlib releases the GIL) and tells the verifier how far
the file has been written; the verifier reads the file from the page cache up to there and checks each line with
the same code as `StreamVerifier` (`LinePass`, `results.load_input_keys`, `results.compare_keys`), so the verdicts
are the same, line by line. The input's keys are loaded by the verifier while the first bytes arrive.

Started from a fork server (the app runs threads, and a plain fork of a threaded process is unsafe) whose preloaded
modules are this one's, so a verifier starts in milliseconds after the first. Files under MIN_BYTES, and machines
where no process can be started, are checked in-process as before: a process is not worth it there.

If the verifier is killed (by a signal: out of memory, a user) or its check fails, `finish` raises ServiceError: the
download then fails as any other does, its partial file is removed and nothing is recorded as verified; the next
pass downloads again. A verifier that could not run at all (it ended without answering) is replaced by the same
check in-process.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.results import check as results_check
from gembatch_tui.core.results.fingerprint import Fingerprint
from gembatch_tui.core.results.stream import READ_CHUNK, LinePass, StreamOutcome, StreamVerifier
from gembatch_tui.core.submit.keyset import KeySet

MIN_BYTES = 32 << 20  # smaller results files are checked in-process (tests set it to 0 to force the process)
NOTIFY_STEP = 1 << 20  # the verifier is told the written size at most once per this many bytes
START_METHODS = ("forkserver", "spawn")  # never a plain fork: the app's threads (Textual, workers) would be copied
_END = -1


def verifier_for(
    partial: Path, input_path: Path | None, *, expected_count: int | None, usage: bool, size: int
) -> StreamVerifier | ProcessVerifier:
    """A `ProcessVerifier` for a download of `size` bytes (the server's figure; 0 when unknown) of at least
    MIN_BYTES, when a process can be started; otherwise the in-process `StreamVerifier`. Both are used alike:
    `feed` each written chunk, then `finish(partial)`, inside `with`."""
    if size >= MIN_BYTES and (size > 0 or MIN_BYTES == 0):
        try:
            return ProcessVerifier(partial, input_path, expected_count=expected_count, usage=usage)
        except (OSError, ValueError, ImportError, RuntimeError):  # no process possible here: in-process
            pass
    return StreamVerifier(input_path, expected_count=expected_count, usage=usage)


def _context() -> Any:
    import multiprocessing
    import sys

    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if getattr(getattr(main, "__spec__", None), "name", None) is None and main_file and not Path(main_file).is_file():
        raise RuntimeError("the main module cannot be imported by a child process")  # `python -` and the like

    for method in START_METHODS:
        try:
            ctx = multiprocessing.get_context(method)
        except ValueError:
            continue
        if method == "forkserver":  # the server imports these once; each verifier is a fork of it, ready at once
            ctx.set_forkserver_preload(["__main__", __name__])
        return ctx
    raise RuntimeError("no process start method available")


class ProcessVerifier:
    """Fingerprint the chunks as they are written (`feed`) while a child process checks the file behind them;
    `finish` waits for its verdict. Leaving the `with` block ends the child in any case."""

    def __init__(self, partial: Path, input_path: Path | None, *, expected_count: int | None, usage: bool) -> None:
        ctx = _context()
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_child,
            args=(child, str(partial), None if input_path is None else str(input_path), expected_count, usage),
            name="gembatch-verify",
            daemon=True,
        )
        try:
            self._proc.start()
        finally:
            child.close()
        self._input, self._expected, self._usage = input_path, expected_count, usage
        self._sha = hashlib.sha256()
        self._size = 0
        self._told = 0
        self._lost = False

    def __enter__(self) -> ProcessVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def feed(self, chunk: bytes) -> None:
        """Hash one written chunk; now and then tell the verifier how far the file is written. Never raises: a
        verifier that is gone is reported by `finish`, not in the middle of the download."""
        self._sha.update(chunk)
        self._size += len(chunk)
        if self._size - self._told >= NOTIFY_STEP and not self._lost:
            self._told = self._size
            try:
                self._conn.send(self._size)
            except (OSError, ValueError):
                self._lost = True

    def finish(self, path: Path) -> StreamOutcome:
        """The verifier's check of the finished file at `path` (the one it was started on). Raises ServiceError
        when the verifier could not give one."""
        fingerprint = Fingerprint(self._size, self._sha.hexdigest())
        try:
            self._conn.send((_END, self._size))
        except (OSError, ValueError):
            pass  # it may have answered already (an error) and gone: its answer is still in the pipe
        try:
            answer = self._conn.recv()
        except (OSError, EOFError, ValueError):
            answer = None
        if isinstance(answer, tuple) and len(answer) == 3 and answer[0] == "ok":
            return StreamOutcome(answer[1], answer[2], fingerprint)
        if isinstance(answer, tuple) and len(answer) == 2:
            raise ServiceError(f"{path}: results could not be verified: {answer[1]}")
        self._proc.join(timeout=5)
        code = self._proc.exitcode
        if code is not None and code >= 0:  # it could not run at all (say, a main module it cannot import)
            return self._in_process(path)
        why = ("the verifier process stopped answering" if code is None
               else f"the verifier process was killed (signal {-code})")
        raise ServiceError(f"{path}: results could not be verified: {why}")

    def _in_process(self, path: Path) -> StreamOutcome:
        """The same check here, with the fingerprint taken as the bytes arrived."""
        verifier = StreamVerifier(self._input, expected_count=self._expected, usage=self._usage)
        verifier._sha, verifier._size = self._sha, self._size
        return verifier.finish(path)

    def close(self) -> None:
        """End the verifier (at once, when it has not answered) and free its pipe."""
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(timeout=10)
        self._conn.close()
        if self._proc.exitcode is not None:
            self._proc.close()


# ------------------------------------------------------------------------------------------------ in the child


def _child(conn: Any, path: str, input_path: str | None, expected_count: int | None, usage: bool) -> None:
    try:
        try:
            answer: tuple[Any, ...] = ("ok", *_verify_following(conn, Path(path),
                                                                Path(input_path) if input_path else None,
                                                                expected_count, usage))
        except (EOFError, OSError, BrokenPipeError):
            return  # the download was abandoned: nobody waits for an answer
        except Exception as exc:  # noqa: BLE001 - said to the parent, which fails the download with it
            answer = ("error", f"verification failed: {type(exc).__name__}: {exc}")
        conn.send(answer)
    finally:
        conn.close()


class _Follower:
    """How far the download has written the file, from the parent's messages: `written`, and `end` once done."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.written = 0
        self.end: int | None = None

    def update(self, block: bool) -> None:
        """Take every message waiting (and, with `block`, wait for one first); EOFError when the parent is gone."""
        conn = self._conn
        if block:
            self._take(conn.recv())
        while self.end is None and conn.poll():
            self._take(conn.recv())

    def _take(self, message: Any) -> None:
        if isinstance(message, tuple):
            self.end = self.written = int(message[1])
        else:
            self.written = max(self.written, int(message))


def _verify_following(
    conn: Any, path: Path, input_path: Path | None, expected_count: int | None, usage: bool
) -> tuple[results_check.ResultsCheck, Any]:
    """`StreamVerifier.finish`, reading the file while it is written: up to what the parent says is written (the
    bytes may still sit in its write buffer: then wait for the next message), then, after the end message, to
    the end of the file."""
    follow = _Follower(conn)
    with KeySet() as wanted, KeySet() as got:
        check = results_check.ResultsCheck()
        compare = input_path is not None and results_check.load_input_keys(check, input_path, wanted)
        lines = LinePass(got, usage=usage, hash=False)
        lines.check = check
        follow.update(block=False)
        f = None
        try:
            while True:
                if f is None and (follow.written or follow.end is not None):
                    f = open(path, "rb")  # noqa: SIM115 - closed below
                progressed = False
                while f is not None and lines.size < follow.written:
                    chunk = f.read(min(READ_CHUNK, follow.written - lines.size))
                    if not chunk:
                        break
                    lines.feed(chunk)
                    progressed = True
                    follow.update(block=False)
                if follow.end is not None:
                    while f is not None and (chunk := f.read(READ_CHUNK)):  # anything past the announced end
                        lines.feed(chunk)
                    break
                follow.update(block=not progressed)
            lines.finish()
        except OSError as exc:
            check._problem(None, f"{path}: cannot read results file: {exc.strerror or exc}")
            return check, lines.usage
        finally:
            if f is not None:
                f.close()
        if lines.size != follow.end:
            check._problem(None, f"{path}: {lines.size} bytes on disk, {follow.end} downloaded")
        check = results_check.compare_keys(check, path, input_path if compare else None, expected_count,
                                           wanted, got)
    return check, lines.usage


__all__ = ["MIN_BYTES", "ProcessVerifier", "verifier_for"]
