"""Provides one row of a results join as read back from disk: JoinedRow, its table summary, and the text helpers.

Why it is its own module: the index keeps only offsets; a row becomes objects here, from its two raw lines,
only when it is shown, exported or searched. `RowFiles` keeps both files open for a batch of such reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gembatch_tui.core.jsonpos import json_error_text
from gembatch_tui.core.results.check import ResultLine, parse_result_line
from gembatch_tui.core.submit.input_line import parse_line as _parse_input_line

PREVIEW_CHARS = 200
DETAIL_CHARS = 200_000
"""A request or answer longer than this is cut in the detail view (a base64 image can be many MB)."""


@dataclass
class RowSummary:
    """What the table shows for one row."""

    row: int
    key: str
    status: str
    finish_reason: str = ""
    tokens: int | None = None  # total tokens; None when the row has no usage to show
    usage_missing: bool = False  # an answer whose usage is missing or all zero
    preview: str = ""  # first line of the answer (compact JSON for JSON answers) or the error


@dataclass
class JoinedRow:
    """One row in full: the request and the whole result line."""

    row: int
    key: str
    status: str
    request: dict[str, Any] | None = None
    result: ResultLine | None = None
    raw: dict[str, Any] | None = None  # the result line as parsed JSON
    input_line: int | None = None
    result_line: int | None = None
    problem: str | None = None  # why an invalid line is invalid

    def usage_missing(self) -> bool:
        """An answer whose usageMetadata is missing or all zero: its tokens are unknown, not free."""
        if self.result is None or not self.result.ok:
            return False
        response = (self.raw or {}).get("response")
        usage = None
        if isinstance(response, dict):
            usage = response.get("usageMetadata", response.get("usage_metadata"))
        return not isinstance(usage, dict) or not any(self.result.usage.values())

    def total_tokens(self) -> int | None:
        if self.result is None or not self.result.ok or self.usage_missing():
            return None
        u = self.result.usage
        return u.get("totalTokenCount") or (
            u.get("promptTokenCount", 0) + u.get("candidatesTokenCount", 0) + u.get("thoughtsTokenCount", 0)
        )

    def error_text(self) -> str:
        if self.problem and self.result is None:
            return self.problem
        if self.status == "missing":
            return "no result for this key in the results file"
        if self.result is not None and self.result.error:
            return self.result.error
        return ""

    def answer_text(self) -> str:
        """The answer as text: text parts joined, a JSON answer pretty-printed, an embedding described."""
        if self.result is None:
            return ""
        if self.result.embedding_dims is not None and not self.result.text:
            return f"(embedding with {self.result.embedding_dims} dimensions)"
        return pretty_answer(self.result.text)

    def summary(self) -> RowSummary:
        out = RowSummary(self.row, self.key, self.status)
        if self.result is not None:
            out.finish_reason = self.result.finish_reason or ""
            out.tokens = self.total_tokens()
            out.usage_missing = self.usage_missing()
        error = self.error_text()
        out.preview = error if error and self.status != "ok" else preview_line(self.result.text if self.result else "")
        if not out.preview and self.result is not None and self.result.embedding_dims is not None:
            out.preview = f"(embedding, {self.result.embedding_dims} dims)"
        return out

    def search_text(self) -> str:
        parts = [self.key, self.error_text()]
        if self.request is not None:
            parts.extend(request_texts(self.request))
        if self.result is not None:
            parts.append(self.result.text)
        return "\n".join(parts)

    def request_json(self) -> str:
        if self.request is None:
            return ""
        return _cut(json.dumps(self.request, ensure_ascii=False, indent=2))

    def error_json(self) -> str:
        """The whole error object of an error line, pretty-printed."""
        error = (self.raw or {}).get("error")
        return _cut(json.dumps(error, ensure_ascii=False, indent=2)) if error is not None else ""


def join_row(row: int, status: str, input_line: int, result_line: int, in_raw: bytes | None,
             res_raw: bytes | None) -> JoinedRow:
    """Row `row` in full from its raw input line and raw result line (None where it has none)."""
    out = JoinedRow(row, "", status)
    if in_raw is not None:
        out.input_line = input_line
        key, request, _canonical, error = _parse_input_line(in_raw, out.input_line)
        out.key = key or ""
        out.request = request
        if error:
            out.problem = f"input line {out.input_line}: {error}"
    if res_raw is not None:
        out.result_line = result_line
        try:
            obj = json.loads(res_raw)
            out.result = parse_result_line(obj)
            out.raw = obj
            out.key = out.key or out.result.key
        except (ValueError, RecursionError) as exc:
            parsing = isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError, RecursionError))
            why = json_error_text(res_raw, exc) if parsing else str(exc)  # else: parse_result_line's own words
            out.problem = f"results line {out.result_line}: {why}"
    if not out.key:
        out.key = f"(results line {out.result_line})" if out.result_line else "?"
    return out


class RowFiles:
    """Both files open for one batch of reads; the input side is None when there is no input."""

    def __init__(self, input_path: Path | None, results_path: Path) -> None:
        self._paths = (input_path, results_path)
        self._inp: BinaryIO | None = None
        self._res: BinaryIO | None = None

    def __enter__(self) -> tuple[BinaryIO | None, BinaryIO]:
        input_path, results_path = self._paths
        self._res = open(results_path, "rb")  # noqa: SIM115 - closed in __exit__
        if input_path is not None:
            try:
                self._inp = open(input_path, "rb")  # noqa: SIM115 - closed in __exit__
            except OSError:
                self._inp = None  # the input vanished since the index was built: show results only
        return self._inp, self._res

    def __exit__(self, *exc: object) -> None:
        for f in (self._inp, self._res):
            if f is not None:
                f.close()


def _cut(text: str, limit: int = DETAIL_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters not shown)"


def pretty_answer(text: str) -> str:
    """A JSON answer (structured output) pretty-printed; any other text as it is. Cut at DETAIL_CHARS."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            return _cut(json.dumps(json.loads(stripped), ensure_ascii=False, indent=2))
        except (ValueError, RecursionError):
            pass
    return _cut(text)


def preview_line(text: str) -> str:
    """The first non-blank line of an answer; a JSON answer as compact JSON. At most PREVIEW_CHARS."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            return json.dumps(json.loads(stripped), ensure_ascii=False, separators=(", ", ": "))[:PREVIEW_CHARS]
        except (ValueError, RecursionError):
            pass
    for line in stripped.splitlines():
        if line.strip():
            return line.strip()[:PREVIEW_CHARS]
    return ""


def request_texts(request: dict[str, Any]) -> list[str]:
    """Every `text` string in a request (contents, system instruction), for search."""
    out: list[str] = []
    stack: list[Any] = [request]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, (dict, list)):
                    stack.append(item)
                elif isinstance(item, str) and key in ("text", "contents", "content"):
                    out.append(item)
        elif isinstance(value, list):
            stack.extend(item for item in value if isinstance(item, (dict, list)))
            out.extend(item for item in value if isinstance(item, str))
    return out


__all__ = [
    "DETAIL_CHARS",
    "PREVIEW_CHARS",
    "JoinedRow",
    "RowFiles",
    "RowSummary",
    "join_row",
    "pretty_answer",
    "preview_line",
    "request_texts",
]
