"""Provides a rough token estimate for batch requests and a batch price table, so the submit screen can show cost.

Nothing here is exact: the real token count is only known after the job runs (`usageMetadata`), and prices
change. The estimate exists so a user sees "about $3" rather than "about $300" before pressing submit; the price
table can be overridden from the config file when Google changes prices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# --- token estimate ---------------------------------------------------------------------------------------------
#
# Heuristic (documented in the README too): about 4 characters of text per token, the rule of thumb Google gives
# for Gemini models, counted over every `text` part in `contents` / `content` and in `system_instruction` /
# `systemInstruction`, plus a flat allowance per media part (inline_data / file_data), chosen by MIME type:
CHARS_PER_TOKEN = 4
MEDIA_TOKENS: dict[str, int] = {
    "image": 258,  # one image up to 384x384 px (larger images are tiled in 258-token tiles)
    "application/pdf": 2580,  # ten pages at 258 tokens a page
    "audio": 1920,  # one minute at 32 tokens a second
    "video": 15780,  # one minute at 263 tokens a second
}
DEFAULT_MEDIA_TOKENS = 258  # any other or unknown MIME type
# Function calls, tool declarations and response schemas are not counted; every request counts at least 1 token.


_CONTENT_FIELDS = ("contents", "content", "system_instruction", "systemInstruction")
_MEDIA_FIELDS = ("inline_data", "inlineData", "file_data", "fileData")


def estimate_request_tokens(request: Mapping[str, Any]) -> int:
    """Estimated input tokens of one GenerateContentRequest or EmbedContentRequest (see the heuristic above)."""
    chars = media = 0
    for field in _CONTENT_FIELDS:
        value = request.get(field)
        if value is None:
            continue
        # A list of Content, one Content, or a bare string; a Content holds `parts`, a list of Part or strings.
        for content in value if isinstance(value, list) else (value,):
            if isinstance(content, str):
                chars += len(content)
                continue
            if not isinstance(content, dict):
                continue
            parts = content.get("parts")
            for part in parts if isinstance(parts, list) else (content,):  # a bare Part where a Content was expected
                if isinstance(part, str):
                    chars += len(part)
                elif isinstance(part, dict):
                    text = part.get("text")
                    if isinstance(text, str):
                        chars += len(text)
                    elif len(part) and not text:
                        media += _part_media_tokens(part)
    return max(1, -(-chars // CHARS_PER_TOKEN) + media)


def _part_media_tokens(part: dict[str, Any]) -> int:
    tokens = 0
    for field in _MEDIA_FIELDS:
        blob = part.get(field)
        if isinstance(blob, dict):
            tokens += media_tokens(str(blob.get("mime_type") or blob.get("mimeType") or ""))
    return tokens


def media_tokens(mime_type: str) -> int:
    """The flat token allowance for one media part of this MIME type."""
    mime = mime_type.lower()
    if mime in MEDIA_TOKENS:
        return MEDIA_TOKENS[mime]
    return MEDIA_TOKENS.get(mime.split("/", 1)[0], DEFAULT_MEDIA_TOKENS)


# --- prices -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPrice:
    """Batch price in USD per 1M tokens (input = prompt tokens, output = candidate + thinking tokens)."""

    input: float
    output: float


class ConfigError(Exception):
    """A config file that cannot be used; the message starts with the file's path and needs no traceback."""


# Batch prices = 50% of the standard paid-tier price for prompts up to 200k tokens, text/image/video input.
# Standard prices are those on https://ai.google.dev/gemini-api/docs/pricing, as quoted by secondary sources found
# with the docs/pages search on 2026-11-23 (the official page itself was not in the index):
#   2.5 Pro $1.25/$10, 2.5 Flash $0.30/$2.50, 2.5 Flash-Lite $0.10/$0.40, 2.0 Flash $0.10/$0.40,
#   2.0 Flash-Lite $0.075/$0.30 (simonw/llm-prices data/google.json; aifreeapi.com "Gemini API token pricing",
#   March 2026); 3 Pro Preview $2/$12 and 3 Flash Preview $0.50/$3 (aifreeapi.com Gemini 3 guide, 2026-02-04;
#   factquire.com citing the pricing page, 2026-07-04); gemini-embedding-001 $0.15 input, batch $0.075
#   (embeddingcost.com and tokenmix.ai, April 2026). Embeddings have no output tokens.
# Note: Gemini 3 Pro Preview was reported shut down on 2026-03-09 (succeeded by 3.1 Pro Preview at the same price).
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gemini-2.5-pro": ModelPrice(input=0.625, output=5.00),
    "gemini-2.5-flash": ModelPrice(input=0.15, output=1.25),
    "gemini-2.5-flash-lite": ModelPrice(input=0.05, output=0.20),
    "gemini-2.0-flash": ModelPrice(input=0.05, output=0.20),
    "gemini-2.0-flash-lite": ModelPrice(input=0.0375, output=0.15),
    "gemini-3-pro-preview": ModelPrice(input=1.00, output=6.00),
    "gemini-3-flash-preview": ModelPrice(input=0.25, output=1.50),
    "gemini-embedding-001": ModelPrice(input=0.075, output=0.0),
}


def normalise_model(model: str) -> str:
    """`models/gemini-2.5-flash` -> `gemini-2.5-flash`."""
    name = model.strip()
    return name[len("models/") :] if name.startswith("models/") else name


def lookup_price(model: str, prices: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of a model, matching versioned names by the longest known prefix that ends at a `-`.

    `gemini-2.5-flash-preview-09-2025` -> gemini-2.5-flash; `gemini-2.5-flash-lite-001` -> gemini-2.5-flash-lite.
    """
    table = DEFAULT_PRICES if prices is None else prices
    name = normalise_model(model)
    if name in table:
        return table[name]
    best: str | None = None
    for known in table:
        if name.startswith(known) and name[len(known)] in "-@" and (best is None or len(known) > len(best)):
            best = known
    return table[best] if best is not None else None


def estimate_cost(
    model: str, input_tokens: int, output_tokens: int = 0, prices: Mapping[str, ModelPrice] | None = None
) -> float | None:
    """Batch cost in USD, or None when the model is not in the table."""
    price = lookup_price(model, prices)
    if price is None:
        return None
    return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


def format_cost(usd: float | None) -> str:
    """`$0.0012`, `$0.12`, `$1,234.56`, `<$0.0001`, or `n/a` for an unknown cost."""
    if usd is None:
        return "n/a"
    if usd == 0:
        return "$0.00"
    if usd < 0.0001:
        return "<$0.0001"
    if usd < 0.01:
        return f"${usd:.4f}"
    return f"${usd:,.2f}"


def load_price_table(path: Path | None) -> dict[str, ModelPrice]:
    """DEFAULT_PRICES overlaid with the `prices` object of a JSON config file; a missing file means defaults.

    Format: `{"prices": {"gemini-2.5-flash": {"input": 0.15, "output": 1.25}}}`, batch USD per 1M tokens.
    An entry for a known model may give only one of the two numbers. Raises ConfigError for a bad file.
    """
    table = dict(DEFAULT_PRICES)
    if path is None:
        return table
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return table
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte offset {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    prices = data.get("prices")
    if prices is None:
        return table
    if not isinstance(prices, dict):
        raise ConfigError(f'{path}: "prices" must be an object like {{"MODEL": {{"input": 0.15, "output": 1.25}}}}')
    for raw_name, entry in prices.items():
        name = normalise_model(str(raw_name))
        if not name:
            raise ConfigError(f'{path}: "prices" has an empty model name')
        if not isinstance(entry, dict):
            raise ConfigError(f'{path}: prices["{raw_name}"] must be an object with "input" and "output"')
        unknown = set(entry) - {"input", "output"}
        if unknown:
            raise ConfigError(f'{path}: prices["{raw_name}"] has unknown field(s): {", ".join(sorted(unknown))}')
        base = table.get(name)
        values: dict[str, float] = {}
        for field in ("input", "output"):
            if field in entry:
                value = entry[field]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise ConfigError(f'{path}: prices["{raw_name}"].{field} must be a number, not {value!r}')
                if value < 0:
                    raise ConfigError(f'{path}: prices["{raw_name}"].{field} must not be negative')
                values[field] = float(value)
            elif base is not None:
                values[field] = getattr(base, field)
            else:
                raise ConfigError(f'{path}: prices["{raw_name}"] needs "{field}" (USD per 1M tokens)')
        table[name] = ModelPrice(input=values["input"], output=values["output"])
    return table
