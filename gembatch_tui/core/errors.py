"""Provides one place that turns API and OS failures into a sentence a user can act on.

Every message passes through `redact`, so an API key never reaches the screen, a log or the store.
"""

from __future__ import annotations

import re
from typing import Any

_KEY_PATTERN = re.compile(r"AIza[0-9A-Za-z_\-]{20,}")
_registered_secrets: set[str] = set()


class ServiceError(Exception):
    """A failure with a user-facing message; `transient` says whether a retry later may work."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        transient: bool = False,
        refused: bool = False,
        unknown_outcome: bool = False,
    ) -> None:
        super().__init__(redact(message))
        self.code = code
        self.transient = transient
        self.refused = refused  # the connection was refused: the request reached no server
        self.unknown_outcome = unknown_outcome  # a create may or may not have happened (see retry_policy)


class MissingKeyError(ServiceError):
    pass


class Cancelled(Exception):
    """The user asked to stop (Escape during an upload); not a failure."""


def register_secret(secret: str | None) -> None:
    """Remember a secret (the API key in use) so that `redact` removes it wherever it appears."""
    if secret and len(secret) >= 4:
        _registered_secrets.add(secret)


def redact(text: Any) -> str:
    out = str(text)
    for secret in _registered_secrets:
        if secret in out:
            out = out.replace(secret, "***")
    return _KEY_PATTERN.sub("***", out)


CREATE = "create batch"
"""The action a batch create's errors carry: `create_refused` and the 429 wording tell it from other calls."""
_REFUSED_CODES = ("(429 ", "(403 ")


def create_refused(message: str) -> bool:
    """Whether a message is the Batch API refusing a create for quota (429) or access (403): the case where the
    same requests can go through the interactive API instead. A 429 on a listing or a look-up is not."""
    return f"{CREATE}: " in message and any(code in message for code in _REFUSED_CODES)


def _then(text: str, advice: str) -> str:
    """The service's sentence as it came, then ours: "x; advice", or "x. Advice." after its own full stop."""
    if text.endswith((".", "!", "?")):
        return f"{text} {advice[:1].upper()}{advice[1:]}."
    return f"{text}; {advice}"


MAX_ERROR_TEXT = 400
"""At most this many characters of a service's error text go into a message (the rest is cut with an ellipsis)."""


def _brief(text: str) -> str:
    """The service's error text, kept readable: an HTML page (a base URL that is not the Gemini API: a proxy's or
    a web server's page) is named, not printed whole, and any text is cut at MAX_ERROR_TEXT characters."""
    head = text[:200].lstrip().lower()
    if head.startswith("<!doctype html") or "<html" in head:
        return ("the answer was an HTML page, not the API's JSON error: is GOOGLE_GEMINI_BASE_URL (or the proxy) "
                "the Gemini API?")
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def describe_api_error(exc: BaseException, action: str = "") -> ServiceError:
    """Map an SDK/HTTP exception to a ServiceError with a clear, key-free message."""
    if isinstance(exc, ServiceError):
        return exc
    prefix = f"{action}: " if action else ""
    code = getattr(exc, "code", None)
    status = getattr(exc, "status", None) or ""
    message = getattr(exc, "message", None) or ""
    if isinstance(code, int) and code >= 400:
        text = _brief(str(message or status or exc).strip())
        if code == 400 and ("API key" in text or "API_KEY" in text):
            return ServiceError(f"{prefix}the API key was rejected (400 INVALID_ARGUMENT): {text}", code=code)
        if code == 400:
            return ServiceError(f"{prefix}the service rejected the request (400 {status}): {text}", code=code)
        if code == 401:
            return ServiceError(f"{prefix}not authenticated (401): check GOOGLE_API_KEY / GEMINI_API_KEY", code=code)
        if code == 403:
            return ServiceError(
                f"{prefix}permission denied (403 {status}): the key's project may lack access or billing: {text}",
                code=code,
            )
        if code == 404:
            return ServiceError(f"{prefix}not found (404): {text}", code=code)
        if code == 408:
            return ServiceError(f"{prefix}the request timed out (408); try again later", code=code, transient=True)
        if code == 429:
            lowered = text.lower()
            if "enqueued" in lowered or "token" in lowered:
                kind = "the enqueued-token limit of your tier is reached"
            elif "concurrent" in lowered or "batch" in lowered:
                kind = "too many batch jobs are running at once"
            else:
                kind = "a rate limit or quota is exhausted"
            return ServiceError(
                f"{prefix}{kind} (429 RESOURCE_EXHAUSTED): "
                + _then(text, "the job can be retried later" if action == CREATE else "try again later"),
                code=code,
                transient=True,
            )
        if code >= 500:
            return ServiceError(
                f"{prefix}the service failed ({code} {status}) after retries: {_then(text, 'try again later')}",
                code=code,
                transient=True,
            )
        return ServiceError(f"{prefix}{code} {status}: {text}", code=code)
    if code == 200:  # a success status whose body was not what was asked for
        return ServiceError(f"{prefix}malformed answer from the service: {message or exc}", code=code, transient=True)
    from gembatch_tui.core.api.retry_policy import is_refused, is_transport_error, url_of

    name = type(exc).__name__
    where = url_of(exc) or "the service"
    if is_refused(exc):
        return ServiceError(f"{prefix}cannot reach {where} (connection refused)", transient=True, refused=True)
    if is_transport_error(exc):
        return ServiceError(f"{prefix}cannot reach {where} ({name}): {exc}", transient=True)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return ServiceError(f"{prefix}{where}{exc.strerror or exc}")
    return ServiceError(f"{prefix}{name}: {exc}")
