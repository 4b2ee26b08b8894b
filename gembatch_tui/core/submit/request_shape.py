"""Provides the shape check of one batch request: the JSON types the service's request parser accepts.

Why: a line like `{"contents": [{"text": "hi"}]}` or `{"contents": [{"parts": "hi"}]}` uploads fine and is
rejected by the service, line by line, hours later. What is checked (wire reference §4.1 and §5: a
GenerateContentRequest or an EmbedContentRequest, camelCase or snake_case):

- `contents`: a non-empty list of Content objects; each Content has a non-empty `parts` list and, if present, a
  `role` of "user" or "model"; each part is an object with exactly one kind of data (`text`, which must be a
  string, `inlineData`, `fileData`, `functionCall`, `functionResponse`, `executableCode`,
  `codeExecutionResult`; the object-valued ones must be objects).
- `systemInstruction`: a Content (any role). `generationConfig`, `toolConfig`, `labels`: objects. `tools`,
  `safetySettings`: lists of objects. `cachedContent`, `model`: strings.
- embeddings: `content` a Content; `taskType`, `title` strings; `outputDimensionality` a positive integer.

The string shorthand the SDK accepts (`"contents": "hi"`, a string in the contents list or in `parts`, a string
`systemInstruction` or embedding `content`) is not an error: it is expanded to the object form, as media.py
already does for strings holding `[[FILE:...]]`, and the uploaded copy carries the expanded form, so the service
never sees a string where an object belongs.

Field names inside contents and parts that the tables below do not know are warnings, like request_fields.py's:
the API grows new fields. A part with none of the known data fields is an error only when it has no other field
either (it would be empty); otherwise its unknown field is a warning, in case it is a new kind of data.

Cost: the common line (one content, one text part) takes a few dict lookups; checked only when present.
"""

from __future__ import annotations

import difflib
from typing import Any

GENERATE = "generate"
EMBED = "embed"


def _both(*camel: str) -> tuple[str, ...]:
    """Each camelCase name and its snake_case twin."""
    out: list[str] = []
    for name in camel:
        out.append(name)
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
        if snake != name:
            out.append(snake)
    return tuple(out)


PART_DATA = _both("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
                  "codeExecutionResult")
_OBJECT_DATA = frozenset(PART_DATA) - {"text"}
PART_FIELDS = frozenset(PART_DATA + _both("thought", "thoughtSignature", "videoMetadata", "partMetadata",
                                          "mediaResolution"))
CONTENT_FIELDS = frozenset(("role", "parts"))
ROLES = ("user", "model")
_ROLE_HINTS = {"assistant": "model", "bot": "model", "ai": "model", "human": "user"}


def _table(*rows: tuple[tuple[str, ...], type, str]) -> dict[str, tuple[type, str]]:
    return {name: (kind, label) for names, kind, label in rows for name in names}


# request field -> (expected JSON type, its name), checked when present
_GENERATE_TYPES = _table(
    (_both("generationConfig"), dict, "an object"),
    (_both("toolConfig"), dict, "an object"),
    (("labels",), dict, "an object"),
    (("tools",), list, "a list of objects"),
    (_both("safetySettings"), list, "a list of objects"),
    (_both("cachedContent"), str, "a string"),
    (("model",), str, "a string"),
)
_EMBED_TYPES = _table(
    (_both("taskType"), str, "a string"),
    (("title",), str, "a string"),
    (("model",), str, "a string"),
)
_SYSTEM = ("systemInstruction", "system_instruction")


def type_name(value: Any, *, json_words: bool = False) -> str:
    """`an object`, `a list`, `an empty string`...; with `json_words`, as JSON names them (`an array`, and no
    word for an empty string): what a line that is not an object is said to be (input_line.py)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array" if json_words else "a list"
    if isinstance(value, str):
        return "a string" if value or json_words else "an empty string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


class _Line:
    """The outcome of one request's check: the first error, the expanded request, the warnings."""

    __slots__ = ("warnings",)

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def unknown(self, obj: dict[str, Any], known: frozenset[str], where: str) -> None:
        for name in obj:
            if name not in known:
                self.warnings.append(_unknown_text(name, known, where))


def _unknown_text(name: str, known: frozenset[str], where: str) -> str:
    match = [k for k in known if k.lower() == name.lower()] or difflib.get_close_matches(name, known, 1, 0.75)
    hint = f" (did you mean {match[0]!r}?)" if match else ""
    return f"unknown field {name!r} in {where}{hint}: the service rejects requests with unknown fields"


class ShapeError(Exception):
    """The first thing wrong with a request's shape; its message is the FILE:LINE message."""


def _text_content(text: str, where: str, role: str | None) -> dict[str, Any]:
    if not text:
        raise ShapeError(f"{where} must not be an empty string")
    content: dict[str, Any] = {"parts": [{"text": text}]}
    if role:
        content = {"role": role, **content}
    return content


def _part(part: Any, where: str, line: _Line) -> Any:
    """The part, checked; a bare string becomes a text part."""
    if isinstance(part, str):
        if not part:
            raise ShapeError(f"{where} must not be an empty string")
        return {"text": part}
    if not isinstance(part, dict):
        raise ShapeError(f"{where} must be an object like {{\"text\": ...}}, not {type_name(part)}")
    if len(part) == 1 and type(part.get("text")) is str:  # the common case
        return part
    data = [name for name in part if name in PART_DATA]
    if len(data) > 1:
        raise ShapeError(f"{where} has both {data[0]!r} and {data[1]!r}: a part holds one kind of data; "
                         "put each in its own part")
    if data:
        name = data[0]
        value = part[name]
        if name == "text" and not isinstance(value, str):
            raise ShapeError(f"{where}.text must be a string, not {type_name(value)}")
        if name in _OBJECT_DATA and not isinstance(value, dict):
            raise ShapeError(f"{where}.{name} must be an object, not {type_name(value)}")
        line.unknown(part, PART_FIELDS, "a part")
        return part
    unknown = [name for name in part if name not in PART_FIELDS]
    if not unknown:
        raise ShapeError(f"{where} has no data: a part needs one of text, inlineData, fileData, functionCall, "
                         "functionResponse, executableCode, codeExecutionResult")
    line.unknown(part, PART_FIELDS, "a part")  # perhaps a kind of data newer than this table
    return part


def _content(content: Any, where: str, line: _Line, *, role: str | None, any_role: bool = False) -> Any:
    """The Content, checked; a bare string becomes `{"role": role, "parts": [{"text": ...}]}`."""
    if isinstance(content, str):
        return _text_content(content, where, role)
    if not isinstance(content, dict):
        raise ShapeError(f"{where} must be an object like {{\"role\": \"user\", \"parts\": [...]}}, "
                         f"not {type_name(content)}")
    parts = content.get("parts")
    if parts is None:
        stray = [name for name in content if name in PART_FIELDS]
        if stray:
            raise ShapeError(f"{where} has {stray[0]!r} but no 'parts': a content holds its parts in a list, "
                             f"{{\"parts\": [{{\"{stray[0]}\": ...}}]}}")
        raise ShapeError(f"{where} has no 'parts' list")
    if not isinstance(parts, list):
        raise ShapeError(f"{where}.parts must be a list of parts, not {type_name(parts)}")
    if not parts:
        raise ShapeError(f"{where}.parts must not be empty")
    value = content.get("role")
    if value is not None:
        if not isinstance(value, str):
            raise ShapeError(f"{where}.role must be a string ('user' or 'model'), not {type_name(value)}")
        if not any_role and value not in ROLES:
            low = value.lower()
            hint = low if low in ROLES else _ROLE_HINTS.get(low)
            did = f"; did you mean {hint!r}?" if hint else ""
            did += "; system text goes in 'systemInstruction'" if low == "system" else ""
            raise ShapeError(f"{where}.role {value!r} is not one the service accepts ('user' or 'model'){did}")
    new_parts = None
    for j, part in enumerate(parts):
        checked = _part(part, f"{where}.parts[{j}]", line)
        if checked is not part:
            if new_parts is None:
                new_parts = list(parts)
            new_parts[j] = checked
    if len(content) > 2 or (len(content) == 2 and "role" not in content):
        line.unknown(content, CONTENT_FIELDS, "a content")
    return content if new_parts is None else {**content, "parts": new_parts}


def _types(request: dict[str, Any], table: dict[str, tuple[type, str]]) -> None:
    for name, value in request.items():
        spec = table.get(name)
        if spec is None or value is None:
            continue
        expected, label = spec
        if not isinstance(value, expected):
            raise ShapeError(f"{name!r} must be {label}, not {type_name(value)}")
        if expected is list:
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    raise ShapeError(f"{name!r}[{i}] must be an object, not {type_name(item)}")


def _system(request: dict[str, Any], line: _Line) -> dict[str, Any] | None:
    """The request with a string systemInstruction expanded (None when nothing changed)."""
    out = None
    for name in _SYSTEM:
        value = request.get(name)
        if value is None:
            continue
        checked = _content(value, repr(name), line, role=None, any_role=True)
        if checked is not value:
            out = dict(request if out is None else out)
            out[name] = checked
    return out


def _plain_contents(contents: Any) -> bool:
    """The common case, decided in a few lookups: a list of {"parts": [{"text": str}, ...]} (role user/model)."""
    if type(contents) is not list or not contents:
        return False
    for content in contents:
        if type(content) is not dict:
            return False
        parts = content.get("parts")
        if type(parts) is not list or not parts:
            return False
        if len(content) != 1 and (len(content) != 2 or content.get("role") not in ROLES):
            return False
        for part in parts:
            if type(part) is not dict or len(part) != 1 or type(part.get("text")) is not str:
                return False
    return True


def _generate(request: dict[str, Any], line: _Line) -> dict[str, Any] | None:
    contents = request["contents"]
    if _plain_contents(contents):
        if len(request) > 1:
            _types(request, _GENERATE_TYPES)
            if "systemInstruction" in request or "system_instruction" in request:
                return _system(request, line)
        return None
    new: list[Any] | None = None
    if isinstance(contents, str):
        if not contents:
            raise ShapeError("'contents' must be a non-empty list or a string, not empty")
        new = [_text_content(contents, "'contents'", "user")]
    elif not isinstance(contents, list) or not contents:
        raise ShapeError(f"'contents' must be a non-empty list or a string, not "
                         f"{'empty' if contents == [] else type_name(contents)}")
    else:
        for i, item in enumerate(contents):
            checked = _content(item, f"'contents'[{i}]", line, role="user")
            if checked is not item:
                if new is None:
                    new = list(contents)
                new[i] = checked
    _types(request, _GENERATE_TYPES)
    out = None if new is None else {**request, "contents": new}
    system = _system(request if out is None else out, line)
    return system if system is not None else out


def _embed(request: dict[str, Any], line: _Line) -> dict[str, Any] | None:
    content = request["content"]
    if not isinstance(content, (dict, str)) or content == "":
        raise ShapeError(f"'content' must be an object or a non-empty string, not "
                         f"{'empty' if content == '' else type_name(content)}")
    checked = _content(content, "'content'", line, role=None, any_role=True)
    _types(request, _EMBED_TYPES)
    for name in ("outputDimensionality", "output_dimensionality"):
        dims = request.get(name)
        if dims is not None and (type(dims) is not int or dims <= 0):
            raise ShapeError(f"{name!r} must be a positive whole number, not {dims!r}")
    return None if checked is content else {**request, "content": checked}


def check(request: dict[str, Any], kind: str) -> tuple[str | None, dict[str, Any] | None, list[str]]:
    """(the first error or None, the request with string shorthands expanded or None if none, warnings) for a
    request that holds `contents` (kind generate) or `content` (kind embed)."""
    if kind != EMBED and len(request) == 1 and _plain_contents(request["contents"]):
        return None, None, []  # the most common line of all, without the bookkeeping below
    line = _Line()
    try:
        expanded = _embed(request, line) if kind == EMBED else _generate(request, line)
    except ShapeError as exc:
        return str(exc), None, line.warnings
    return None, expanded, line.warnings


__all__ = ["CONTENT_FIELDS", "PART_DATA", "PART_FIELDS", "ROLES", "check", "type_name"]
