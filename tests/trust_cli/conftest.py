"""Fixtures for the CLI trust tests: the real CLI as a subprocess against an in-process emulator over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock

KEY = "test-key-TRUSTCLI-0123456789"

# Everything a hostile string can hold that a terminal acts on: OSC 52 (write the clipboard) ended by BEL, a CSI
# clearing the screen, the 8-bit CSI (C1 0x9b), NEL (C1 0x85), DEL, a tab, bidi overrides and isolates, and the
# Arabic letter mark.
EVIL = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b31m\u202eevil\u2066\x85\x7f\t\u200f\u061c"


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    """The characters of `text` a terminal would act on (not printable, not a space, not in `allowed`)."""
    return sorted({repr(ch) for ch in text if not ch.isprintable() and ch != " " and ch not in allowed})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=10, clock=clock) as emu:
        yield emu


@pytest.fixture
def cli(tmp_path: Path, emulator: Emulator) -> Cli:
    """The CLI with a key, the emulator's URL, and retries that give up at once (so injected errors are quick)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"retry": {"attempts": 1, "initial_delay": 0, "max_delay": 0}}))
    return Cli(home, env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emulator.url})
