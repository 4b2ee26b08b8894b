"""Provides `gembatch-tui run FILE --realtime` (every request of FILE) and `run JOB --realtime` (the failed and
missing keys of a finished job): the same requests through generateContent, now, under per-minute limits.

FILE is an input file on disk (any line shape `submit` takes); anything else is resolved as a JOB the way the other
commands do (`batches/ID`, the bare id, a `realtime/ID`, an 8+ character prefix). A FILE whose earlier run did not
finish (killed, cancelled, stopped) continues that run: only the keys it has no answer for are sent. Progress goes
to stderr (a line rewritten in place on a terminal, a line every 10 s otherwise), then one summary line on stdout:
`PATH: succeeded realtime/ID (N ok, N errors, N not answered; N answered earlier) -> RESULTS`.
Ctrl+C (or SIGTERM) stops it cleanly: requests in flight are answered and kept, the record becomes cancelled,
and the same command continues it later.
Exit codes: 0 every request answered without error, 1 some answered with an error or not answered (cancelled,
stopped by a quota), 2 bad input, an unknown JOB, no key, or a new run's estimate over the cost cap
(`--max-cost`, else the config's `max_cost_usd`; nothing was sent).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gembatch_tui.cli.arg_types import positive_int, usd
from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, UsageError, err, out
from gembatch_tui.core.counts import counted
from gembatch_tui.core.errors import ServiceError, create_refused

HELP = "send the requests of FILE (or the failed and missing keys of JOB) now through generateContent"
PROGRESS_LINE_EVERY = 10.0


def add_parser(subparsers: Any, global_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `run` to the CLI's subparsers; `global_options(p)` adds --store and the rest."""
    p = subparsers.add_parser("run", help=HELP, description=HELP)
    global_options(p)
    p.add_argument("--realtime", action="store_true",
                   help="through the interactive API, at interactive prices (required: the only way `run` works)")
    p.add_argument("-m", "--model", default=None,
                   help="model (default: the job's for JOB, else the config's default_model)")
    p.add_argument("--concurrency", type=positive_int, default=None, metavar="N",
                   help="requests in flight at once (default: config realtime.concurrency, else 8)")
    p.add_argument("--rpm", type=positive_int, default=None, metavar="N",
                   help="requests per minute (default: config realtime.limits, else 60)")
    p.add_argument("--tpm", type=positive_int, default=None, metavar="N",
                   help="estimated input tokens per minute (default: config realtime.limits, else 1,000,000)")
    p.add_argument("--max-cost", type=usd, default=None, metavar="USD",
                   help="refuse a run whose high cost estimate at interactive prices is over USD "
                        "(default: config max_cost_usd)")
    p.add_argument("--force", action="store_true", help="run FILE again although an earlier run answered it all")
    p.add_argument("target", metavar="FILE|JOB")


def cmd_run(args: argparse.Namespace) -> int:
    from gembatch_tui.cli.common import report_store_problems, settings_for
    from gembatch_tui.runtime import open_runtime
    from gembatch_tui.core.store import StoreError

    if not args.realtime:
        raise UsageError("run needs --realtime (it sends the requests now, through generateContent); "
                         "to submit a batch, use `submit`")
    settings = settings_for(args, warn=True)
    try:
        runtime = open_runtime(settings, need_service=True, demo_job_seconds=5.0)
    except ServiceError as exc:
        raise UsageError(str(exc)) from None
    with runtime:
        try:
            runtime.store.ensure(write=True)
            report_store_problems(runtime.store)
            return _run(runtime, args, settings)
        except StoreError as exc:
            raise UsageError(str(exc)) from None


def _run(runtime: Any, args: argparse.Namespace, settings: Any) -> int:
    from gembatch_tui.core.models import batch_name
    from gembatch_tui.core.realtime.limits import LimitsError, limits_for
    from gembatch_tui.core.realtime.runner import RunBusy
    from gembatch_tui.core.realtime.session import run_realtime
    from gembatch_tui.core.realtime.start import DONE, ERROR, Busy

    service = runtime.service
    target = str(args.target)
    as_file = Path(target).expanduser()
    job = None
    if as_file.is_dir():
        raise UsageError(f"{target}: is a directory; give an input file or a job")
    if not as_file.is_file():
        try:
            job = service.resolve(target)
        except ServiceError as exc:
            raise UsageError(f"{target}: neither an input file nor a job: {exc}") from None
        service = _job_service(runtime, job)
    model = args.model or (None if job is not None else settings.default_model)
    try:
        limits = limits_for(settings.extra, model or str(job.get("model") or settings.default_model),
                            rpm=args.rpm, tpm=args.tpm, concurrency=args.concurrency)
    except LimitsError as exc:
        raise UsageError(str(exc)) from None
    cancel = threading.Event()
    shown: list[_ProgressLine] = []
    restore: list[Callable[[], None]] = []

    def on_start(prepared: Any) -> None:
        record = prepared.record
        if prepared.message:
            err(f"warning: {prepared.message}")
        name = batch_name(record) or str(record.get("id"))
        err(f"{name}: {counted(int(record.get('count') or 0), 'request')} to {record.get('model')}, {limits.describe()}"
            + (" (continuing an earlier run)" if prepared.status == "resume" else ""))
        shown.append(_ProgressLine(name))
        restore.append(_stop_on_signals(cancel))

    try:
        session = run_realtime(service, file=None if job is not None else as_file, job=job, model=model,
                               limits=limits, force=args.force, refuse=_cost_cap(settings, args.max_cost),
                               cancel=cancel, progress=lambda p: shown[0](p) if shown else None, on_start=on_start)
    except (Busy, RunBusy, OSError, ValueError) as exc:
        out(f"{target}: error: {exc}")
        return EXIT_PARTIAL
    finally:
        for undo in restore:
            undo()
        for line in shown:
            line.close()
    prepared, outcome = session.prepared, session.outcome
    if prepared.status == ERROR:
        for problem in prepared.problems[1:]:
            err(problem)
        if prepared.record is not None:  # a run of it is going on elsewhere
            out(f"{target}: error: {prepared.message}")
            return EXIT_PARTIAL
        raise UsageError(prepared.message)
    if prepared.status == DONE or outcome is None:
        out(f"{target}: {prepared.message}")
        return EXIT_OK
    state = outcome.state.removeprefix("JOB_STATE_").lower()
    earlier = f"; {outcome.answered_before:,} answered earlier" if outcome.answered_before else ""
    where = f" -> {outcome.results_file}" if outcome.results_file else ""
    why = f": {outcome.message}" if outcome.message else ""
    out(f"{prepared.record.get('input_file')}: {state} {outcome.name} ({outcome.ok:,} ok, {outcome.errors:,} errors, "
        f"{outcome.pending:,} not answered{earlier}){where}{why}")
    complete = outcome.state.endswith("SUCCEEDED") and outcome.errors == 0
    return EXIT_OK if complete else EXIT_PARTIAL


def _job_service(runtime: Any, job: Any) -> Any:
    """The service that runs the failed and missing keys of batch job `job`: with the key that created it (its
    project pays for the answers, as it paid for the batch), over the whole store like `runtime.service`. A job
    whose key is not set is refused (exit 2, naming the variable): no request is sent with another key. A
    real-time run (`realtime/ID`) records no key: it goes on with this run's."""
    from gembatch_tui.core.models import batch_name, is_realtime, record_key

    if is_realtime(job):
        return runtime.service
    own = runtime.service_for(job)
    name = batch_name(job) or record_key(job)
    if own is None:
        raise UsageError(f"{name}: not run: {runtime.absent_reason(job)}")
    if own is runtime.service or getattr(own, "profile", None) == getattr(runtime.service, "profile", None):
        return runtime.service
    try:
        return runtime.submitting_service(own.profile)
    except ServiceError as exc:  # MissingKeyError is one: the key went away since the run started
        raise UsageError(f"{name}: not run: {exc}") from None


def _cost_cap(settings: Any, flag: float | None) -> Callable[[Path, str], str | None] | None:
    """The spending cap's check for a new run (`--max-cost`, else the config's `max_cost_usd`), or None."""
    from gembatch_tui.cli.cost import assumptions_of
    from gembatch_tui.core.api import pricing
    from gembatch_tui.core.realtime.cost import cap_refusal

    cap = flag if flag is not None else getattr(settings, "max_cost_usd", None)
    if cap is None:
        return None
    try:
        prices = pricing.load_price_table(settings.config_path)
    except pricing.ConfigError as exc:
        raise UsageError(str(exc)) from None
    assumptions = assumptions_of(settings)
    return lambda path, model: cap_refusal(path, model, cap, prices, assumptions)


class _ProgressLine:
    """Progress on stderr: rewritten in place on a terminal, else a line at most every PROGRESS_LINE_EVERY seconds,
    when it says something new."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._shown = False
        self._said = ""

    def __call__(self, p: Any) -> None:
        paused = f", paused {p.paused:.0f}s by the server" if p.paused >= 1 else ""
        text = f"{self.name}: {p.done:,}/{p.total:,} answered ({p.errors:,} errors){paused}"
        if self.tty:
            from gembatch_tui.core.text import terminal_safe

            sys.stderr.write("\r\x1b[K" + terminal_safe(text))
            sys.stderr.flush()
            self._shown = True
        elif time.monotonic() - self._last >= PROGRESS_LINE_EVERY and text != self._said:
            self._last = time.monotonic()
            self._said = text  # a log gets a line when something moved, not the same line every few seconds
            err(text)

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _stop_on_signals(cancel: threading.Event) -> Callable[[], None]:
    """Ctrl+C and SIGTERM ask the run to stop (answers in flight are kept); a second Ctrl+C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}

    def stop(signum: int, _frame: Any) -> None:
        if cancel.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        cancel.set()
        err("stopping: the requests in flight are answered and kept; run the same command to continue")

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, stop)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def fallback_hint(path: Path, status: str, message: str) -> str | None:
    """The line `submit` adds when the Batch API refused a file for quota (429) or access (403): the same
    requests can go now through the interactive API."""
    if status not in ("error", "queued") or not create_refused(message):
        return None
    quoted = shlex.quote(str(path))
    hint = f"hint: `gembatch-tui run {quoted} --realtime` sends these requests now through generateContent " \
        "(at interactive prices)"
    if status == "queued":  # the queued batch would be submitted too: the same requests answered twice
        hint += f"; cancel the queued batch first (`gembatch-tui cancel {quoted}`)"
    return hint


__all__ = ["add_parser", "cmd_run", "fallback_hint"]
