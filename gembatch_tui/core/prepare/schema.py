"""Provides the response schema of `prepare --schema FILE`: a JSON Schema file checked before any request is made.

Where it goes in the request: `generationConfig.responseJsonSchema` with `responseMimeType: application/json`.
The Gemini API takes a JSON Schema there (google-genai 1.x `GenerateContentConfig.response_json_schema`: "accepts
JSON Schema ... If set, response_schema must be omitted, but response_mime_type is required"); the older
`responseSchema` takes Google's OpenAPI subset (upper-case `OBJECT`, `STRING`), which a JSON Schema file is not.
The SDK lists the keywords the service supports; a schema using others is accepted with a warning (the service
may ignore or refuse them), while a schema that is not one (not JSON, not an object, an unknown `type`, a
`required` name without a property) is an error naming the file and the place in it (`/properties/score/type`),
because it would fail every request of the batch hours later.

The top-level properties of an object schema are the answer's fields: `export` writes them as columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
SUPPORTED = frozenset((
    "$id", "$defs", "$ref", "$anchor", "$schema", "type", "format", "title", "description", "enum", "items",
    "prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf", "properties",
    "additionalProperties", "required", "propertyOrdering", "nullable",
))
MAX_BYTES = 1 << 20


class SchemaError(ValueError):
    """A schema file that cannot be used; the message starts with its path."""


@dataclass
class ResponseSchema:
    """A checked schema, the answer fields it names, and warnings about keywords the service may not support."""

    schema: dict[str, Any]
    fields: list[str]
    warnings: list[str] = field(default_factory=list)


def load_schema(path: str | Path) -> ResponseSchema:
    """Read and check a JSON Schema file; raises SchemaError naming the file, the place and the problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SchemaError(f"{path}: schema file not found") from None
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read the schema file: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise SchemaError(f"{path}: a schema of {len(raw):,} bytes is too big (over 1 MiB)")
    try:
        schema = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SchemaError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(schema, dict) or not schema:
        raise SchemaError(f"{path}: a JSON Schema must be a non-empty object, like "
                          '{"type": "object", "properties": {"answer": {"type": "string"}}}')
    warnings: list[str] = []
    _check(schema, "", path, warnings)
    return ResponseSchema(schema, _fields(schema), warnings)


def _check(node: Any, where: str, path: Path, warnings: list[str]) -> None:
    at = where or "/"
    if not isinstance(node, dict):
        if isinstance(node, bool):
            return  # `true` / `false` are schemas too
        raise SchemaError(f"{path}: {at}: a schema must be an object, not {json.dumps(node)[:40]}")
    kind = node.get("type")
    for name in kind if isinstance(kind, list) else [kind] if kind is not None else []:
        if not isinstance(name, str) or name not in TYPES:
            hint = (f" (JSON Schema types are lower case: {name.lower()!r}; upper-case types are Google's "
                    "OpenAPI subset, for responseSchema)") if isinstance(name, str) and name.lower() in TYPES else ""
            raise SchemaError(f"{path}: {where}/type: {json.dumps(name)} is not a JSON Schema type "
                              f"({', '.join(TYPES)}){hint}")
    props = node.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            raise SchemaError(f"{path}: {where}/properties: must be an object of property schemas")
        for name, sub in props.items():
            _check(sub, f"{where}/properties/{name}", path, warnings)
    required = node.get("required")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise SchemaError(f"{path}: {where}/required: must be a list of property names")
        missing = [r for r in required if not isinstance(props, dict) or r not in props]
        if missing:
            raise SchemaError(f"{path}: {where}/required: {missing[0]!r} is required but not under properties")
    enum = node.get("enum")
    if enum is not None and (not isinstance(enum, list) or not enum):
        raise SchemaError(f"{path}: {where}/enum: must be a non-empty list")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            _check(node[key], f"{where}/{key}", path, warnings)
    for key in ("anyOf", "oneOf", "prefixItems"):
        if key in node:
            if not isinstance(node[key], list) or not node[key]:
                raise SchemaError(f"{path}: {where}/{key}: must be a non-empty list of schemas")
            for i, sub in enumerate(node[key]):
                _check(sub, f"{where}/{key}/{i}", path, warnings)
    defs = node.get("$defs")
    if isinstance(defs, dict):
        for name, sub in defs.items():
            _check(sub, f"{where}/$defs/{name}", path, warnings)
    for key in node:
        if key not in SUPPORTED:
            warnings.append(f"{path}: warning: {at}: keyword {key!r} is not among those the Gemini API supports "
                            "in responseJsonSchema; it may be ignored or refused")


def _fields(schema: dict[str, Any]) -> list[str]:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return []
    order = schema.get("propertyOrdering")
    names = [n for n in order if n in props] if isinstance(order, list) else []
    return names + [n for n in props if n not in names]


__all__ = ["ResponseSchema", "SchemaError", "load_schema"]
