"""Provides checks of a downloaded results file against its input, and parsing of single result lines.

The service writes one line per request, `{"key": ..., "response": {...}}` or `{"key": ..., "error": {...}}`,
with field order varying from line to line and no promise that every key comes back. So results are matched to
requests by key only, never by position, and a results file is only called complete when every input key is
there exactly once. Both files may be huge, so keys are compared as 64-bit digests (see keyset.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gembatch_tui.core import jsonfast
from gembatch_tui.core.counts import counted
from gembatch_tui.core.jsonpos import json_error_text
from gembatch_tui.core.results.status import blocked_answer
from gembatch_tui.core.submit.keyset import KeySet
from gembatch_tui.core.submit.input_line import Problem, read_key_at
from gembatch_tui.core.submit.input_read import iter_keys
from gembatch_tui.core.submit.validate import MAX_REPORTED

MAX_KEYS_LISTED = 50
USAGE_FIELDS = (
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
    "totalTokenCount",
)


@dataclass
class ResultLine:
    """One result line, flattened for display and accounting."""

    key: str
    ok: bool  # a response (even an empty or blocked one), as opposed to an error status
    text: str = ""  # text parts of candidates[0], thought parts skipped
    finish_reason: str | None = None
    error: str | None = None  # "STATUS: message" for error lines, "blocked: REASON" for blocked prompts,
    # "answer blocked: REASON" for a withheld answer
    error_code: int | None = None
    usage: dict[str, int] = field(default_factory=dict)  # the USAGE_FIELDS, missing ones as 0
    embedding_dims: int | None = None  # length of the embedding vector, for embedding results
    model_version: str | None = None


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse_result_line(obj: dict[str, Any]) -> ResultLine:
    """Flatten one parsed result line. Raises ValueError when it has no key or neither response nor error."""
    if not isinstance(obj, dict):
        raise ValueError("result line is not a JSON object")
    key = obj.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError("result has no 'key'")
    error = obj.get("error")
    if error is not None:
        if isinstance(error, dict):
            status = error.get("status")
            code = error.get("code")
            message = str(error.get("message") or "").strip() or "no message"
            label = status or (f"error {code}" if code is not None else "error")
            code_int = _as_int(code) if code is not None else None
            return ResultLine(key, False, error=f"{label}: {message}", error_code=code_int)
        return ResultLine(key, False, error=str(error))
    response = obj.get("response")
    if not isinstance(response, dict):
        raise ValueError("result has neither 'response' nor 'error'")
    out = ResultLine(key, True)
    usage = _get(response, "usageMetadata", "usage_metadata")
    usage = usage if isinstance(usage, dict) else {}
    out.usage = {name: _as_int(_get(usage, name, _snake(name))) for name in USAGE_FIELDS}
    version = _get(response, "modelVersion", "model_version")
    out.model_version = version if isinstance(version, str) else None
    candidates = response.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        first = candidates[0]
        reason = _get(first, "finishReason", "finish_reason")
        out.finish_reason = str(reason) if reason is not None else None
        content = first.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            out.text = "".join(
                p["text"]
                for p in parts
                if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
            )
    feedback = _get(response, "promptFeedback", "prompt_feedback")
    if isinstance(feedback, dict):
        blocked = _get(feedback, "blockReason", "block_reason")
        if blocked:
            out.error = f"blocked: {blocked}"
    if out.error is None:
        withheld = blocked_answer(response)
        if withheld is not None:
            out.error = f"answer blocked: {withheld}"
    out.embedding_dims = _embedding_dims(response)
    return out


def _embedding_dims(response: dict[str, Any]) -> int | None:
    """`{"embedding": {"values": [...]}}` or `{"embeddings": [{"values": [...]}, ...]}` (first one)."""
    embedding = response.get("embedding")
    if embedding is None:
        embeddings = response.get("embeddings")
        if isinstance(embeddings, list) and embeddings:
            embedding = embeddings[0]
    if isinstance(embedding, dict) and isinstance(embedding.get("values"), list):
        return len(embedding["values"])
    return None


@dataclass
class ResultsCheck:
    """How a results file compares with its input; `ok` means every input key came back exactly once."""

    lines: int = 0  # non-blank result lines
    ok_count: int = 0
    error_count: int = 0
    parse_errors: list[Problem] = field(default_factory=list)  # first MAX_REPORTED; line None = whole file
    missing_keys: list[str] = field(default_factory=list)  # first MAX_KEYS_LISTED, in input order
    missing_count: int = 0
    unexpected_keys: list[str] = field(default_factory=list)  # first MAX_KEYS_LISTED, in results order
    unexpected_count: int = 0
    duplicate_keys: list[str] = field(default_factory=list)  # first MAX_KEYS_LISTED repeats, in results order
    duplicate_count: int = 0  # every repeat of a key after its first line
    parse_error_count: int = 0
    keys_compared: bool = False  # False when no input was given or it could not be read
    input_problem: str | None = None  # why the input could not be compared (unreadable, changed, invalid)

    @property
    def ok(self) -> bool:
        """No parse errors, duplicates, missing or unexpected keys, and an input that could be compared.

        Error lines do not count against ok: they are the service's legitimate answer for a request.
        """
        return (
            self.parse_error_count == 0
            and self.missing_count == 0
            and self.unexpected_count == 0
            and self.duplicate_count == 0
            and self.input_problem is None
        )

    def record_fields(self) -> dict[str, int]:
        """The counts as stored in a record's `results_check` (and a group's `group_results_check`)."""
        return {
            "lines": self.lines,
            "ok": self.ok_count,
            "errors": self.error_count,
            "missing": self.missing_count,
            "unexpected": self.unexpected_count,
            "duplicates": self.duplicate_count,
        }

    def summary(self) -> str:
        errors = f"{self.error_count} error{'s' if self.error_count != 1 else ''}"
        text = (
            f"{self.lines} results: {self.ok_count} ok, {errors}; "
            f"{self.missing_count} missing, {self.unexpected_count} unexpected"
        )
        if self.duplicate_count:
            text += f", {self.duplicate_count} duplicate"
        if self.parse_error_count:
            n = self.parse_error_count
            text += f", {n} problem{'s' if n != 1 else ''}"
        if self.input_problem:
            text += f" (input not compared: {self.input_problem})"
        elif not self.keys_compared:
            text += " (input not compared)"
        return text

    def _problem(self, line: int | None, message: str) -> None:
        self.parse_error_count += 1
        if len(self.parse_errors) < MAX_REPORTED:
            self.parse_errors.append(Problem(line, message))


def _result_key_at(f: BinaryIO, offset: int) -> str:
    f.seek(offset)
    try:
        obj = json.loads(f.readline())
    except ValueError:
        return "?"
    key = obj.get("key") if isinstance(obj, dict) else None
    return key if isinstance(key, str) else "?"


def verify_results(
    results_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str] | None,
    *,
    expected_count: int | None = None,
) -> ResultsCheck:
    """Stream both files and compare keys. Never raises for bad or unreadable files.

    Problems in the results file (and a line count that differs from `expected_count`) go to `parse_errors`.
    An input that is None, unreadable or no longer valid only skips the key comparison (`keys_compared` False,
    `input_problem` says why), so results stay usable when the user has since moved or edited the input.
    """
    inp = None if input_path is None else Path(input_path)
    with KeySet() as wanted, KeySet() as got:
        return _verify(Path(results_path), inp, expected_count, wanted, got)


_KEY_BLOCK = 4096  # keys handed to `wanted.add_many` at a time


def load_input_keys(check: ResultsCheck, input_path: Path, wanted: KeySet) -> bool:
    """Add the input's keys to `wanted` (in blocks, through `add_many`, when it has one: half the time of `add`),
    in the input's order; False, with `check.input_problem` said, when the input cannot be read or is not valid
    (the keys before the bad line are added all the same)."""
    many = getattr(wanted, "add_many", None)
    keys: list[str] = []
    lines: list[int] = []
    offsets: list[int] = []
    try:
        if many is None:
            for line_no, offset, key in iter_keys(input_path):
                wanted.add(key, line_no, offset)
        else:
            for line_no, offset, key in iter_keys(input_path):
                keys.append(key)
                lines.append(line_no)
                offsets.append(offset)
                if len(keys) >= _KEY_BLOCK:
                    block = keys, lines, offsets
                    keys, lines, offsets = [], [], []  # before the call: a failed one is not made again
                    many(*block)
    except ValueError as exc:
        check.input_problem = f"input file is not valid: {exc}"
        return False
    except OSError as exc:
        check.input_problem = f"{input_path}: cannot read input file: {exc.strerror or exc}"
        return False
    finally:
        if keys:  # only ever filled when `many` is set
            block = keys, lines, offsets
            keys = []
            many(*block)  # type: ignore[misc]
    return True


def _verify(
    results_path: Path, input_path: Path | None, expected_count: int | None, wanted: KeySet, got: KeySet
) -> ResultsCheck:
    check = ResultsCheck()
    compare = input_path is not None and load_input_keys(check, input_path, wanted)
    try:
        f = open(results_path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        check._problem(None, f"{results_path}: cannot read results file: {exc.strerror or exc}")
        return check
    with f:
        try:
            _scan_results(f, check, got)
        except OSError as exc:
            check._problem(None, f"{results_path}: cannot read results file: {exc.strerror or exc}")
            return check
    return compare_keys(check, results_path, input_path if compare else None, expected_count, wanted, got)


def compare_keys(
    check: ResultsCheck,
    results_path: Path,
    input_path: Path | None,
    expected_count: int | None,
    wanted: KeySet,
    got: KeySet,
) -> ResultsCheck:
    """After every results line went through `check_line`: the count, duplicates, and (with an input whose keys
    are in `wanted`) unexpected and missing keys. The few keys reported are read again from both files."""
    if expected_count is not None and expected_count != check.lines:
        message = f"results have {counted(check.lines, 'line')}, batch stats say {expected_count:,}"
        check.parse_errors.insert(0, Problem(None, message))
        check.parse_error_count += 1
    try:
        f = open(results_path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        check._problem(None, f"{results_path}: cannot read results file: {exc.strerror or exc}")
        return check
    with f:
        repeats, check.duplicate_count = got.duplicates(MAX_KEYS_LISTED)
        check.duplicate_keys = [_result_key_at(f, e.offset) for e, _first in repeats]
        if input_path is None:
            return check
        extra, check.unexpected_count = got.difference(wanted, MAX_KEYS_LISTED)
        check.unexpected_keys = [_result_key_at(f, e.offset) for e in extra]
    missing, check.missing_count = wanted.difference(got, MAX_KEYS_LISTED)
    check.keys_compared = True
    if missing:
        try:
            with open(input_path, "rb") as inp:
                check.missing_keys = [read_key_at(inp, e.offset, e.line) or "?" for e in missing]
        except OSError as exc:  # the input vanished between the two reads
            check.missing_keys = [f"(line {e.line})" for e in missing]
            check.input_problem = f"{input_path}: cannot read input file: {exc.strerror or exc}"
    return check


def _scan_results(f: BinaryIO, check: ResultsCheck, got: KeySet) -> None:
    offset = 0
    for line_no, raw in enumerate(f, 1):
        line_offset = offset
        offset += len(raw)
        if not raw.isspace():
            check_line(check, got, raw, line_no, line_offset)


def check_line(check: ResultsCheck, got: KeySet, raw: bytes, line_no: int, offset: int) -> Any:
    """Check one non-blank results line (as read, with its newline): count it, record its key; returns the parsed
    line (None when it is not valid JSON), so that one parse also serves the usage count."""
    check.lines += 1
    try:
        obj = jsonfast.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        check._problem(line_no, json_error_text(raw, exc))
        return None
    if not isinstance(obj, dict):
        check._problem(line_no, "expected a JSON object")
        return obj
    key = obj.get("key")
    if not isinstance(key, str) or not key:
        check._problem(line_no, "result has no 'key'")
        return obj
    got.add(key, line_no, offset)
    if obj.get("error") is not None:
        check.error_count += 1
    elif isinstance(obj.get("response"), dict):
        check.ok_count += 1
    else:
        check._problem(line_no, f"result for key {key!r} has neither 'response' nor 'error'")
    return obj
