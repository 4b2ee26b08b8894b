"""Provides the public face of the emulator: the `Emulator` object (start/stop, fault injection, snapshots)
and `serve()`, the blocking entry point behind `gembatch-tui emulator` and `python -m ...emulator`.
"""

from __future__ import annotations

import errno
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from .faults import Faults
from .files import processing_rules
from .jobs import Jobs
from .owners import Owners, label
from .realtime import Call, Realtime
from .exchange import Context
from .server import EmulatorHTTPServer
from .state import EmulatorState
from .util import IdGenerator


class ListenError(OSError):
    """The address cannot be listened on (port busy or out of range, host unknown or not this machine's).
    An OSError still, for callers that caught the bind's own; its text is one line naming the address and why,
    which is what `gembatch-tui emulator` prints instead of a traceback."""

    def __init__(self, host: str, port: int, cause: BaseException) -> None:
        code = cause.errno if isinstance(cause, OSError) and not isinstance(cause, socket.gaierror) else None
        shown = f"[{host}]" if ":" in host else host
        super().__init__(code, f"cannot listen on {shown}:{port}: {_listen_reason(cause)}")

    def __str__(self) -> str:
        return str(self.strerror)


def _listen_reason(cause: BaseException) -> str:
    if isinstance(cause, OverflowError):
        return "port must be 0-65535"
    if isinstance(cause, socket.gaierror):
        if cause.errno in {getattr(socket, "EAI_ADDRFAMILY", None), socket.EAI_FAMILY}:
            return "not an IPv4 host (the emulator listens on IPv4 only)"
        return f"cannot resolve the host ({_lower_first(cause.strerror or str(cause))})"
    if isinstance(cause, (TypeError, UnicodeError)):
        return "not a valid host name"
    reasons = {errno.EADDRINUSE: "address already in use",
               errno.EADDRNOTAVAIL: "not an address of this machine (cannot assign requested address)",
               errno.EACCES: "permission denied (ports below 1024 need privileges)"}
    code = getattr(cause, "errno", None)
    return reasons.get(code or 0) or _lower_first(getattr(cause, "strerror", None) or str(cause))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


class Emulator:
    """A local Gemini Developer API (batch mode + Files API) over real HTTP, for the real google-genai SDK.

    The job life cycle is computed lazily from `clock` on every request, so tests can inject a clock and
    jump through time. Blobs live in `state_dir` (a private temp dir, removed on stop, when None).
    An explicit `state_dir` is persistent (persist.py): files and batches are kept in a JSON file there and
    carried over to the next emulator started on it, whose jobs go on where the clock says they are; several
    emulators (processes) may serve one state dir at once. Ids then never repeat across restarts: drawn from
    the OS's randomness, or, when `seed` is given, from a seeded stream of its own for each start.
    `seed` (default 0 for the synthetic answers and faults) makes ids and answers reproducible.
    `random_ids=True` (the `emulator` command) draws a private emulator's ids from the OS's randomness when no
    `seed` is given: two of them in front of one store never name two jobs alike, as the real service never does.
    `strict_input=True` makes batch creation reject input files with lines that are not JSON objects,
    with the real service's "Error on line N: invalid JSON ..." 400, instead of answering them per line.
    `enqueued_token_budget` (one int for every model, or `{"gemini-2.5-flash": N, "*": M}`) models a tier's
    batch enqueued-token limit: the estimated prompt tokens of a model's PENDING and RUNNING jobs (text at
    ~4 chars a token, 258 per media part, as the usage metadata counts them) may not exceed it, and a create
    that would go over is answered 429 RESOURCE_EXHAUSTED.
    `processing_seconds` says how long an upload stays PROCESSING (by `clock`) before it is ACTIVE, as the real
    Files API does with video: `{MIME prefix: seconds}`, the longest matching prefix winning, or one number for
    `video/`; the default is `{"video/": 2.0}`, everything else ACTIVE at once. A batch line whose fileData
    names a file that is missing or not ACTIVE when the job is created gets a per-line 400 error.
    `rpm` limits `generateContent` calls per model to that many in any `rpm_window_seconds` (60, the real
    per-minute quota; tests shorten it to run in seconds): one more is answered 429 RESOURCE_EXHAUSTED with a
    RetryInfo `retryDelay` (realtime.py). `realtime_calls` logs every generateContent arrival.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = "test-key",
        job_seconds: float = 2.0,
        latency_ms: float = 0,
        error_rate: float = 0.0,
        expiry_seconds: float = 48 * 3600,
        max_concurrent_jobs: int = 100,
        state_dir: str | Path | None = None,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        strict_input: bool = False,
        enqueued_token_budget: int | dict[str, int] | None = None,
        processing_seconds: float | dict[str, float] | None = None,
        rpm: int | None = None,
        rpm_window_seconds: float = 60.0,
        api_keys: Iterable[str] | None = None,
        batch_page_max: int = 100,
        reject_big_pages: bool = False,
        random_ids: bool = False,
    ) -> None:
        self.host = host
        self._random_ids = random_ids and seed is None  # ids from the OS's randomness, as the real service's
        self._batch_page_max = batch_page_max  # batches.list's largest page (the reference: 100, unconfirmed)
        self._reject_big_pages = reject_big_pages  # a bigger page asked for: 400 instead of clamped
        self.port = port
        self._own_dir = state_dir is None
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._api_key = api_key
        self._api_keys = frozenset(api_keys) if api_keys is not None else None
        """Several accepted keys (instead of `api_key`), each seeing only its own batches and files (owners.py)."""
        self.key_log: list[tuple[str, str, str]] = []
        self._job_seconds = float(job_seconds)
        self._latency_s = float(latency_ms) / 1000.0
        self._expiry_seconds = float(expiry_seconds)
        self._max_concurrent_jobs = int(max_concurrent_jobs)
        self._clock = clock
        self._explicit_seed = seed
        self._seed = 0 if seed is None else int(seed)
        self._strict_input = strict_input
        self._enqueued_token_budget = enqueued_token_budget
        self._processing_seconds = processing_rules(processing_seconds)
        self._processing_failures: list[tuple[re.Pattern[str], str]] = []
        self._faults = Faults(error_rate, self._seed)
        self._realtime = Realtime(rpm, rpm_window_seconds, clock, self._seed)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ctx: Context | None = None
        self._dir_cleanup: weakref.finalize[Any, Any] | None = None
        self.notes: list[str] = []  # what a persistent start had to repair (an unreadable state file set aside)
        self.request_log: list[tuple[str, str]] = []

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        if self._state_dir is None:
            self._state_dir = Path(tempfile.mkdtemp(prefix="gembatch-emulator-"))
            # Removed on stop(), or when this object is collected / the interpreter exits without stop().
            self._dir_cleanup = weakref.finalize(self, shutil.rmtree, str(self._state_dir), True)
        else:
            self._state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        state = EmulatorState(self._state_dir / "blobs", self._clock, self._seed)
        if self._random_ids:
            state.ids = IdGenerator(None)
        state.processing_seconds = self._processing_seconds
        state.processing_failures = self._processing_failures  # shared: fail_processing works before and after start
        errors: list[str] = []
        jobs = Jobs(state, self._job_seconds, self._expiry_seconds, self._max_concurrent_jobs, self._strict_input,
                    errors, self._enqueued_token_budget, page_max=self._batch_page_max,
                    reject_big_pages=self._reject_big_pages)
        if not self._own_dir:
            from .persist import StateFile  # filelock: only persistent mode needs more than the standard library

            store = StateFile(self._state_dir, state, jobs)
            earlier_starts = store.open()  # raises persist.StateDirBusy
            self.notes.extend(store.notes)
            seed = self._explicit_seed
            state.ids = IdGenerator(seed, earlier_starts) if seed is not None else IdGenerator(None)
        self._ctx = Context(state, jobs, self._faults, self._api_key, self._latency_s,
                            request_log=self.request_log, errors=errors, realtime=self._realtime,
                            api_keys=self._api_keys, owners=Owners() if self._api_keys else None,
                            key_log=self.key_log)
        try:
            self._server = EmulatorHTTPServer((self.host, self.port), self._ctx)
        except (OSError, OverflowError, TypeError, UnicodeError) as exc:
            self._ctx = None
            if self._own_dir and self._dir_cleanup is not None:
                self._dir_cleanup()
                self._dir_cleanup, self._state_dir = None, None
            raise ListenError(self.host, self.port, exc) from exc
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="gembatch-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        _shutdown_now(server)
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._own_dir and self._dir_cleanup is not None:
            self._dir_cleanup()
            self._dir_cleanup = None
            self._state_dir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- test hooks -------------------------------------------------------------------------------
    def fail_next(self, method: str, path_regex: str, code: int, times: int = 1, message: str | None = None) -> None:
        """Answer the next `times` requests matching `method` ("*" = any) and `path_regex` (re.search on the
        URL path without query, e.g. r"/files/abc$") with an error envelope of HTTP `code`."""
        self._faults.fail_next(method, path_regex, code, times, message)

    def lose_answer(
        self,
        method: str,
        path_regex: str,
        outcome: int | bytes | str = "reset",
        times: int = 1,
        header: tuple[str, str] | None = None,
    ) -> None:
        """Perform the next `times` matching requests, then lose their answers (see Faults.lose_answer):
        `"reset"` drops the connection, an int answers that error status, bytes answer 200 with that body."""
        self._faults.lose_answer(method, path_regex, outcome, times, header)

    def fail_processing(self, display_name_regex: str, message: str = "File processing failed.") -> None:
        """Uploads from now on whose display name matches (re.search) end processing FAILED with `message`
        (after the usual processing time for their MIME type), so clients can test that path."""
        self._processing_failures.append((re.compile(display_name_regex), message))

    def enqueued_tokens(self, model: str) -> int:
        """Estimated prompt tokens of `model`'s pending and running jobs now (`gemini-2.5-flash` or `models/...`)."""
        ctx = self._require()
        name = model if model.startswith("models/") else f"models/{model}"
        with ctx.state.lock:
            return ctx.jobs.enqueued_tokens(name, ctx.state.clock())

    @property
    def peak_enqueued_tokens(self) -> dict[str, int]:
        """Per model (`models/...`), the most tokens ever enqueued at once (only tracked under a budget)."""
        return dict(self._require().jobs.peak_enqueued)

    @property
    def budget_rejections(self) -> int:
        """How many creates were answered 429 for the enqueued-token budget."""
        return self._require().jobs.budget_rejections

    @property
    def realtime_calls(self) -> list[Call]:
        """Every generateContent request that arrived (time, model, prompt text, status), in arrival order."""
        return list(self._realtime.calls)

    def file_bytes(self, name: str) -> bytes:
        """The stored bytes of `files/ID` (uploaded or generated), for tests that check what a client sent."""
        return self._require().state.lookup_file(name.removeprefix("files/")).path.read_bytes()

    def batches_snapshot(self) -> list[dict[str, Any]]:
        return self._require().jobs.snapshot()

    def files_snapshot(self) -> list[dict[str, Any]]:
        return self._require().state.files_snapshot()

    def calls_with(self, key: str) -> list[tuple[str, str]]:
        """(method, path) of every call made with `key` (upload chunks carry no key and are not listed)."""
        mine = label(key)
        return [(method, path) for who, method, path in list(self.key_log) if who == mine]

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of unexpected exceptions inside handlers (each was answered with a 500)."""
        return self._ctx.errors if self._ctx else []

    def _require(self) -> Context:
        if self._ctx is None:
            raise RuntimeError("the emulator has not been started")
        return self._ctx


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    job_seconds: float = 2.0,
    latency_ms: float = 0,
    error_rate: float = 0.0,
    expiry_seconds: float = 48 * 3600,
    max_concurrent_jobs: int = 100,
    api_key: str | None = None,
    out: IO[str] = sys.stdout,
    seed: int | None = None,
    state_dir: str | Path | None = None,
    enqueued_token_budget: int | dict[str, int] | None = None,
    processing_seconds: float | dict[str, float] | None = None,
    rpm: int | None = None,
    rpm_window_seconds: float = 60.0,
    api_keys: list[str] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM. The first stdout line is exactly `listening on http://HOST:PORT`.
    `processing_seconds` is the Emulator's (a number: how long video/* uploads stay PROCESSING; None: default)."""
    stop = threading.Event()
    emu = Emulator(host=host, port=port, api_key=api_key, job_seconds=job_seconds, latency_ms=latency_ms,
                   error_rate=error_rate, expiry_seconds=expiry_seconds, max_concurrent_jobs=max_concurrent_jobs,
                   state_dir=state_dir, seed=seed, enqueued_token_budget=enqueued_token_budget,
                   processing_seconds=processing_seconds, rpm=rpm,
                   rpm_window_seconds=rpm_window_seconds, api_keys=api_keys,
                   random_ids=True)  # two emulators on one store must not hand out the same batch names
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        emu.start()
        out.write(f"listening on {emu.url}\n")
        out.flush()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def parse_budget(values: list[str] | None) -> int | dict[str, int] | None:
    """`--enqueued-token-budget N` (every model) or `MODEL=N`, repeatable; ValueError when malformed."""
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return int(values[0])
    out: dict[str, int] = {}
    for value in values:
        model, sep, number = value.partition("=")
        if not sep or not model.strip():
            raise ValueError(f"expected MODEL=TOKENS, got {value!r}")
        out[model.strip().removeprefix("models/")] = int(number)
    return out


def _shutdown_now(server: Any) -> None:
    """`server.shutdown()` without its wait: serve_forever notices the request only when its select() returns,
    up to poll_interval (0.1 s) later, which every test's emulator paid once. A connection wakes the select at
    once; it is poked until the loop has ended (the first poke may come before shutdown() set its flag)."""
    import socket

    stopper = threading.Thread(target=server.shutdown, name="gembatch-emulator-stop", daemon=True)
    stopper.start()
    address = server.server_address[:2]
    while stopper.is_alive():
        try:
            socket.create_connection(address, timeout=0.2).close()
        except OSError:
            pass
        stopper.join(0.005)
