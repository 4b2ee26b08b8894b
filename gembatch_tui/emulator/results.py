"""Provides per-request validation and result generation, for JSONL files (streamed) and inline requests.

Input files are read line by line and results are written line by line, so a job over a multi-gigabyte file
never holds more than one request in memory. Field order varies from line to line, deterministically,
because the real service's output does too and clients must not depend on it.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from gembatch_tui.core.submit.request_fields import GENERATE_REQUEST, GENERATION_CONFIG

from . import synth
from .catalog import EMBED
from .synth import get
from .util import URLSAFE, dumps_line

MAX_LINE_BYTES = 10 * 1024 * 1024
MAX_STRICT_ERRORS = 10
MISSING_CONTENTS = "* GenerateContentRequest.contents: contents is not specified\n"
MISSING_CONTENT = "* EmbedContentRequest.content: content is not specified\n"


class Checked(NamedTuple):
    """One input request after validation: `error` is None for a request the emulator will answer."""

    key: Any
    has_key: bool
    request: dict[str, Any] | None
    error: str | None
    syntax: str | None = None  # set when the line was not a JSON object (what strict mode rejects)


class ScanResult(NamedTuple):
    requests: int
    failed: array[int]  # sorted indices of requests that will fail
    syntax_errors: list[str]  # "Error on line N: ..." for lines that are not JSON objects (first few)
    tokens: int = 0  # estimated prompt tokens of the requests that will run (what the enqueued budget counts)


def check_request(request: Any, kind: str) -> str | None:
    """The error message for a request the service would reject, else None."""
    if not isinstance(request, dict):
        return "Invalid request: missing 'request' object."
    if kind == EMBED:
        content = get(request, "content")
        if not isinstance(content, dict) or not isinstance(get(content, "parts"), list) or not content["parts"]:
            return MISSING_CONTENT
        dims = get(request, "outputDimensionality", "output_dimensionality")
        if dims is not None and (not isinstance(dims, int) or dims <= 0):
            return f"* EmbedContentRequest.output_dimensionality: must be a positive integer, got {dims!r}\n"
        return None
    contents = get(request, "contents")
    if not isinstance(contents, list) or not contents:
        return MISSING_CONTENTS
    return unknown_field(request)


def unknown_field(request: dict[str, Any]) -> str | None:
    """The service's proto-JSON error for a field a GenerateContentRequest (or its generationConfig) lacks."""
    for name in request:
        if name not in GENERATE_REQUEST:
            return f'Invalid JSON payload received. Unknown name "{name}" at \'request\': Cannot find field.'
    for outer in ("generationConfig", "generation_config"):
        config = request.get(outer)
        if isinstance(config, dict):
            for name in config:
                if name not in GENERATION_CONFIG:
                    return (f'Invalid JSON payload received. Unknown name "{name}" at '
                            f'\'request.{outer}\': Cannot find field.')
    return None


def check_line(raw: bytes | None, lineno: int, kind: str) -> Checked:
    if raw is None:
        msg = f"Request payload size exceeds the limit: {MAX_LINE_BYTES} bytes."
        return Checked(None, False, None, msg, f"Error on line {lineno}: {msg}")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        col = getattr(exc, "colno", 1)
        detail = getattr(exc, "msg", str(exc))
        msg = f"Invalid JSON payload received on line {lineno}, near column {col}: {detail}."
        return Checked(None, False, None, msg, f"Error on line {lineno}: invalid JSON, near column {col}: {detail}")
    if not isinstance(obj, dict):
        msg = f"Invalid JSON payload received on line {lineno}: expected a JSON object."
        return Checked(None, False, None, msg, f"Error on line {lineno}: invalid JSON, near column 1: expected '{{'")
    has_key = "key" in obj
    request = obj.get("request")
    error = check_request(request, kind)
    return Checked(obj.get("key"), has_key, request if isinstance(request, dict) else None, error)


def iter_lines(f: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(physical line number, bytes) for each non-blank line; None instead of bytes for an over-long line,
    which is skipped without being held in memory."""
    lineno = 0
    while True:
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:  # discard the rest of the line
                rest = f.readline(1024 * 1024)
                if not rest or rest.endswith(b"\n"):
                    break
            yield lineno, None
            continue
        if raw.strip():
            yield lineno, raw


def scan_input(path: Path, kind: str) -> ScanResult:
    """Count the requests of an input file and note which will fail, without generating anything."""
    failed: array[int] = array("I")
    syntax: list[str] = []
    count = tokens = 0
    with open(path, "rb") as f:
        for lineno, raw in iter_lines(f):
            checked = check_line(raw, lineno, kind)
            if checked.error is not None:
                failed.append(count)
                if checked.syntax and len(syntax) < MAX_STRICT_ERRORS:
                    syntax.append(checked.syntax)
            elif checked.request is not None:
                tokens += synth.request_tokens(checked.request, kind)
            count += 1
    return ScanResult(count, failed, syntax, tokens)


def _reorder(d: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    keys = list(d)
    rng.shuffle(keys)
    return {k: d[k] for k in keys}


def _response_id(rng: random.Random) -> str:
    return "".join(rng.choices(URLSAFE, k=22))


def generate_response(request: dict[str, Any], model: str, seed: int, index: int) -> dict[str, Any]:
    """A plausible GenerateContentResponse for `request`, with shuffled field order."""
    text = synth.prompt_text(request)
    rng = synth.rng_for(seed, index, text)
    gen = get(request, "generationConfig", "generation_config") or {}
    json_mode = str(get(gen, "responseMimeType", "response_mime_type") or "").lower() == "application/json"
    n_cand = get(gen, "candidateCount", "candidate_count")
    n_cand = n_cand if isinstance(n_cand, int) and 1 <= n_cand <= 8 else 1
    max_out = get(gen, "maxOutputTokens", "max_output_tokens")
    candidates, cand_tokens = [], 0
    for i in range(n_cand):
        answer = synth.json_answer(gen, text, rng) if json_mode else synth.answer_text(text, rng)
        tokens, finish = max(1, math.ceil(len(answer) / 4)), "STOP"
        if isinstance(max_out, int) and 0 < max_out < tokens:
            answer, tokens, finish = answer[: max_out * 4], max_out, "MAX_TOKENS"
        cand_tokens += tokens
        content = _reorder({"parts": [{"text": answer}], "role": "model"}, rng)
        candidates.append(_reorder({"content": content, "finishReason": finish, "index": i}, rng))
    details = synth.prompt_token_details(request)
    prompt_tokens = sum(n for _, n in details)
    thoughts = synth.thoughts_tokens(model, gen, rng)
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": cand_tokens,
        "totalTokenCount": prompt_tokens + cand_tokens + thoughts,
        "promptTokensDetails": [_reorder({"modality": m, "tokenCount": n}, rng) for m, n in details],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    response = {
        "candidates": candidates,
        "usageMetadata": _reorder(usage, rng),
        "modelVersion": model.removeprefix("models/"),
        "responseId": _response_id(rng),
    }
    return _reorder(response, rng)


def embed_response(request: dict[str, Any], model: str, seed: int) -> dict[str, Any]:
    text = synth.prompt_text(request)
    dims = get(request, "outputDimensionality", "output_dimensionality")
    if not isinstance(dims, int) or dims <= 0:
        dims = synth.model_info(model).dimensions or 768
    return {"embedding": {"values": synth.embedding_values(text, dims, seed)}}


def answer(checked_request: dict[str, Any], kind: str, model: str, seed: int, index: int) -> dict[str, Any]:
    if kind == EMBED:
        return embed_response(checked_request, model, seed)
    return generate_response(checked_request, model, seed, index)


def error_object(message: str) -> dict[str, Any]:
    """A per-request error. `details` is left out: the SDK types it list[str] and breaks on objects."""
    return {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}


def file_result_line(checked: Checked, kind: str, model: str, seed: int, index: int) -> str:
    order = random.Random(f"order:{seed}:{index}")
    if checked.error is not None or checked.request is None:
        body: dict[str, Any] = {"error": error_object(checked.error or MISSING_CONTENTS)}
        with_key = True
    else:
        body = {"response": answer(checked.request, kind, model, seed, index)}
        with_key = checked.has_key
    if not with_key:
        return dumps_line(body)
    # The real output puts "key" last on most lines and first on some.
    line = {"key": checked.key, **body} if order.random() < 0.2 else {**body, "key": checked.key}
    return dumps_line(line)


def write_results(in_path: Path, out_path: Path, kind: str, model: str, seed: int) -> tuple[int, str]:
    """Stream results for every request of `in_path` into `out_path`; returns (size in bytes, sha256 hex)."""
    hasher = hashlib.sha256()
    size = 0
    with open(in_path, "rb") as src, open(out_path, "wb") as dst:
        for index, (lineno, raw) in enumerate(iter_lines(src)):
            data = (file_result_line(check_line(raw, lineno, kind), kind, model, seed, index) + "\n").encode("utf-8")
            hasher.update(data)
            dst.write(data)
            size += len(data)
    return size, hasher.hexdigest()


def check_inline(items: list[Any], kind: str) -> list[Checked]:
    out = []
    for item in items:
        request = item.get("request") if isinstance(item, dict) else None
        metadata = item.get("metadata") if isinstance(item, dict) else None
        out.append(Checked(metadata, metadata is not None, request, check_request(request, kind)))
    return out


def inline_results(checked: list[Checked], kind: str, model: str, seed: int) -> list[dict[str, Any]]:
    """`inlinedResponses` items: `response` or `error`, plus the request's `metadata` echoed back."""
    results = []
    for index, item in enumerate(checked):
        if item.error is not None or item.request is None:
            entry: dict[str, Any] = {"error": error_object(item.error or MISSING_CONTENTS)}
        else:
            entry = {"response": answer(item.request, kind, model, seed, index)}
        if item.has_key:
            entry["metadata"] = item.key
        results.append(entry)
    return results
