"""Fixtures for the resources tests: a remote world in every category on the emulator (see res_scenario),
a tiny host app (res_host) and helpers that wait for the screen instead of sleeping."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from res_scenario import Scenario, build  # noqa: E402


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    sc = build(tmp_path)
    try:
        yield sc
    finally:
        sc.emulator.stop()


