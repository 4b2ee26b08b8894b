"""Results leave the service in chunks, never read whole: the server's memory stays flat while it streams.

The default run streams 40 MB (reading it whole would add 40 MB to the server's peak); `-m slow` streams the
300 MB of the issue and checks the 120 MB ceiling. Both through tests/bench/bench_serve.py, the benchmark's code.
"""

from __future__ import annotations

import pytest

from tests.bench.bench_serve import run


def test_a_40_mb_results_file_streams_without_growing_the_server() -> None:
    figures = run(size_mb=40, runs=1)
    assert figures["rss_peak_mb"] - figures["rss_before_mb"] < 25, figures


@pytest.mark.slow
def test_a_300_mb_results_file_streams_under_120_mb_rss() -> None:
    figures = run(size_mb=300, runs=1)
    assert figures["rss_peak_mb"] < 120, figures
