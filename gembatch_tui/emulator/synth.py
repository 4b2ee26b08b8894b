"""Provides deterministic stand-ins for model output: answer text, schema-shaped JSON, embeddings, token counts.

Everything is a pure function of (seed, line index, request), so a rerun of the same input gives the same bytes,
while different prompts still give visibly different, plausible answers.
"""

from __future__ import annotations

import json
import math
import random
import re
import zlib
from typing import Any

from .catalog import KNOWN_MODELS, ModelInfo

FILLER = (
    "The key points are summarised below.",
    "In short, it depends on the context, but the main idea is straightforward.",
    "Here are the most important considerations to keep in mind.",
    "This is a common question, and the answer has a few parts.",
    "Let me break this down step by step.",
    "Each of these factors plays a role in the final outcome.",
    "A practical example usually makes this clearer.",
    "Overall, the trade-offs are worth weighing carefully.",
)
OPENERS = (
    "Here is a short answer to your request: \u201c{p}\u201d",
    "You asked: \u201c{p}\u201d",
    "**Answer.** Regarding \u201c{p}\u201d:",
    "Sure. On the question \u201c{p}\u201d, here is an overview.",
)
WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
MEDIA_TOKENS = 258


def get(d: Any, *names: str) -> Any:
    """First present key among camelCase/snake_case spellings; None when `d` is not a dict."""
    if not isinstance(d, dict):
        return None
    for name in names:
        if name in d:
            return d[name]
    return None


def rng_for(seed: int, index: int, text: str) -> random.Random:
    return random.Random(f"{seed}:{index}:{zlib.crc32(text.encode('utf-8', 'replace'))}:{len(text)}")


def _iter_parts(contents: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if isinstance(contents, dict):
        contents = [contents]
    if not isinstance(contents, list):
        return parts
    for content in contents:
        for part in get(content, "parts") or []:
            if isinstance(part, dict):
                parts.append(part)
    return parts


def prompt_text(request: dict[str, Any]) -> str:
    """The user-visible text of a request (all text parts of all contents), used to derive the answer."""
    texts = [p["text"] for p in _iter_parts(get(request, "contents", "content")) if isinstance(p.get("text"), str)]
    return "\n".join(texts)


def prompt_token_details(request: dict[str, Any]) -> list[tuple[str, int]]:
    """[(modality, tokens)] for everything the model reads: text is ~4 chars/token, each media part a flat count."""
    text_chars = 0
    media: dict[str, int] = {}
    parts = _iter_parts(get(request, "contents")) + _iter_parts(get(request, "systemInstruction", "system_instruction"))
    for part in parts:
        if isinstance(part.get("text"), str):
            text_chars += len(part["text"])
            continue
        blob = get(part, "inlineData", "inline_data", "fileData", "file_data")
        if isinstance(blob, dict):
            mime = str(get(blob, "mimeType", "mime_type") or "")
            modality = mime.split("/")[0].upper() if mime.split("/")[0] in ("image", "audio", "video") else "DOCUMENT"
            media[modality] = media.get(modality, 0) + MEDIA_TOKENS
    details = [("TEXT", max(1, math.ceil(text_chars / 4)))]
    details.extend(sorted(media.items()))
    return details


def request_tokens(request: dict[str, Any], kind: str) -> int:
    """Prompt tokens of one request, as the enqueued-token budget counts them: the usage's prompt count for a
    generate request; for an embedding request, its `content` text at ~4 chars a token."""
    if kind == "embed":
        chars = sum(len(p["text"]) for p in _iter_parts(get(request, "content")) if isinstance(p.get("text"), str))
        return max(1, math.ceil(chars / 4))
    return sum(n for _, n in prompt_token_details(request))


def answer_text(prompt: str, rng: random.Random) -> str:
    opener = rng.choice(OPENERS).format(p=prompt.strip() or "(empty prompt)")
    body = " ".join(rng.sample(FILLER, rng.randint(1, 3)))
    bullets = "\n".join(f"* Point {i + 1}: {w}." for i, w in enumerate(_words(prompt, rng, rng.randint(2, 3))))
    return f"{opener}\n\n{body}\n\n{bullets}"


def _words(prompt: str, rng: random.Random, n: int) -> list[str]:
    words = WORD_RE.findall(prompt[:1000]) or ["example"]
    return [rng.choice(words) for _ in range(n)]


def _phrase(prompt: str, rng: random.Random) -> str:
    words = WORD_RE.findall(prompt[:1000])
    caps = [w for w in words if w[0].isupper()]
    pool = caps or words or ["example"]
    return str(rng.choice(pool))


def value_for_schema(schema: Any, prompt: str, rng: random.Random, depth: int = 0) -> Any:
    """A value that fits an OpenAPI-style (`OBJECT`) or JSON-Schema-style (`object`) schema."""
    if not isinstance(schema, dict) or depth > 6:
        return _phrase(prompt, rng)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return rng.choice(enum)
    for key in ("anyOf", "any_of", "oneOf", "one_of"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return value_for_schema(options[0], prompt, rng, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "string")
    kind = str(kind or ("object" if "properties" in schema else "string")).upper()
    if kind == "OBJECT":
        props = schema.get("properties") or {}
        order = get(schema, "propertyOrdering", "property_ordering") or list(props)
        return {k: value_for_schema(props[k], prompt, rng, depth + 1) for k in order if k in props}
    if kind == "ARRAY":
        low = int(get(schema, "minItems", "min_items") or 1)
        high = max(low, min(int(get(schema, "maxItems", "max_items") or 2), 3))
        return [value_for_schema(schema.get("items"), prompt, rng, depth + 1) for _ in range(rng.randint(low, high))]
    if kind == "NUMBER":
        return round(rng.uniform(0, 100), 2)
    if kind == "INTEGER":
        return rng.randint(0, 100)
    if kind == "BOOLEAN":
        return rng.random() < 0.5
    if schema.get("format") in ("date-time", "date"):
        return "2025-01-01T00:00:00Z" if schema["format"] == "date-time" else "2025-01-01"
    return _phrase(prompt, rng)


def json_answer(gen_config: dict[str, Any], prompt: str, rng: random.Random) -> str:
    schema = get(gen_config, "responseSchema", "response_schema", "responseJsonSchema", "response_json_schema")
    value = value_for_schema(schema, prompt, rng) if schema else {"answer": " ".join(prompt.split()[:40])}
    return json.dumps(value, indent=2, ensure_ascii=False)


def model_info(model: str) -> ModelInfo:
    return KNOWN_MODELS.get(model.removeprefix("models/"), ModelInfo("generate"))


def thoughts_tokens(model: str, gen_config: dict[str, Any], rng: random.Random) -> int:
    if not model_info(model).thinks:
        return 0
    thinking = get(gen_config, "thinkingConfig", "thinking_config") or {}
    if get(thinking, "thinkingBudget", "thinking_budget") == 0:
        return 0
    return rng.randint(64, 960)


def embedding_values(text: str, dims: int, seed: int) -> list[float]:
    """A unit vector derived from the text: equal texts embed equally, different texts differ."""
    rng = random.Random(f"emb:{seed}:{zlib.crc32(text.encode('utf-8', 'replace'))}:{len(text)}")
    raw = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 9) for v in raw]
