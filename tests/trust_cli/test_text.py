"""core.text: the one rule for outside text on a terminal, and its JSON twin (pure logic, no server)."""

from __future__ import annotations

import json

import pytest

from gembatch_tui.core.text import json_safe, terminal_safe

C0_C1_DEL = [chr(c) for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]]
BIDI = ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]


@pytest.mark.parametrize("ch", C0_C1_DEL + BIDI + ["\u2028", "\u2029", "\ud800", "\U000e0001"])
def test_every_control_and_bidi_character_is_spelt_out(ch: str) -> None:
    shown = terminal_safe(f"a{ch}b")
    assert shown.isascii() and shown.isprintable() and shown.startswith("a\\") and shown.endswith("b")
    code = ord(ch)
    spelt = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    assert shown == f"a{spelt}b"
    assert terminal_safe(shown) == shown  # idempotent: escaping twice shows the same


def test_spelling_and_what_is_kept() -> None:
    assert terminal_safe("\x1b]52;c;eA==\x07") == "\\x1b]52;c;eA==\\x07"
    assert terminal_safe("x\u202ey\x9b\x7f\U000e0001") == "x\\u202ey\\x9b\\x7f\\U000e0001"
    assert terminal_safe("café 😀 日本語 a b") == "café 😀 日本語 a b"  # printable text is untouched
    assert terminal_safe("a\tb\nc") == "a\\x09b\\x0ac"
    assert terminal_safe("a\tb\nc", keep="\n\t") == "a\tb\nc"
    assert terminal_safe(None) == "" and terminal_safe(5) == "5"


@pytest.mark.parametrize("value", [
    {"name": "\x1b[2J\u202e\x85\x7f\ud800\U000e0001 café 😀", "n": [1, "\x07"]},
    ["".join(C0_C1_DEL + BIDI)],
])
def test_json_safe_is_valid_json_with_the_same_values_and_nothing_raw(value: object) -> None:
    text = json_safe(json.dumps(value, ensure_ascii=False))
    assert text.isprintable()
    assert json.loads(text) == value
    assert "café 😀" in json_safe(json.dumps("café 😀", ensure_ascii=False))  # readable text stays readable


def test_json_lines_keep_their_record_separators() -> None:
    lines = json_safe(json.dumps({"a": "\u202e"}, ensure_ascii=False) + "\n" + json.dumps(["\x9b"]) + "\n", keep="\n")
    assert [json.loads(line) for line in lines.splitlines()] == [{"a": "\u202e"}, ["\x9b"]]
    assert lines.count("\n") == 2 and lines.replace("\n", "").isprintable()
