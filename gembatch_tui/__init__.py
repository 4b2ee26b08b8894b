"""gembatch-tui: a terminal app for Google Gemini Batch API jobs, and a Python library (`from gembatch_tui import
Batches`, see gembatch_tui/lib)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gembatch_tui.lib.batches import Batches
    from gembatch_tui.lib.values import BatchesError, CleanupResult, Job, ResultRow, Submission

_LIBRARY = {
    "Batches": "gembatch_tui.lib.batches",
    "BatchesError": "gembatch_tui.lib.values",
    "CleanupResult": "gembatch_tui.lib.values",
    "Job": "gembatch_tui.lib.values",
    "ResultRow": "gembatch_tui.lib.values",
    "Submission": "gembatch_tui.lib.values",
}
"""The library's names, imported on first use (PEP 562): `import gembatch_tui` (every CLI start) stays free of
the SDK and the core, which `Batches` needs."""

__all__ = ["Batches", "BatchesError", "CleanupResult", "Job", "ResultRow", "Submission", "__version__"]


def __getattr__(name: str) -> Any:
    """`__version__` from the package metadata (importlib.metadata costs ~50 ms at start-up) and the library's
    names, each read on first use."""
    if name in _LIBRARY:
        from importlib import import_module

        return getattr(import_module(_LIBRARY[name]), name)
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gembatch-tui")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"
