"""Provides the request line `prepare` writes for each record, and the generation config every line shares.

Why the line is assembled from pre-serialised pieces: at 50 MB/s and up, building a dict and `json.dumps` of it
per record is most of the time; everything but the key and the prompt is the same on every line, so it is
serialised once, and each line is the two strings JSON-encoded (orjson, straight to UTF-8 bytes) between
those pieces. The result is the canonical shape the validator
expects: `{"key": K, "request": {"contents": [{"role": "user", "parts": [{"text": P}]}], ...}}`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from gembatch_tui.core.prepare.schema import ResponseSchema

_SNAKE = re.compile(r"_([a-z0-9])")


class ConfigError(ValueError):
    """A generation config option that cannot be used; the message names the option."""


def camel(name: str) -> str:
    """`max_output_tokens` -> `maxOutputTokens` (the API takes both; one spelling avoids a field given twice)."""
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def generation_config(
    base: str | None = None,
    *,
    temperature: float | None = None,
    max_output_tokens: int | None = None,
    schema: ResponseSchema | None = None,
) -> dict[str, Any]:
    """`--generation-config JSON` (top-level keys camelCased) with the options that override it on top."""
    config: dict[str, Any] = {}
    if base:
        try:
            given = json.loads(base)
        except ValueError as exc:
            raise ConfigError(f"--generation-config: not valid JSON: {exc}") from None
        if not isinstance(given, dict):
            raise ConfigError('--generation-config: must be a JSON object, like {"temperature": 0.2}')
        for key, value in given.items():
            name = camel(str(key))
            if name in config:
                raise ConfigError(f"--generation-config: {name!r} is given twice ({key!r})")
            config[name] = value
    if temperature is not None:
        if not math.isfinite(temperature) or temperature < 0:
            raise ConfigError("--temperature: must be a number, 0 or more")
        config["temperature"] = temperature
    if max_output_tokens is not None:
        if max_output_tokens <= 0:
            raise ConfigError("--max-output-tokens: must be a positive whole number")
        config["maxOutputTokens"] = max_output_tokens
    if schema is not None:
        if "responseSchema" in config or "responseJsonSchema" in config:
            raise ConfigError("--schema: the generation config already has a response schema; give it once")
        mime = config.get("responseMimeType", "application/json")
        if mime != "application/json":
            raise ConfigError(f"--schema: needs responseMimeType application/json, not {mime!r}")
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = schema.schema
    return config


def json_bytes(text: str) -> bytes:
    """A str as a JSON string in UTF-8 bytes (orjson: several times faster than json on long prompts); a lone
    surrogate (from a JSON "\\ud800" escape), which UTF-8 cannot hold, is written as its escape instead."""
    try:
        return orjson.dumps(text)
    except TypeError:
        return json.dumps(text).encode("ascii")


class LineMaker:
    """Makes the batch line of one record (UTF-8 bytes) from its key and prompt (both str)."""

    def __init__(self, system: str | None, config: dict[str, Any]) -> None:
        tail = ""
        if system:
            tail += ',"systemInstruction":{"parts":[{"text":' + json.dumps(system) + "}]}"
        if config:
            tail += ',"generationConfig":' + json.dumps(config, separators=(",", ":"))
        self._head = b'{"key":'
        self._mid = b',"request":{"contents":[{"role":"user","parts":[{"text":'
        self._tail = ("}]}]" + tail + "}}\n").encode("ascii")  # json.dumps escapes to ASCII
        self.config = config
        self.system = system

    def line(self, key: str, prompt: str) -> bytes:
        return b"".join(self.pieces(json_bytes(key), json_bytes(prompt)))

    def pieces(self, key_json: bytes, prompt_json: bytes) -> tuple[bytes, ...]:
        """The line in five pieces, for a caller that joins many lines at once (one copy of each prompt)."""
        return self._head, key_json, self._mid, prompt_json, self._tail

    def request(self, prompt: str) -> dict[str, Any]:
        """The request as an object (for estimates and tests); the line holds exactly this."""
        request: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
        if self.system:
            request["systemInstruction"] = {"parts": [{"text": self.system}]}
        if self.config:
            request["generationConfig"] = self.config
        return request


__all__ = ["ConfigError", "LineMaker", "camel", "generation_config"]
