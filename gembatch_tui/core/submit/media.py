"""Provides `[[FILE:path]]` media references: finding them in requests, checking them, and rewriting parts.

A text part may name a local file with `[[FILE:relative/or/absolute/path]]`, alone or inside other text. In the
copy that is uploaded (never in the user's file), the text is split in order into text parts and `fileData`
parts (`{"fileData": {"fileUri": ..., "mimeType": ...}}`) that point at the file uploaded through the Files API.

- Where markers are looked for: every text part (and bare string) of `contents`, `content` (embeddings),
  `system_instruction` / `systemInstruction`. Other fields (schemas, tool declarations) are left alone.
- The path is everything between `[[FILE:` and the next `]]`, stripped of blanks; `~` is expanded; a relative
  path resolves against the directory of the input file the user gave (also for the parts of a split input).
- Text around a marker that is blank (e.g. the newline between two markers) is dropped: the API rejects empty
  text parts. A bare string where a Content belongs becomes `{"role": "user", "parts": [...]}`.
- MIME type: `mimetypes.guess_type`, else `application/octet-stream`.
- Only files inside the input file's directory (or below it), after resolving symlinks, may be named: a line
  naming `../../etc/passwd`, `/etc/hostname` or `~/.ssh/id_rsa` (or a symlink pointing out) would upload that
  file silently. `RefChecker(allow_outside=True)` (`submit --allow-media-outside`) lifts the rule.

This module only reads file metadata; uploading and caching live in media_upload.py and media_cache.py.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gembatch_tui.core.fsutil import regular_file

MARKER_BYTES = b"[[FILE:"
FILE_DATA_OVERHEAD = 256  # bytes a marker may add to a line of the uploaded copy (URI and mimeType in JSON)
DEFAULT_MIME = "application/octet-stream"
_MARKER_RE = re.compile(r"\[\[FILE:(.*?)\]\]", re.S)
_CONTENT_FIELDS = ("contents", "content", "system_instruction", "systemInstruction")

Lookup = Callable[[str], "tuple[str, str]"]  # reference as written -> (fileUri, mimeType)


def guess_mime(path: str | os.PathLike[str]) -> str:
    mime, _encoding = mimetypes.guess_type(os.fspath(path), strict=False)
    return mime or DEFAULT_MIME


def resolve_ref(ref: str, base_dir: str | os.PathLike[str]) -> Path:
    """The absolute path a reference names (relative to `base_dir`); symlinks are not resolved."""
    path = Path(os.path.expanduser(ref.strip()))
    if not path.is_absolute():
        path = Path(base_dir) / path
    return Path(os.path.normpath(path))


def _texts(value: Any) -> Iterator[str]:
    """Every text string of a contents-like value: Content lists, one Content, bare strings and parts."""
    for content in value if isinstance(value, list) else (value,):
        if isinstance(content, str):
            yield content
            continue
        if not isinstance(content, dict):
            continue
        parts = content.get("parts")
        for part in parts if isinstance(parts, list) else (content,):
            if isinstance(part, str):
                yield part
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]


def find_refs(request: dict[str, Any]) -> list[str]:
    """The references of a request, in order, as written (stripped); "" for an empty `[[FILE:]]`."""
    refs: list[str] = []
    for name in _CONTENT_FIELDS:
        value = request.get(name)
        if value is None:
            continue
        for text in _texts(value):
            if "[[FILE:" in text:
                refs.extend(m.group(1).strip() for m in _MARKER_RE.finditer(text))
    return refs


def split_text(text: str, lookup: Lookup) -> list[dict[str, Any]]:
    """One text into text and fileData parts, in order."""
    parts: list[dict[str, Any]] = []
    pos = 0
    for m in _MARKER_RE.finditer(text):
        before = text[pos : m.start()]
        if before.strip():
            parts.append({"text": before})
        uri, mime = lookup(m.group(1).strip())
        parts.append({"fileData": {"fileUri": uri, "mimeType": mime}})
        pos = m.end()
    after = text[pos:]
    if after.strip() or not parts:
        parts.append({"text": after})
    return parts


def _new_parts(parts: list[Any], lookup: Lookup) -> list[Any]:
    out: list[Any] = []
    for part in parts:
        text = part if isinstance(part, str) else part.get("text") if isinstance(part, dict) else None
        if isinstance(text, str) and "[[FILE:" in text:
            out.extend(split_text(text, lookup))
        else:
            out.append(part)
    return out


def _substitute_content(content: Any, lookup: Lookup, role: str | None) -> Any:
    if isinstance(content, str):
        if "[[FILE:" not in content:
            return content
        new: dict[str, Any] = {"parts": split_text(content, lookup)}
        if role:
            new["role"] = role
        return new
    if isinstance(content, dict) and isinstance(content.get("parts"), list):
        return {**content, "parts": _new_parts(content["parts"], lookup)}
    return content


def substitute(request: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    """A copy of `request` with every marker replaced by a fileData part (`lookup` gives URI and MIME type)."""
    out = dict(request)
    for name in _CONTENT_FIELDS:
        value = out.get(name)
        if value is None:
            continue
        role = "user" if name == "contents" else None
        if isinstance(value, list):
            out[name] = [_substitute_content(item, lookup, role) for item in value]
        else:
            new = _substitute_content(value, lookup, role)
            out[name] = [new] if name == "contents" and isinstance(value, str) and new is not value else new
    return out


def placeholder(ref: str) -> tuple[str, str]:
    """A lookup for estimates: no URI yet, the MIME type guessed from the name (it decides the token allowance)."""
    return "", guess_mime(ref)


def _path_problem(path: Path) -> tuple[str | None, int]:
    """(why `path` cannot be uploaded or None, its size)."""
    wrong, detail, size = regular_file(path)
    if wrong is not None:
        return {"missing": "not found", "inaccessible": f"cannot be accessed ({detail})",
                "directory": "is a directory", "special": "is not a regular file"}[wrong], 0
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return f"is not readable ({exc.strerror or exc})", 0
    return None, size


def outside(path: str | os.PathLike[str], base_dir: str | os.PathLike[str]) -> bool:
    """Whether `path`, symlinks resolved, lies outside `base_dir` (symlinks resolved too)."""
    root = os.path.realpath(base_dir)
    real = os.path.realpath(path)
    try:
        return os.path.commonpath([real, root]) != root
    except ValueError:  # different drives (Windows)
        return True


OUTSIDE_HINT = "move it there, or pass --allow-media-outside to `gembatch-tui submit` to upload it anyway"


class RefChecker:
    """Checks the references of one input file, each distinct file once; counts references, files and bytes.

    Unless `allow_outside`, a reference to a file outside `base_dir` (symlinks resolved) is a problem."""

    def __init__(self, base_dir: str | os.PathLike[str], *, allow_outside: bool = False) -> None:
        self.base_dir = Path(base_dir)
        self.allow_outside = allow_outside
        self.refs = 0
        self.files = 0
        self.bytes = 0
        self._seen: dict[str, str | None] = {}

    def check(self, request: dict[str, Any]) -> list[str]:
        """Problems of this request's references (empty when all are readable files)."""
        problems: list[str] = []
        for ref in find_refs(request):
            self.refs += 1
            if not ref:
                problems.append("empty [[FILE:]] reference")
                continue
            key = str(resolve_ref(ref, self.base_dir))
            if key not in self._seen:
                why, size = _path_problem(Path(key))
                if why is None and not self.allow_outside and outside(key, self.base_dir):
                    why = f"is outside the input file's directory {os.path.realpath(self.base_dir)}; {OUTSIDE_HINT}"
                self._seen[key] = why
                if why is None:
                    self.files += 1
                    self.bytes += size
            why = self._seen[key]
            if why is not None:
                problems.append(f"referenced file {ref!r} {why}")
        return problems
