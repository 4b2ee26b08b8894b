"""Provides `ProcessVerifier`: the check of a results file made by a second process while the download writes it,
and `verifier_for`, which picks it or the in-process `StreamVerifier`.

Why a process: checking parses every line, and in the downloading process it either waits for the download (one
core, one pass after the other) or, in a thread, holds the GIL and slows the transfer threefold (stream.py). Here
the download process only hashes the chunks it writes (hashlib releases the GIL) and tells the verifier how far
the file has been written; the verifier reads the file from the page cache up to there and checks each line with
the same code as `StreamVerifier` (`LinePass`, `results.load_input_keys`, `results.compare_keys`), so the verdicts
are the same, line by line. The input's keys are read at the same time by a third process (`_input_child`) and
handed to the checker in batches.

Started from a fork server (the app runs threads, and a plain fork of a threaded process is unsafe) whose preloaded
modules are this one's (and the main module's), so a verifier starts in milliseconds after the first; the processes
are started by a thread beside the download, which never waits for them (the first start boots the fork server: 0.2
to 0.5 s that the download used to wait for, once per process, so once per `poll` run). Files under
MIN_BYTES, and machines where no process can be started, are checked in-process as before: a process is not worth
it there.

If the verifier is killed (by a signal: out of memory, a user) or its check fails, `finish` raises ServiceError: the
download then fails as any other does, its partial file is removed and nothing is recorded as verified; the next
pass downloads again. A verifier that could not run at all (it ended without answering) is replaced by the same
check in-process.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from gembatch_tui.core import child_process
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.results import check as results_check
from gembatch_tui.core.results.fingerprint import Fingerprint
from gembatch_tui.core.results.stream import READ_CHUNK, LinePass, StreamOutcome, StreamVerifier
from gembatch_tui.core.submit.keyset import KeySet, digests_of

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
    return child_process.context(START_METHODS, __name__)


class ProcessVerifier:
    """Fingerprint the chunks as they are written (`feed`) while a child process checks the file behind them;
    `finish` waits for its verdict. Leaving the `with` block ends the child in any case."""

    def __init__(self, partial: Path, input_path: Path | None, *, expected_count: int | None, usage: bool) -> None:
        ctx = _context()
        self._input, self._expected, self._usage = input_path, expected_count, usage
        self._sha = hashlib.sha256()
        self._size = 0
        self._told = 0
        self._lost = False
        self._ended = False
        self.stats: dict[str, float] = {}  # for benchmarks: wait_s (finish's wait), and the verifier's cpu_s, rss_mb
        self._procs: list[Any] = []
        self._start_failed: BaseException | None = None
        ends: list[list[Any]] = []  # per process, the pipe ends it holds: closed here once it is started
        try:
            keys = None
            if input_path is not None:  # the input's keys are read by a process of their own, at the same time
                keys, sender = ctx.Pipe(duplex=False)
                ends.append([sender])  # closed before the checker starts: a forked one must not hold it
                self._procs.append(ctx.Process(target=_input_child, args=(sender, str(input_path)),
                                               name="gembatch-verify-input", daemon=True))
            self._conn, child = ctx.Pipe()
            ends.append([child] + ([keys] if keys is not None else []))
            self._proc = ctx.Process(target=_child, args=(child, str(partial), keys, None if input_path is None
                                                          else str(input_path), expected_count, usage),
                                     name="gembatch-verify", daemon=True)
            self._procs.append(self._proc)
        except BaseException:
            for held in ends:
                for end in held:
                    end.close()
            raise
        # Started beside the download, which does not wait for them: the first start of a process boots the
        # fork server (0.2-0.5 s of imports), and the bytes that arrive meanwhile wait in the page cache. A plain
        # fork (tests only) is started here: forked while this process's other threads work, a child could
        # inherit a lock held for good.
        self._starter = threading.Thread(target=self._start, args=(ends,), name="gembatch-verify-start", daemon=True)
        if ctx.get_start_method() == "fork":
            self._start(ends)
        else:
            self._starter.start()

    def _start(self, ends: list[list[Any]]) -> None:
        try:
            for proc, held in zip(self._procs, ends):
                try:
                    proc.start()
                finally:
                    for end in held:
                        end.close()
        except BaseException as exc:  # noqa: BLE001 - `finish` then checks in-process, as when none can start
            self._start_failed = exc
        finally:
            for held in ends:
                for end in held:
                    end.close()  # those of a process not started (closing twice is harmless)

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

    def written(self) -> None:
        """Every byte is written (not yet synced): the verifier reads to the end and makes its last checks (the key
        comparison) while the download syncs the file. Never raises; `finish` reports a verifier that is gone."""
        if self._ended:
            return
        self._ended = True
        try:
            self._conn.send((_END, self._size))
        except (OSError, ValueError):
            pass  # it may have answered already (an error) and gone, or never started: `finish` says which

    def finish(self, path: Path) -> StreamOutcome:
        """The verifier's check of the finished file at `path` (the one it was started on). Raises ServiceError
        when the verifier could not give one."""
        fingerprint = Fingerprint(self._size, self._sha.hexdigest())
        waited = time.perf_counter()
        if self._starter.ident is not None:
            self._starter.join()
        if self._start_failed is not None:  # no process could be started here
            return self._in_process(path)
        self.written()
        try:
            answer = self._conn.recv()
        except (OSError, EOFError, ValueError):
            answer = None
        self.stats["wait_s"] = time.perf_counter() - waited
        if isinstance(answer, tuple) and len(answer) == 4 and answer[0] == "ok":
            self.stats.update(answer[3])
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
        self._end_all()
        self._conn.close()

    def _end_all(self) -> None:
        if self._starter.ident is not None:
            self._starter.join()  # a start under way ends first: then every child that was started is known
        for proc in self._procs:
            if proc._popen is not None and proc.is_alive():
                proc.kill()
        for proc in self._procs:
            if proc._popen is not None:
                proc.join(timeout=10)
                if proc.exitcode is not None:
                    proc.close()
        self._procs = []


# ------------------------------------------------------------------------------------------------ in the child


KEY_BATCH = 4096


class _KeySender:
    """Stands in for the KeySet that `results.load_input_keys` fills: sends the keys on, in batches of three columns
    (the keys' digests, line numbers, offsets: three columns pickle and load faster than as many tuples as keys).
    The keys are digested here (`keyset.digests_of`), not by the checker: this process is done with the input
    long before the download ends, while the checker's time decides when the download's check is over."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._keys: list[str] = []
        self._lines: list[int] = []
        self._offsets: list[int] = []

    def add(self, key: str, line: int, offset: int) -> None:
        self._keys.append(key)
        self._lines.append(line)
        self._offsets.append(offset)
        if len(self._keys) >= KEY_BATCH:
            self.flush()

    def add_many(self, keys: list[str], lines: list[int], offsets: list[int]) -> None:
        """A block of keys, sent on as it is (after any sent one by one, so the order stays the input's)."""
        self.flush()
        if keys:
            self._conn.send((digests_of(keys), lines, offsets))

    def flush(self) -> None:
        if self._keys:
            self._conn.send((digests_of(self._keys), self._lines, self._offsets))
            self._keys, self._lines, self._offsets = [], [], []


def _input_child(conn: Any, input_path: str) -> None:
    """Read the input's keys (`results.load_input_keys`, as in-process) and send them to the verifier, then
    ("end", None) or ("end", why the input could not be compared)."""
    _quiet()
    try:
        sender = _KeySender(conn)
        check = results_check.ResultsCheck()
        try:
            loaded = results_check.load_input_keys(check, Path(input_path), sender)  # type: ignore[arg-type]
            sender.flush()
            answer = ("end", None if loaded else check.input_problem)
        except (EOFError, OSError):
            return  # the verifier is gone
        except Exception as exc:  # noqa: BLE001 - the verifier fails the download with it
            answer = ("failed", f"reading the input's keys failed: {type(exc).__name__}: {exc}")
        conn.send(answer)
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


class _InputKeys:
    """The input's keys as they come from `_input_child`, added to `wanted`."""

    def __init__(self, conn: Any, wanted: KeySet) -> None:
        self.conn = self._conn = conn
        self._wanted = wanted
        self.done = False
        self.problem: str | None = None

    def take(self, *, wait: bool) -> None:
        """Add every batch waiting (with `wait`: all of them, to the end)."""
        while not self.done and (wait or self._conn.poll()):
            try:
                message = self._conn.recv()
            except EOFError:
                raise RuntimeError("the process reading the input's keys ended unexpectedly") from None
            if len(message) == 3:  # a batch: the keys' digests, line numbers, offsets
                self._wanted.add_digests(*message)
            elif message[0] == "end":
                self.done, self.problem = True, message[1]
            else:
                raise RuntimeError(message[1])


def _quiet() -> None:
    """A Ctrl-C in the terminal reaches the whole process group: the download process decides, and ends us."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _child(conn: Any, path: str, keys: Any, input_path: str | None, expected_count: int | None, usage: bool) -> None:
    _quiet()
    try:
        try:
            check, counted = _verify_following(conn, Path(path), keys, Path(input_path) if input_path else None,
                                               expected_count, usage)
            answer: tuple[Any, ...] = ("ok", check, counted, _own_use())
        except (EOFError, OSError, BrokenPipeError):
            return  # the download was abandoned: nobody waits for an answer
        except Exception as exc:  # noqa: BLE001 - said to the parent, which fails the download with it
            answer = ("error", f"verification failed: {type(exc).__name__}: {exc}")
        conn.send(answer)
    finally:
        conn.close()


def _own_use() -> dict[str, float]:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except (ImportError, OSError):  # pragma: no cover - not on Linux
        peak = 0.0
    return {"cpu_s": time.process_time(), "rss_mb": peak}


class _Follower:
    """How far the download has written the file, from the parent's messages: `written`, and `end` once done."""

    def __init__(self, conn: Any) -> None:
        self.conn = self._conn = conn
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


def _wait_for(follow: _Follower, inputs: _InputKeys | None) -> None:
    from multiprocessing.connection import wait

    wait([follow.conn] + ([inputs.conn] if inputs is not None and not inputs.done else []))


def _verify_following(
    conn: Any, path: Path, keys: Any, input_path: Path | None, expected_count: int | None, usage: bool
) -> tuple[results_check.ResultsCheck, Any]:
    """`StreamVerifier.finish`, reading the file while it is written: up to what the parent says is written (the
    bytes may still sit in its write buffer: then wait for the next message), then, after the end message, to
    the end of the file. The input's keys (`keys`: from `_input_child`, None without an input) are taken as
    they come."""
    follow = _Follower(conn)
    with KeySet() as wanted, KeySet() as got:
        check = results_check.ResultsCheck()
        inputs = _InputKeys(keys, wanted) if keys is not None and input_path is not None else None
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
                    if inputs is not None:
                        inputs.take(wait=False)
                if follow.end is not None:
                    while f is not None and (chunk := f.read(READ_CHUNK)):  # anything past the announced end
                        lines.feed(chunk)
                    break
                if not progressed:  # caught up with the download: wait for it, or for the input's keys
                    _wait_for(follow, inputs)
                follow.update(block=False)
                if inputs is not None:
                    inputs.take(wait=False)
            lines.finish()
            unreadable = None
        except OSError as exc:
            unreadable = f"{path}: cannot read results file: {exc.strerror or exc}"
        finally:
            if f is not None:
                f.close()
        if inputs is not None:
            inputs.take(wait=True)
            check.input_problem = inputs.problem
        if unreadable is not None:
            check._problem(None, unreadable)
            return check, lines.usage
        if lines.size != follow.end:
            check._problem(None, f"{path}: {lines.size} bytes on disk, {follow.end} downloaded")
        compare = inputs is not None and inputs.problem is None
        check = results_check.compare_keys(check, path, input_path if compare else None, expected_count,
                                           wanted, got)
    return check, lines.usage


__all__ = ["MIN_BYTES", "ProcessVerifier", "verifier_for"]
