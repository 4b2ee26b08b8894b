"""Provides the prompt template of `prepare`: `{field}` placeholders filled from each record, `{{`/`}}` literal braces.

Why not str.format: column names are the user's (`{Article Title}`, `{price.eur}`), and format's attribute,
index and conversion syntax (`{a.b}`, `{x!r}`) would read them as code; a stray brace must be an error that
says where it is, not a traceback. A template is parsed once into literal and field pieces and rendered with a
join per record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MARKER = "[[FILE:"


class TemplateError(ValueError):
    """A template that cannot be used; the message says where (column) and what."""


@dataclass(frozen=True)
class Template:
    """A parsed template: `pieces` alternate literal text (str) and field names (in a 1-tuple)."""

    text: str
    pieces: tuple[str | tuple[str], ...]
    media_fields: frozenset[str]  # fields used inside a `[[FILE:...]]` marker (their values are file paths)

    @property
    def fields(self) -> list[str]:
        """The field names, in first-use order, each once."""
        return list(dict.fromkeys(p[0] for p in self.pieces if isinstance(p, tuple)))

    @property
    def has_media(self) -> bool:
        return MARKER in "".join(p for p in self.pieces if isinstance(p, str))

    def render(self, value_of: Callable[[str], str]) -> str:
        """The prompt of one record; `value_of(field)` raises KeyError for a field the record lacks."""
        return "".join(p if isinstance(p, str) else value_of(p[0]) for p in self.pieces)


def parse(text: str, where: str = "template") -> Template:
    """Parse a template; raises TemplateError (`template: column 12: unmatched '{'`) for a bad one."""
    if not text.strip():
        raise TemplateError(f"{where}: the template is empty")
    pieces: list[str | tuple[str]] = []
    literal: list[str] = []
    media_fields: set[str] = set()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                literal.append("{")
                i += 2
                continue
            end = text.find("}", i + 1)
            inner = text[i + 1 : end] if end >= 0 else ""
            if end < 0 or "{" in inner:
                raise TemplateError(f"{where}: column {i + 1}: unmatched '{{' (write '{{{{' for a literal brace)")
            name = inner.strip()
            if not name:
                raise TemplateError(f"{where}: column {i + 1}: empty placeholder '{{}}'; name a field, e.g. {{title}}")
            before = "".join(literal)
            if before:
                pieces.append(before)
            literal = []
            if _inside_marker(pieces, text, end):
                media_fields.add(name)
            pieces.append((name,))
            i = end + 1
        elif ch == "}":
            if text.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            raise TemplateError(f"{where}: column {i + 1}: unmatched '}}' (write '}}}}' for a literal brace)")
        else:
            literal.append(ch)
            i += 1
    if literal:
        pieces.append("".join(literal))
    if not any(isinstance(p, tuple) for p in pieces):
        raise TemplateError(f"{where}: the template uses no field; every request would be the same "
                            "(name a column with {column})")
    return Template(text, tuple(pieces), frozenset(media_fields))


def _inside_marker(pieces: list[str | tuple[str]], text: str, end: int) -> bool:
    """Whether the placeholder ending at `end` sits inside an open `[[FILE:` marker of the template."""
    before = "".join(p for p in pieces if isinstance(p, str))
    opened = before.rfind(MARKER)
    return opened >= 0 and "]]" not in before[opened:] and "]]" in text[end + 1 :]


def cell_text(value: Any) -> str:
    """A record value as prompt text: strings as they are, null as "", numbers and booleans as JSON, objects
    and lists as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


__all__ = ["Template", "TemplateError", "cell_text", "parse"]
