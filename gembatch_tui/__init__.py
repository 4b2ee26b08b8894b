"""gembatch-tui: a terminal app for Google Gemini Batch API jobs."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`__version__` from the package metadata, read on first use (importlib.metadata costs ~50 ms at start-up)."""
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gembatch-tui")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"
