"""Fixtures for the resources tests: a remote world in every category on the emulator (see res_scenario),
a tiny host app (res_host) and helpers that wait for the screen instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


from tests.resources.res_scenario import Scenario, build


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    sc = build(tmp_path)
    try:
        yield sc
    finally:
        sc.emulator.stop()


