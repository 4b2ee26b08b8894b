"""Provides a local Gemini Batch API emulator (Developer API batch mode + Files API) for demo mode and tests.

    from gembatch_tui.core.emulator import Emulator
    with Emulator(job_seconds=1) as emu:
        client = genai.Client(api_key="test-key", http_options={"base_url": emu.url})

Standard library only (plus `filelock`, a project dependency, for a persistent `state_dir`: see persist.py);
never imports Textual or Rich.
"""

from __future__ import annotations

from .catalog import KNOWN_MODELS
from .runtime import Emulator, serve

__all__ = ["Emulator", "KNOWN_MODELS", "serve"]
