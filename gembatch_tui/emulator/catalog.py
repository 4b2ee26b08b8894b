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
    "gemini-3.1-pro-preview": ModelInfo(GENERATE, thinks=True),
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


def model_resource(model_id: str, info: ModelInfo) -> dict[str, object]:
    """The Model that models.get answers for a known id (the fields the SDK maps; limits as the docs give)."""
    if info.kind == EMBED:
        methods = ["embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent"]
        limits = {"inputTokenLimit": 2048, "outputTokenLimit": 1}
    else:
        methods = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
        limits = {"inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536}
    out: dict[str, object] = {
        "name": f"models/{model_id}", "version": "001",
        "displayName": model_id.replace("-", " ").title(), "description": f"{model_id} (emulated)",
        **limits, "supportedGenerationMethods": methods,
    }
    if info.kind == GENERATE:
        out.update(temperature=1, topP=0.95, topK=64, maxTemperature=2, thinking=info.thinks)
    return out
