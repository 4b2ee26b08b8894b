"""Provides a local Gemini Batch API emulator (Developer API batch mode + Files API) for demo mode and tests.

    from gembatch_tui.emulator import Emulator
    with Emulator(job_seconds=1) as emu:
        client = genai.Client(api_key="test-key", http_options={"base_url": emu.url})

Standard library only (plus `filelock`, a project dependency, for a persistent `state_dir`: see persist.py);
never imports Textual or Rich.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Emulator", "KNOWN_MODELS", "serve"]


def __getattr__(name: str) -> Any:
    """Loaded on first use: the CLI imports the emulator's options module on every start, and that must not
    start the whole server package (PEP 562)."""
    if name == "KNOWN_MODELS":
        from .catalog import KNOWN_MODELS

        return KNOWN_MODELS
    if name in ("Emulator", "serve"):
        from . import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
