"""Provides the emulator's model catalogue: which model ids exist and which batch method each one serves.

Kept in one constant so that tests, the demo and the 404 logic agree on the list.
"""

from __future__ import annotations

from typing import NamedTuple

GENERATE = "generate"
EMBED = "embed"


class ModelInfo(NamedTuple):
    kind: str  # GENERATE or EMBED: the batch method the model supports
    thinks: bool = False  # reports thoughtsTokenCount unless thinkingBudget is 0
    dimensions: int = 0  # default embedding size (EMBED models only)


KNOWN_MODELS: dict[str, ModelInfo] = {
    "gemini-2.5-flash": ModelInfo(GENERATE, thinks=True),
    "gemini-2.5-pro": ModelInfo(GENERATE, thinks=True),
    "gemini-2.5-flash-lite": ModelInfo(GENERATE),
    "gemini-2.0-flash": ModelInfo(GENERATE),
    "gemini-2.0-flash-lite": ModelInfo(GENERATE),
    "gemini-3-pro-preview": ModelInfo(GENERATE, thinks=True),
    "gemini-3-flash-preview": ModelInfo(GENERATE, thinks=True),
    "gemini-flash-latest": ModelInfo(GENERATE, thinks=True),
    "gemini-flash-lite-latest": ModelInfo(GENERATE),
    "gemini-embedding-001": ModelInfo(EMBED, dimensions=3072),
    "text-embedding-004": ModelInfo(EMBED, dimensions=768),
}

# URL method suffix -> (kind of batch, metadata @type stem)
BATCH_METHODS: dict[str, tuple[str, str]] = {
    "batchGenerateContent": (GENERATE, "GenerateContentBatch"),
    "asyncBatchEmbedContent": (EMBED, "EmbedContentBatch"),
}

TYPE_PREFIX = "type.googleapis.com/google.ai.generativelanguage.v1main."


def batch_type(kind: str) -> str:
    """The metadata `@type` stem for a batch kind (`GenerateContentBatch` / `EmbedContentBatch`)."""
    return "EmbedContentBatch" if kind == EMBED else "GenerateContentBatch"
