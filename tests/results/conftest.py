"""Fixtures for the results tests (the data itself is in results_helpers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


from tests.results.results_helpers import messy_record


@pytest.fixture
def messy_job(tmp_path: Path) -> dict[str, Any]:
    """A record whose input and results (see results_helpers.MESSY_RESULTS) are in tmp_path/data."""
    return messy_record(tmp_path)
