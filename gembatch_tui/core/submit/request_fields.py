"""Provides the check of field names in batch requests: a misspelt field (`generationconfig`, `temprature`) is
rejected by the service, line by line, hours after the upload; here it is a warning with the likely intended
name before anything is sent.

Warnings, not errors: the API grows new fields, and a name this table does not know yet must not block a
submission. Both spellings the service accepts are known: the proto names (`generation_config`) and their JSON
camelCase (`generationConfig`). Only the request's own fields and `generationConfig` are checked; deeper
objects (contents, tools, schemas) hold user data whose names are free.
"""

from __future__ import annotations

import difflib
from typing import Any


def _both(*camel: str) -> frozenset[str]:
    """Each camelCase name and its snake_case twin."""
    out = set()
    for name in camel:
        out.add(name)
        out.add("".join(f"_{c.lower()}" if c.isupper() else c for c in name))
    return frozenset(out)


GENERATE_REQUEST = _both(
    "model", "contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig",
    "cachedContent", "labels",
)
EMBED_REQUEST = _both("model", "content", "taskType", "title", "outputDimensionality")
GENERATION_CONFIG = _both(
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
    "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
    "frequencyPenalty", "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "speechConfig",
    "thinkingConfig", "imageConfig", "mediaResolution",
)


def _unknown(obj: dict[str, Any], known: frozenset[str], where: str) -> list[str]:
    out = []
    for name in obj:
        if name in known:
            continue
        match = [k for k in known if k.lower() == name.lower()] or difflib.get_close_matches(name, known, 1, 0.75)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        out.append(f"unknown field {name!r} in {where}{hint}: the service rejects requests with unknown fields")
    return out


def check(request: dict[str, Any], embed: bool = False) -> list[str]:
    """Warnings about field names in one request (empty when every name is known)."""
    if embed:
        return _unknown(request, EMBED_REQUEST, "the request")
    warnings = _unknown(request, GENERATE_REQUEST, "the request")
    for name in ("generationConfig", "generation_config"):
        config = request.get(name)
        if isinstance(config, dict):
            warnings.extend(_unknown(config, GENERATION_CONFIG, name))
    return warnings


__all__ = ["EMBED_REQUEST", "GENERATE_REQUEST", "GENERATION_CONFIG", "check"]
