"""Provides one real-time request: a batch line's GenerateContentRequest sent through the SDK's
`models.generate_content`, and what its failure means for the run (retry, wait, record, or stop).

Why the raw answer: the SDK parses the response into its types and drops the fields it does not know; a batch
results line holds the service's JSON as it was sent. With `should_return_http_response` the SDK hands back the
body, so a real-time results line is the same JSON a batch job's line would have been. The request itself is the
REST shape of a batch line (`contents`, `generationConfig`, `systemInstruction`, `safetySettings`, `tools`,
`toolConfig`, `cachedContent`, `labels`, camelCase or snake_case); the SDK takes `contents` apart and the rest as
its GenerateContentConfig, and sends it back in that shape. Automatic function calling is off: a request is
sent once, as written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any

from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.api.retry_policy import is_refused, retryable, status_code
from gembatch_tui.core.errors import describe_api_error, redact

_CONFIG_FIELDS = {  # request field -> GenerateContentConfig field, for what lies outside generationConfig
    "systemInstruction": "system_instruction", "system_instruction": "system_instruction",
    "safetySettings": "safety_settings", "safety_settings": "safety_settings",
    "tools": "tools", "toolConfig": "tool_config", "tool_config": "tool_config",
    "cachedContent": "cached_content", "cached_content": "cached_content", "labels": "labels",
}
_IGNORED = frozenset({"model"})  # a per-line model: the run's model is the one used
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")


class Rejected(Exception):
    """The request cannot be sent as it is (the SDK refuses its shape): an error line for its key, never sent."""


@dataclass(frozen=True)
class Failure:
    """What a failed call means for the run."""

    action: str  # RETRY (transient: again after a pause), WAIT (429 with a hint), RECORD (an error line), STOP
    message: str
    error: dict[str, Any]  # the error object of the results line, as the service would put it
    delay: float = 0.0  # WAIT: the server's retryDelay in seconds


RETRY, WAIT, RECORD, STOP = "retry", "wait", "record", "stop"


def sdk_arguments(request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(contents, config) for `generate_content` from one batch request. Raises Rejected for a field the SDK
    has no place for."""
    contents = request.get("contents")
    config: dict[str, Any] = {}
    for name, value in request.items():
        if name == "contents" or name in _IGNORED:
            continue
        if name in ("generationConfig", "generation_config"):
            if not isinstance(value, dict):
                raise Rejected(f"{name} must be an object")
            config.update(value)
        elif name in _CONFIG_FIELDS:
            config[_CONFIG_FIELDS[name]] = value
        else:
            raise Rejected(f"unknown request field {name!r}")
    return contents, config


def warm_up(client: GeminiClient) -> None:
    """Import the SDK and build its client and config types now, before the first request is timed: the first
    call otherwise spends a second on it after the rate gate let it start, and reaches the server late."""
    from google.genai import types

    _ = client.sdk
    types.GenerateContentConfig.model_validate({"should_return_http_response": True})


def generate(client: GeminiClient, model: str, request: dict[str, Any]) -> dict[str, Any]:
    """The service's GenerateContentResponse JSON for `request`. Raises Rejected, or what the SDK raises."""
    from google.genai import types
    from pydantic import ValidationError

    contents, fields = sdk_arguments(request)
    try:
        config = types.GenerateContentConfig.model_validate(
            {**fields, "should_return_http_response": True, "automatic_function_calling": {"disable": True}})
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise Rejected(f"{where or 'request'}: {first.get('msg', exc)}") from None
    try:
        response = client.sdk.models.generate_content(model=model, contents=contents, config=config)
    except (ValueError, TypeError) as exc:
        if status_code(exc) is None and not _is_api_error(exc):
            raise Rejected(str(exc)) from None  # the SDK's own check of the contents (nothing was sent)
        raise
    http = getattr(response, "sdk_http_response", None)
    body = getattr(http, "body", None)
    try:
        parsed = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise MalformedAnswer("the service's answer is not a JSON object")
    return parsed


class MalformedAnswer(Exception):
    """A 200 whose body is not a GenerateContentResponse: the request ran (and may be billed); recorded, not resent."""

    code = 200


def _is_api_error(exc: BaseException) -> bool:
    return type(exc).__name__ in ("APIError", "ClientError", "ServerError")


def _error_details(exc: BaseException, type_suffix: str) -> Iterator[dict[str, Any]]:
    """The detail objects of an API error's envelope whose `@type` ends with `type_suffix` (RetryInfo, ...)."""
    body = getattr(exc, "details", None)
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith(type_suffix):
            yield detail


def retry_delay(exc: BaseException) -> float | None:
    """The `retryDelay` of a 429's RetryInfo detail, in seconds, or None when it has none (a daily quota)."""
    for detail in _error_details(exc, "google.rpc.RetryInfo"):
        found = _DURATION.match(str(detail.get("retryDelay", "")))
        if found:
            return float(found.group(1))
    return None


def quota_window(exc: BaseException) -> str | None:
    """"minute" or "day": the window of the quota a 429's QuotaFailure names (its quotaId, such as
    GenerateRequestsPerMinutePerProjectPerModel), for a 429 that has no RetryInfo; None when it names none."""
    for detail in _error_details(exc, "google.rpc.QuotaFailure"):
        violations = detail.get("violations")
        for violation in violations if isinstance(violations, list) else ():
            quota = str(violation.get("quotaId", "")) if isinstance(violation, dict) else ""
            if "PerDay" in quota:
                return "day"
            if "PerMinute" in quota:
                return "minute"
    return None


MINUTE_WAIT_S = 60.0
"""How long a 429 of a per-minute quota without a retry hint waits: the window it names."""


def _error_object(exc: BaseException, message: str) -> dict[str, Any]:
    code = status_code(exc)
    out: dict[str, Any] = {"code": code if code is not None else 0, "message": redact(message)}
    status = getattr(exc, "status", None)
    if isinstance(status, str) and status:
        out["status"] = status
    return out


def classify(exc: BaseException) -> Failure:
    """What a failed `generate` means: RECORD a rejected or malformed request, WAIT on a 429 with a hint (or a
    per-minute quota without one), STOP on a 429 without one (a daily quota: retrying only burns time) or on what
    fails every request alike (key, access, model, a refused connection), RETRY what is transient."""
    if isinstance(exc, Rejected):
        text = f"rejected before sending: {exc}"
        return Failure(RECORD, text, {"code": 400, "message": redact(text), "status": "INVALID_ARGUMENT"})
    if isinstance(exc, MalformedAnswer):
        return Failure(RECORD, str(exc), {"code": 200, "message": str(exc)})
    code = status_code(exc)
    message = str(getattr(exc, "message", None) or exc)
    described = str(describe_api_error(exc))
    if code == 429:
        delay = retry_delay(exc)
        window = quota_window(exc) if delay is None else None
        if window == "minute":  # a per-minute window frees within the minute, hint or not
            return Failure(WAIT, f"{described} (a per-minute quota, no retry hint: waiting a minute)",
                           _error_object(exc, message), MINUTE_WAIT_S)
        if delay is None:
            what = "the daily quota" if window == "day" else "no retry hint: most likely the daily quota"
            return Failure(STOP, f"{described} ({what}; run again later)", _error_object(exc, message))
        return Failure(WAIT, described, _error_object(exc, message), delay)
    if code in (401, 403, 404) or (code == 400 and ("API key" in message or "API_KEY" in message)):
        return Failure(STOP, described, _error_object(exc, message))
    if code is not None and 400 <= code < 500 and code != 408:
        return Failure(RECORD, described, _error_object(exc, message))
    if is_refused(exc):
        return Failure(STOP, described, _error_object(exc, message))
    if retryable(exc):
        return Failure(RETRY, described, _error_object(exc, message))
    return Failure(RECORD, described, _error_object(exc, message))
