"""Provides the list of current Gemini models offered on the submit screen (the user may still type any other).

Why a list at all: a user on a remote box should not have to remember exact model ids; the field still takes
free text, because new models appear more often than this list changes. Sources: the model ids Google documents
for the Batch API and the price table in `core.pricing` (checked 2026-11-23). `gemini-3-pro-preview` is left out
on purpose: it was reported shut down on 2026-03-09 and succeeded by `gemini-3.1-pro-preview`.
"""

from __future__ import annotations

from dataclasses import dataclass

GENERATE = "generate"
EMBED = "embed"


@dataclass(frozen=True)
class ModelChoice:
    """One model the submit screen offers."""

    id: str
    """The model id as the API takes it, without `models/`."""
    kind: str
    """`generate` (batchGenerateContent) or `embed` (asyncBatchEmbedContent): which input files it can take."""
    note: str
    """A few words shown next to the choice."""


MODELS: tuple[ModelChoice, ...] = (
    ModelChoice("gemini-2.5-flash", GENERATE, "balanced price and quality"),
    ModelChoice("gemini-2.5-flash-lite", GENERATE, "cheapest, fastest"),
    ModelChoice("gemini-2.5-pro", GENERATE, "strongest 2.5 model"),
    ModelChoice("gemini-3-flash-preview", GENERATE, "Gemini 3 Flash (preview)"),
    ModelChoice("gemini-3.1-pro-preview", GENERATE, "Gemini 3.1 Pro (preview)"),
    ModelChoice("gemini-2.0-flash", GENERATE, "previous generation"),
    ModelChoice("gemini-2.0-flash-lite", GENERATE, "previous generation, cheapest"),
    ModelChoice("gemini-flash-latest", GENERATE, "alias of the newest Flash"),
    ModelChoice("gemini-flash-lite-latest", GENERATE, "alias of the newest Flash-Lite"),
    ModelChoice("gemini-embedding-001", EMBED, "embeddings (files of 'content' requests)"),
)


def bare_model(model: str) -> str:
    """`models/gemini-2.5-flash` -> `gemini-2.5-flash`; surrounding blanks removed."""
    name = model.strip()
    return name[len("models/") :] if name.startswith("models/") else name


def model_ids() -> list[str]:
    return [m.id for m in MODELS]


def find_model(model: str) -> ModelChoice | None:
    """The catalogue entry for a model id (with or without `models/`), or None for one typed freely."""
    name = bare_model(model)
    for choice in MODELS:
        if choice.id == name:
            return choice
    return None


def model_kind(model: str) -> str | None:
    """`generate` / `embed` for a known model; for an unknown one, guessed from `embedding` in its name."""
    choice = find_model(model)
    if choice is not None:
        return choice.kind
    name = bare_model(model)
    if not name:
        return None
    return EMBED if "embedding" in name else GENERATE


def next_model(current: str, step: int = 1) -> str:
    """The catalogue entry `step` places after (or before, when negative) `current`, wrapping around.

    A freely typed model steps to the first (or last) entry, so up/down always lands on a known id.
    """
    ids = model_ids()
    name = bare_model(current)
    if name not in ids:
        return ids[0] if step > 0 else ids[-1]
    return ids[(ids.index(name) + step) % len(ids)]


def kind_mismatch(model: str, file_kind: str) -> str | None:
    """A sentence when the model cannot run this kind of file (an embedding file on a generate model), else None."""
    wanted = model_kind(model)
    if wanted is None or wanted == file_kind:
        return None
    if file_kind == EMBED:
        return (f"this file holds embedding requests, but {bare_model(model)} generates text;"
                " choose gemini-embedding-001")
    return f"this file holds generate requests, but {bare_model(model)} is an embedding model"


__all__ = [
    "EMBED",
    "GENERATE",
    "MODELS",
    "ModelChoice",
    "bare_model",
    "find_model",
    "kind_mismatch",
    "model_ids",
    "model_kind",
    "next_model",
]
