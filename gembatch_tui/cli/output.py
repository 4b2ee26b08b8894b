"""Provides the one way every command prints (`out`, `err`, `print_json`), asks (`confirm`) and fails
(`UsageError`, the exit codes): the leaf every CLI module imports, so none imports another for these.

Exit codes (CONTRACTS.md): 0 all done, 1 some item failed, 2 usage error / bad input / missing key.
Every line goes through `out` (stdout) or `err` (stderr): an API key never shows, and a file name, display
name, record field or server message holding ESC, BEL, OSC 52, C1 controls or bidi overrides is shown with
those characters spelt out (core.text.terminal_safe), never sent to the terminal as commands.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from gembatch_tui.core.errors import redact
from gembatch_tui.core.text import fit, json_safe, terminal_safe

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input or a missing key: exit 2 with this one-line message."""


def out(line: object = "") -> None:
    """Print one line on stdout: key-free and terminal-safe (a newline inside it is spelt `\\x0a`)."""
    print(terminal_safe(redact(line)), flush=True)


_LINES_PER_WRITE = 256


def out_lines(lines: Iterable[object]) -> None:
    """Print many lines on stdout, each exactly as `out` prints it, a few hundred per write: a table of 100,000
    jobs line by line took 100,000 flushes. Not all in one write either: a write to a pipe whose reader has gone
    (`list | head`) is cut short without an error, so only the next write raises the BrokenPipeError that ends
    the command quietly (cli.main)."""
    batch: list[str] = []
    for line in lines:
        batch.append(terminal_safe(redact(line)))
        if len(batch) == _LINES_PER_WRITE:
            sys.stdout.write("\n".join(batch) + "\n")
            sys.stdout.flush()
            batch.clear()
    if batch:
        sys.stdout.write("\n".join(batch) + "\n")
        sys.stdout.flush()


def err(line: object) -> None:
    """Print one line on stderr: key-free and terminal-safe."""
    print(terminal_safe(redact(line)), file=sys.stderr, flush=True)


def confirm(question: str, assume_yes: bool, *, refusing: str = "refusing to delete without confirmation") -> bool:
    """Ask `question [y/N]` on the terminal (True on yes); `assume_yes` (--yes) skips it. With no terminal to ask
    on, a UsageError `REFUSING: no terminal to ask on; pass --yes` (CONTRACTS: exit 2)."""
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(f"{refusing}: no terminal to ask on; pass --yes")
    try:
        answer = input(terminal_safe(f"{question} [y/N]") + " ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


_JSON_CHUNK = 1000
"""Items of a long list encoded per write by `print_json`."""


def print_json(value: Any) -> None:
    """`value` as one line of JSON on stdout: non-ASCII text as it is, but every control, bidi or other
    non-printable character as a \\uXXXX escape (valid JSON, the same values, nothing a terminal executes).

    A long list is written a thousand items at a time, byte for byte what one `json.dumps` writes (items joined
    by ", "), so `list --json` of 100,000 records never holds the whole text (80 MB) twice over; each part is
    flushed, so a reader that has gone stops it at the next part (see `out_lines`)."""
    if not isinstance(value, list) or len(value) <= _JSON_CHUNK:
        sys.stdout.write(json_safe(json.dumps(value, ensure_ascii=False)) + "\n")
        sys.stdout.flush()
        return
    write = sys.stdout.write
    write("[")
    for start in range(0, len(value), _JSON_CHUNK):
        items = json.dumps(value[start : start + _JSON_CHUNK], ensure_ascii=False)[1:-1]
        write((", " if start else "") + json_safe(items))
        sys.stdout.flush()
    write("]\n")
    sys.stdout.flush()


NAME_WIDTH = 28
"""list's NAME column: longer names end in `…`, so two names alike in their first 27 characters differ."""


