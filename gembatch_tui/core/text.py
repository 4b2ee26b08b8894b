"""Provides the one rule for showing outside text (file names, display names, server messages, store fields) on a
terminal: as inert characters, never as terminal commands.

Why: a display name holding `\\x1b]52;c;...\\x07` would write the user's clipboard (OSC 52), `\\x1b[2J` would clear
the screen, and U+202E (RIGHT-TO-LEFT OVERRIDE) makes `txt.exe` look like `exe.txt`. Every character that is not
printable by Python's definition (`str.isprintable`), other than the plain space, is spelt as a visible escape:
`\\x1b`, `\\x07`, `\\x7f`, `\\x9b`, `\\u202e`, `\\U000e0001`. That covers every C0 and C1 control, DEL, the bidi
controls (U+061C, U+200E/U+200F, U+202A-U+202E, U+2066-U+2069) and every other format character, line and
paragraph separators, and lone surrogates (which a terminal could not even be sent).

`terminal_safe` is for text lines (the CLI's stdout and stderr, the TUI through tui/widgets/safe_text.py);
`json_safe` is for JSON text: the same characters become `\\uXXXX` escapes, so the JSON stays valid and parses to
exactly the same values.
"""

from __future__ import annotations


def escape_char(ch: str) -> str:
    """`\\xHH`, `\\uHHHH` or `\\UHHHHHHHH` for one character."""
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def terminal_safe(text: object, *, keep: str = "") -> str:
    """`text` with every control, format or other non-printable character spelt as a visible escape.

    `keep` names characters to leave as they are (the TUI's scrolling panes keep "\\n\\t"); a CLI line keeps none.
    """
    value = text if isinstance(text, str) else ("" if text is None else str(text))
    if value.isprintable():  # the common case, in C
        return value
    return "".join(ch if ch.isprintable() or ch == " " or ch in keep else escape_char(ch) for ch in value)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_safe(text: str, *, keep: str = "") -> str:
    """JSON text (as `json.dumps(..., ensure_ascii=False)` writes it, without indent) with every non-printable
    character as a `\\uXXXX` escape: valid JSON with the same values, and safe to print.

    Such characters can only stand inside JSON strings there (outside them json.dumps writes ASCII punctuation,
    digits, letters and spaces), where `\\uXXXX` means the very same character. `keep` names characters to leave
    as they are: "\\n" for JSON Lines, whose only raw newlines are the ones between records."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " or ch in keep else _json_escape(ch) for ch in text)


def fit(text: str, width: int) -> str:
    """`text` in at most `width` characters, ending in `…` where it was cut (a bare cut looks like the whole name)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


__all__ = ["escape_char", "fit", "json_safe", "terminal_safe"]


def format_bytes(n: int, *, compact: bool = False) -> str:
    """A size for people, in one unit system everywhere (binary: B, KiB, MiB, GiB, TiB): `1.5 MiB`. `compact`, for
    narrow columns: no space, and whole units from 100 up (`1.5MiB`, `137MiB`; 8 characters at most)."""
    gap = "" if compact else " "
    if n < 1024:
        return f"{n}{gap}B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    shown = f"{value:.1f}"
    if compact and float(shown) >= 100:
        shown = str(int(float(shown)))
    return f"{shown}{gap}{unit}"
