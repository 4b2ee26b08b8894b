"""Provides the terminal notification the app sends when jobs finish (config `notify`): the bell, OSC 9, OSC 777.

Why escape sequences and not a desktop library: the app often runs over SSH and inside tmux, far from the desktop
that should show the notice; the sequence travels with the terminal's own bytes to the terminal that draws it.
- OSC 9 (`ESC ] 9 ; text BEL`): iTerm2, WezTerm, kitty, Windows Terminal, foot, ConEmu. Text that starts with a
  digit and `;` means something else to ConEmu and Windows Terminal (progress), so ours always starts with a word.
- OSC 777 (`ESC ] 777 ; notify ; title ; body BEL`): urxvt, foot, Ghostty, VTE-based terminals (GNOME Terminal,
  Tilix). The title cannot hold `;` (it would end the title), so a `;` there becomes `,`.
- tmux swallows unknown sequences: inside tmux ($TMUX set) the sequence goes through the DCS passthrough
  (`ESC P tmux ; ` + the sequence with every ESC doubled + `ESC \\`), which tmux forwards only with
  `set -g allow-passthrough on` (tmux 3.3 and newer).
Text in a notification comes from outside (a display name is the file name or whatever the submitter chose), so
it is made inert first (core.text.terminal_safe: an ESC or BEL in a name is spelt `\\x1b`, never sent) and cut
to MAX_CHARS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gembatch_tui.core.text import terminal_safe

KINDS = ("osc9", "osc777")
"""The `notify` settings that send a notification (`bell` rings the bell only; `none` does nothing)."""
TITLE = "gembatch-tui"
MAX_CHARS = 200
ESC = "\x1b"
BEL = "\x07"


def clean(text: object, limit: int = MAX_CHARS) -> str:
    """`text` as inert characters (no control, format or bidi character survives), at most `limit` of them."""
    safe = terminal_safe(text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def sequence(kind: str, title: str, body: str, *, tmux: bool = False) -> str:
    """The escape sequence that shows `title` / `body` as a notification (`kind`: osc9 or osc777), wrapped for
    tmux's passthrough when `tmux`. Both texts are cleaned here, whoever calls."""
    title, body = clean(title, 60), clean(body)
    if kind == "osc9":
        inner = f"{ESC}]9;{title}: {body}{BEL}"
    elif kind == "osc777":
        inner = f"{ESC}]777;notify;{title.replace(';', ',')};{body}{BEL}"
    else:
        raise ValueError(f"unknown notification kind {kind!r}; use one of {', '.join(KINDS)}")
    if tmux:
        return f"{ESC}Ptmux;{inner.replace(ESC, ESC + ESC)}{ESC}\\"
    return inner


def inside_tmux(environ: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if environ is None else environ).get("TMUX"))


def finished_text(labels_and_states: list[tuple[str, str]]) -> str:
    """What the notification says: `name: succeeded`, or `3 jobs finished: 2 succeeded, 1 failed`."""
    if len(labels_and_states) == 1:
        label, state = labels_and_states[0]
        return f"{label}: {state}"
    counts: dict[str, int] = {}
    for _label, state in labels_and_states:
        counts[state] = counts.get(state, 0) + 1
    parts = ", ".join(f"{n} {state}" for state, n in counts.items())
    return f"{len(labels_and_states)} jobs finished: {parts}"


__all__ = ["KINDS", "clean", "finished_text", "inside_tmux", "sequence"]
