"""Provides the finish hook: the user's `on_finish` command, run once for each job a poll pass sees finish.

Why it looks like this:
- Exactly once across pollers (the app and `poll --watch` on one store): the locked write that records a job's
  final state also marks its hook due (`finish_hook.due_at`; only the writer that saw the change marks it), and
  whoever runs hooks claims a due job under the store lock (`claimed_at`, `claimed_by`) before starting the
  command, so a second poller finds the claim and skips it. A poller killed after its claim loses that one run:
  at most once, never twice.
- Only jobs that finish while a hook is configured are marked, so configuring one later does not fire it for
  every job that ended before.
- It waits for the results: a succeeded job's hook runs once its results are saved and verified (or once a
  download failed, then with GEMBATCH_RESULTS_ERROR), so the command can read the file it is given.
- A hook that cannot start, times out or exits non-zero is reported by the pass (`PollReport.hooks`) and written
  on the record (`finish_hook.exit_code` / `error`); it is never retried.
- The child never sees the API key: GOOGLE_API_KEY and GEMINI_API_KEY (and any variable holding the key in use)
  are taken out of its environment. What it is told arrives in GEMBATCH_* variables (JOB_VARS), never spliced
  into the command line, so a display name chosen by someone else cannot become shell code.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gembatch_tui.core.errors import redact
from gembatch_tui.core.models import (
    Record,
    batch_name,
    display_name,
    is_final,
    needs_download,
    now_iso,
    record_key,
    record_state,
    record_stats,
    short_state,
)
from gembatch_tui.core.poll import inline_results

if TYPE_CHECKING:
    from gembatch_tui.core.submit.service import BatchService

FIELD = "finish_hook"
"""The record's field: {due_at, claimed_at, claimed_by, ran_at, exit_code, error}."""
KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
OUTPUT_TAIL = 400
"""How much of a failing hook's output (its end) is kept for the message."""
JOB_VARS = (
    "GEMBATCH_JOB_NAME", "GEMBATCH_JOB_ID", "GEMBATCH_JOB_DISPLAY_NAME", "GEMBATCH_JOB_STATE", "GEMBATCH_JOB_MODEL",
    "GEMBATCH_JOB_ERROR", "GEMBATCH_REQUEST_COUNT", "GEMBATCH_SUCCEEDED_COUNT", "GEMBATCH_FAILED_COUNT",
    "GEMBATCH_INPUT_FILE", "GEMBATCH_RESULTS_FILE", "GEMBATCH_RESULTS_ERROR", "GEMBATCH_GROUP_ID", "GEMBATCH_STORE",
)
"""Every variable a hook is given (empty when the job has no such value)."""


@dataclass(frozen=True)
class FinishHook:
    """The configured command: a string runs through the shell (`sh -c`), a list runs as it is (argv)."""

    command: str | list[str]
    timeout_s: float = 60.0


@dataclass
class HookRun:
    """What one run of the hook did, for the poll report (the CLI's lines, the app's event log)."""

    key: str
    name: str
    ok: bool
    message: str


_installed: weakref.WeakKeyDictionary[BatchService, FinishHook] = weakref.WeakKeyDictionary()


def install(service: BatchService, hook: FinishHook | None) -> None:
    """Give the poll passes over `service` this hook (None: no hook). The one place that builds services
    (runtime.open_runtime) calls it, so the app, `poll` and the library all run the same hook."""
    if hook is None:
        _installed.pop(service, None)
    else:
        _installed[service] = hook


def installed(service: BatchService) -> FinishHook | None:
    return _installed.get(service)


def marking(service: BatchService, change: Callable[[Record], Record | None]) -> Callable[[Record], Record | None]:
    """`change` (a store update), which also marks the hook due when it takes the record from not final to final.

    It runs inside the store's locked write, on the record as it is then: a second poller whose write lands later
    sees the state already final and marks nothing."""
    if installed(service) is None:
        return change

    def apply(rec: Record) -> Record | None:
        was_final = is_final(record_state(rec))
        result = change(rec)
        new = rec if result is None else result
        if not was_final and is_final(record_state(new)) and FIELD not in new:
            new[FIELD] = {"due_at": now_iso()}
        return result

    return apply


def run_due(
    service: BatchService,
    *,
    failed_downloads: Iterable[str] = (),
    only: frozenset[str] | None = None,
    runner: Callable[[FinishHook, dict[str, str]], tuple[bool, str, int | None]] | None = None,
) -> list[HookRun]:
    """Claim and run the hook of every job marked due whose results are settled (saved, not needed, or their
    download failed in this pass: `failed_downloads`, record keys); `only` limits it to those record keys."""
    hook = installed(service)
    if hook is None:
        return []
    failed = set(failed_downloads)
    runs: list[HookRun] = []
    for rec in service.store.read_all():
        key = record_key(rec)
        if only is not None and key not in only:
            continue
        if not _due(rec) or not _settled(rec, key in failed):
            continue
        claimed = _claim(service, key)
        if claimed is None:
            continue  # another poller took it between our read and our claim
        env = hook_environment(claimed, service.store.path, failed=key in failed)
        ok, message, code = (runner or run_command)(hook, env)
        name = batch_name(claimed) or display_name(claimed)
        runs.append(HookRun(key, name, ok, message))
        _record_outcome(service, key, ok, message, code)
    return runs


def _due(rec: Record) -> bool:
    mark = rec.get(FIELD)
    return isinstance(mark, dict) and bool(mark.get("due_at")) and not mark.get("claimed_at")


def _settled(rec: Record, download_failed: bool) -> bool:
    if needs_download(rec) or inline_results.needs_results(rec):
        return download_failed
    return True


def _claim(service: BatchService, key: str) -> Record | None:
    """The record, claimed for this process under the store lock; None when someone claimed it first."""
    won: list[Record] = []

    def apply(rec: Record) -> None:
        if not _due(rec):
            return
        rec[FIELD] = {**rec[FIELD], "claimed_at": now_iso(), "claimed_by": f"{socket.gethostname()}:{os.getpid()}"}
        won.append(dict(rec))

    service.store.update_many({key: apply})
    return won[0] if won else None


def _record_outcome(service: BatchService, key: str, ok: bool, message: str, code: int | None) -> None:
    def apply(rec: Record) -> None:
        mark = dict(rec.get(FIELD) or {})
        mark.update(ran_at=now_iso(), exit_code=code)
        if not ok:
            mark["error"] = message
        rec[FIELD] = mark

    service.store.update_many({key: apply})


def hook_environment(rec: Record, store_path: object, *, failed: bool = False,
                     base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ours without the API key, plus JOB_VARS describing the job."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k not in KEY_VARIABLES and redact(v) == v}
    stats = record_stats(rec)
    batch = rec.get("batch") if isinstance(rec.get("batch"), dict) else {}
    results = rec.get("results_file") if not needs_download(rec) and not inline_results.needs_results(rec) else None
    values = {
        "GEMBATCH_JOB_NAME": batch_name(rec),
        "GEMBATCH_JOB_ID": record_key(rec),
        "GEMBATCH_JOB_DISPLAY_NAME": display_name(rec),
        "GEMBATCH_JOB_STATE": short_state(record_state(rec)),
        "GEMBATCH_JOB_MODEL": str(batch.get("model") or rec.get("model") or "").replace("models/", ""),
        "GEMBATCH_JOB_ERROR": rec.get("error"),
        "GEMBATCH_REQUEST_COUNT": stats["request_count"] or rec.get("count"),
        "GEMBATCH_SUCCEEDED_COUNT": stats["successful_request_count"],
        "GEMBATCH_FAILED_COUNT": stats["failed_request_count"],
        "GEMBATCH_INPUT_FILE": rec.get("input_file"),
        "GEMBATCH_RESULTS_FILE": results,
        "GEMBATCH_RESULTS_ERROR": rec.get("results_error") or ("results not saved" if failed else None),
        "GEMBATCH_GROUP_ID": rec.get("group_id"),
        "GEMBATCH_STORE": str(store_path),
    }
    for name in JOB_VARS:
        value = values.get(name)
        env[name] = redact("" if value is None else str(value)).replace("\0", "")
    return env


def run_command(hook: FinishHook, env: dict[str, str]) -> tuple[bool, str, int | None]:
    """Run the hook once: (ok, what happened, exit code). Its output is kept (the end of it) only for a failure;
    on timeout its whole process group is killed, so a shell's children do not outlive it."""
    shell = isinstance(hook.command, str)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(  # noqa: S602 - the user's own configured command; job data only in env
            hook.command, shell=shell, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    except OSError as exc:
        return False, f"on_finish could not start: {exc.strerror or exc}", None
    try:
        output, _ = proc.communicate(timeout=hook.timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        return False, f"on_finish timed out after {hook.timeout_s:g} s and was stopped", None
    took = time.monotonic() - started
    if proc.returncode == 0:
        return True, f"on_finish done ({took:.1f} s)", 0
    tail = output.decode("utf-8", errors="replace").strip()[-OUTPUT_TAIL:]
    why = f"exit {proc.returncode}" if proc.returncode > 0 else f"killed by signal {-proc.returncode}"
    return False, f"on_finish failed ({why})" + (f": {redact(tail)}" if tail else ""), proc.returncode


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


__all__ = ["FIELD", "JOB_VARS", "FinishHook", "HookRun", "hook_environment", "install", "installed", "marking",
           "run_command", "run_due"]
