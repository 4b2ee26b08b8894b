"""Fixtures for the results tests (the data itself is in results_helpers.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from results_helpers import messy_record  # noqa: E402


@pytest.fixture
def messy_job(tmp_path: Path) -> dict[str, Any]:
    """A record whose input and results (see results_helpers.MESSY_RESULTS) are in tmp_path/data."""
    return messy_record(tmp_path)
