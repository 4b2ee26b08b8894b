"""Provides what every command does before its own work: the settings of this run (with the config file's
warnings on stderr) and the store's problems reported once.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gembatch_tui.cli.output import UsageError, err
from gembatch_tui.core.config import ConfigFileError, Settings, build_settings


def settings_for(args: argparse.Namespace, *, warn: bool = False) -> Settings:
    """The settings of this run; with `warn`, the config file's warnings (a misspelt key) go to stderr first."""
    try:
        settings = build_settings(
            store=getattr(args, "store", None),
            results_dir=getattr(args, "results_dir", None),
            api_key=getattr(args, "api_key", None),
            demo=bool(getattr(args, "demo", False)),
            profile=getattr(args, "profile", None),
        )
    except ConfigFileError as exc:
        raise UsageError(str(exc)) from None
    if warn:
        for warning in settings.warnings:
            err(warning)
    return settings


def store_problem_text(store_path: Path, problem: Any) -> str:
    """One line for a problem the store reports (JobStore.problems()): its own full sentence when it carries one
    (`message`), else `STORE:LINE: reason; line kept as it is` for a line that is not a JSON object."""
    message = getattr(problem, "message", None)
    if isinstance(message, str) and message:
        return message
    line_no, reason = getattr(problem, "line_no", None), getattr(problem, "reason", None)
    if line_no is None or reason is None:
        return str(problem)
    return f"{store_path}:{line_no}: {reason}; line kept as it is"


def report_store_problems(store: Any) -> None:
    """Every problem of the store, once, on stderr, before a command's own output: a damaged or wrong-typed
    record is skipped by the command (the others still work), and the user learns which line it is."""
    try:
        problems = store.problems()
    except Exception:  # noqa: BLE001 - the command itself reports an unreadable store, with its exit code
        return
    for problem in problems:
        err(store_problem_text(store.path, problem))
