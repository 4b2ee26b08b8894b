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


# --- output and thinking estimate -------------------------------------------------------------------------------
#
# Output is most of the bill, and it is unknown until the job ran, so it is estimated as a range (low-high), per
# request (documented in the README too):
# - `maxOutputTokens` given (generationConfig): the high end is exactly it, because the service caps the visible
#   answer and the thinking together at it (googleapis/python-genai#782, #2062); the low end is the typical
#   output below, capped at it.
# - otherwise: output = input tokens x the model's typical output/input ratio (config `output_ratio`, a number or
#   [low, high]; default DEFAULT_OUTPUT_RATIO), at least OUTPUT_FLOOR tokens a request (a short prompt such as
#   "write an essay about X" gets a long answer), plus thinking tokens for a model that thinks (config
#   `thinking_tokens`, [low, high] a request; default THINKING_TOKENS): Gemini 2.5 Pro and Flash and the
#   Gemini 3 models think by default, up to 8,192 tokens a request with the automatic budget; an explicit
#   `thinkingConfig.thinkingBudget` N bounds it (0 turns it off), also on models that do not think by default.
# - either way, no request gets more than its model's output limit (OUTPUT_LIMITS: answer and thinking together,
#   as `maxOutputTokens` counts them; a larger `maxOutputTokens` is bounded by it too), so one huge prompt does
#   not make a high end of millions of output tokens the model cannot write. A model not in the table has none.
# Every output and thinking token is billed at the model's output price. Embeddings have no output.
OUTPUT_LIMITS: Mapping[str, int] = {  # `outputTokenLimit` of models.get, as Google documents them (2026-12)
    "gemini-2.0-flash": 8_192, "gemini-2.0-flash-lite": 8_192,
    "gemini-2.5-flash": 65_536, "gemini-2.5-flash-lite": 65_536, "gemini-2.5-pro": 65_536,
    "gemini-3-flash": 65_536, "gemini-3-pro": 65_536, "gemini-3.1-pro": 65_536,
    "gemini-flash-latest": 65_536, "gemini-flash-lite-latest": 65_536,
}
DEFAULT_OUTPUT_RATIO = (0.5, 2.0)
OUTPUT_FLOOR = (16, 256)
THINKING_TOKENS = (256, 8192)
THINKS_BY_DEFAULT = ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-3")
_NO_DEFAULT_THINKING = ("gemini-2.5-flash-lite", "gemini-2.5-flash-image")


@dataclass(frozen=True)
class OutputAssumptions:
    """The ratios and allowances of the output estimate: DEFAULT_* overlaid with the config (`from_config`)."""

    ratios: Mapping[str, tuple[float, float]]  # model name or prefix (or "*") -> (low, high) output/input ratio
    thinking: Mapping[str, tuple[int, int]]  # model name or prefix (or "*") -> (low, high) thinking tokens

    @classmethod
    def defaults(cls) -> OutputAssumptions:
        return cls({"*": DEFAULT_OUTPUT_RATIO}, {})

    @classmethod
    def from_config(cls, data: Mapping[str, Any], where: str = "config") -> OutputAssumptions:
        """`output_ratio` and `thinking_tokens` of a loaded config; raises ConfigError naming `where` and the key."""
        ratios: dict[str, tuple[float, float]] = {"*": DEFAULT_OUTPUT_RATIO}
        thinking: dict[str, tuple[int, int]] = {}
        for key, table, kind in (("output_ratio", ratios, float), ("thinking_tokens", thinking, int)):
            raw = data.get(key)
            if raw is None:
                continue
            if not isinstance(raw, dict):
                raw = {"*": raw}
            for model, value in raw.items():
                table[normalise_model(str(model))] = _pair(value, kind, f'{where}: {key}["{model}"]')
        return cls(ratios, thinking)

    def ratio(self, model: str) -> tuple[float, float]:
        return _by_prefix(self.ratios, model) or DEFAULT_OUTPUT_RATIO

    def thinking_for(self, model: str) -> tuple[int, int] | None:
        """The configured (low, high) thinking tokens of a model, the default for one that thinks by default,
        or None for a model that does not think unless asked."""
        configured = _by_prefix(self.thinking, model)
        if configured is not None:
            return configured
        name = normalise_model(model)
        if name.startswith(_NO_DEFAULT_THINKING) or not name.startswith(THINKS_BY_DEFAULT):
            return None
        return THINKING_TOKENS


def _pair(value: Any, kind: type, where: str) -> Any:
    low_high = value if isinstance(value, list) and len(value) == 2 else [value, value]
    try:
        if any(isinstance(v, bool) for v in low_high):
            raise TypeError
        low, high = (kind(v) for v in low_high)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number or [low, high]") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high < low:
        raise ConfigError(f"{where} must be a number or [low, high] with 0 <= low <= high")
    return low, high


def _by_prefix(table: Mapping[str, Any], model: str) -> Any:
    name = normalise_model(model)
    best = max((k for k in table if k != "*" and (name == k or name.startswith(k + "-"))), key=len, default=None)
    return table[best] if best is not None else table.get("*")


@dataclass(frozen=True)
class TokenRange:
    """Estimated tokens of one request or a whole input: input exactly as estimated, output and thinking as a
    low-high range (output and thinking are both billed at the output price)."""

    input: int = 0
    output_low: int = 0
    output_high: int = 0
    thinking_low: int = 0
    thinking_high: int = 0
    requests: int = 0

    def __add__(self, other: TokenRange) -> TokenRange:
        return TokenRange(*(a + b for a, b in zip(_fields(self), _fields(other))))

    @property
    def billed_output_low(self) -> int:
        return self.output_low + self.thinking_low

    @property
    def billed_output_high(self) -> int:
        return self.output_high + self.thinking_high


def _fields(r: TokenRange) -> tuple[int, ...]:
    return (r.input, r.output_low, r.output_high, r.thinking_low, r.thinking_high, r.requests)


def _config_int(config: Any, *names: str) -> int | None:
    if not isinstance(config, dict):
        return None
    for name in names:
        value = config.get(name)
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)) and math.isfinite(value):
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():  # int64 fields may come as strings
            return int(value)
    return None


@dataclass(frozen=True)
class OutputRule:
    """The output side of the estimate for requests sharing one model and generation config: `tokens(input)`
    is cheap, so a caller making a million requests alike (prepare) asks for the rule once."""

    ratio_low: float
    ratio_high: float
    think_low: int
    think_high: int
    cap: int | None  # maxOutputTokens
    embed: bool = False
    limit: int | None = None  # the model's output limit (OUTPUT_LIMITS)

    def tokens(self, input_tokens: int) -> tuple[int, int, int, int]:
        """(output low, output high, thinking low, thinking high) of one request with this many input tokens."""
        if self.embed:
            return 0, 0, 0, 0
        out_low = max(OUTPUT_FLOOR[0], math.ceil(input_tokens * self.ratio_low))
        out_high = max(OUTPUT_FLOOR[1], math.ceil(input_tokens * self.ratio_high))
        think_low, think_high = self.think_low, self.think_high
        cap = self.cap if self.limit is None or self.cap is None else min(self.cap, self.limit)
        if cap is not None:
            out_low = min(out_low, cap)
            think_low = min(think_low, cap - out_low)
            out_high, think_high = cap, 0  # the service caps answer + thinking together at maxOutputTokens
        elif self.limit is not None:  # the same bound, only where the estimate goes past it
            out_low = min(out_low, self.limit)
            think_low = min(think_low, self.limit - out_low)
            out_high = min(out_high, self.limit)
            think_high = min(think_high, self.limit - out_high)
        return out_low, out_high, think_low, think_high


def output_rule(model: str, request: Mapping[str, Any], assumptions: OutputAssumptions | None = None) -> OutputRule:
    """The rule for a request of this model and generation config (see the rules above)."""
    if "content" in request and "contents" not in request:  # an embedding request: no output
        return OutputRule(0.0, 0.0, 0, 0, None, embed=True)
    rules = assumptions or OutputAssumptions.defaults()
    config = request.get("generationConfig", request.get("generation_config"))
    ratio_low, ratio_high = rules.ratio(model)
    thinking_config = config.get("thinkingConfig", config.get("thinking_config")) if isinstance(config, dict) else None
    budget = _config_int(thinking_config, "thinkingBudget", "thinking_budget")
    allowance = rules.thinking_for(model)
    if budget is not None and budget >= 0:
        think_low, think_high = (min(allowance[0], budget) if allowance else 0), budget
    else:  # automatic (-1) or not given
        think_low, think_high = allowance or (0, 0)
    cap = _config_int(config, "maxOutputTokens", "max_output_tokens")
    return OutputRule(ratio_low, ratio_high, think_low, think_high, cap if cap is not None and cap > 0 else None,
                      limit=output_limit(model))


def output_limit(model: str) -> int | None:
    """The most tokens (answer and thinking) one request of `model` can be answered with, or None when unknown."""
    name = normalise_model(model)
    best = max((k for k in OUTPUT_LIMITS if name == k or name.startswith(k + "-")), key=len, default=None)
    return OUTPUT_LIMITS[best] if best is not None else None


def estimate_output_range(
    model: str, input_tokens: int, request: Mapping[str, Any], assumptions: OutputAssumptions | None = None
) -> TokenRange:
    """The token range of one request whose input is `input_tokens` (see the rules above)."""
    return TokenRange(input_tokens, *output_rule(model, request, assumptions).tokens(input_tokens), 1)


def estimate_request_range(
    model: str, request: Mapping[str, Any], assumptions: OutputAssumptions | None = None
) -> TokenRange:
    """Input (estimate_request_tokens) and the output range of one request."""
    return estimate_output_range(model, estimate_request_tokens(request), request, assumptions)


def cost_range(
    model: str, tokens: TokenRange, prices: Mapping[str, ModelPrice] | None = None
) -> tuple[float, float] | None:
    """(low, high) batch cost in USD of a token range, or None when the model is not in the price table."""
    low = estimate_cost(model, tokens.input, tokens.billed_output_low, prices)
    high = estimate_cost(model, tokens.input, tokens.billed_output_high, prices)
    return None if low is None or high is None else (low, high)


def format_cost_range(costs: tuple[float, float] | None) -> str:
    """`$0.12-$0.48`, `$0.12` when both ends print the same, `n/a` for an unpriced model."""
    if costs is None:
        return "n/a"
    low, high = format_cost(costs[0]), format_cost(costs[1])
    return low if low == high else f"{low}-{high}"


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
INTERACTIVE_FACTOR = 2.0
"""Interactive (real-time, `generateContent`) price = batch price x this: the table holds batch prices, which are
50% of the standard ones (see above). A real-time run's usage is priced so (results/ledger.py) and shown as such."""


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


def over_cap_note(high: float, cap: float) -> str:
    """` (its high end: $0.0528)` where the usual digits print an estimate over the cap as the cap itself
    (`~$0.0017-$0.05 is over the cap of $0.05`); else nothing."""
    if format_cost(high) != format_cost(cap):
        return ""
    for digits in (4, 6, 8):
        text = f"${high:,.{digits}f}"
        if text != f"${cap:,.{digits}f}":
            return f" (its high end: {text})"
    return ""


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


def parse_usd(text: str) -> float:
    """`5`, `$5`, `0.25`, `1,000`: US dollars, zero or more, as `--max-cost` and the REST service's `max_cost` take
    them. Raises ValueError with the sentence to show."""
    try:
        value = float(text.strip().lstrip("$").replace(",", ""))
    except ValueError:
        raise ValueError(f"not an amount of US dollars: {text!r}") from None
    if value != value or value == float("inf"):  # nan, inf: no cap at all, which a cap must not mean
        raise ValueError(f"must be a finite amount of US dollars, not {text.strip()!r}")
    if value < 0:
        raise ValueError("must be zero or more US dollars")
    return value
