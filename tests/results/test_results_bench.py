"""The 200 MB browse benchmark as a check (slow: run with `pytest -m slow tests/results`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_results.py"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_200_mb_results_file_browses_in_under_150_mb(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(BENCH), "--size-mb", "200", "--mode", "tui", "--dir", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr
    figures = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    assert float(figures["rows"].replace(",", "")) > 80_000
    assert float(figures["peak_rss_mb"].replace(",", "")) < 150, proc.stdout
