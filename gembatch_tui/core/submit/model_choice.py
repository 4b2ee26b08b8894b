"""Provides the model a validated file is submitted to, the same for `submit` and the REST service.

Why here: an embeddings file sent without a model goes to the embedding model (not to the generate default, where
it would fail hours later), and a model named by the user that cannot run the file's kind is refused up front;
both front ends must decide this the same way.
"""

from __future__ import annotations

from typing import Any

from gembatch_tui.core.api.models_catalog import kind_mismatch
from gembatch_tui.core.submit.input_line import EMBED

DEFAULT_EMBEDDING_MODEL = "gemini-embedding-001"


def choose_model(requested: str | None, file_kind: str, default_model: str, config: dict[str, Any]) -> tuple[str, str | None]:
    """(model, why not): the requested model, else the config's default for the file's kind; `why not` is a
    sentence when a requested model cannot run this kind of file (then nothing is to be submitted)."""
    if requested:
        return requested, kind_mismatch(requested, file_kind)
    if file_kind == EMBED:
        return str(config.get("default_embedding_model") or DEFAULT_EMBEDDING_MODEL), None
    return default_model, None


__all__ = ["DEFAULT_EMBEDDING_MODEL", "choose_model"]
