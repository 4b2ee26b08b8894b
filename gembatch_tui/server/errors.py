"""Provides the one error shape of the service, `{"error": {"message": ...}}`, and its JSON responses.

Why one shape: a client reads every refusal the same way, with the CLI's own sentence for the same problem; the
text is key-free (core.errors.redact) and JSON escapes control and bidi characters (core.text.json_safe), as
`list --json` does.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from gembatch_tui.core.errors import redact
from gembatch_tui.core.text import json_safe


class ApiError(Exception):
    """A request the service refuses or could not carry out: its HTTP status and the CLI's message."""

    def __init__(self, status: int, message: str, /, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = redact(message)
        self.details = details


class SafeJSONResponse(Response):
    """JSON with every control, bidi or other non-printable character as \\uXXXX (the same values)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_safe(json.dumps(content, ensure_ascii=False)).encode("utf-8")


def error_response(status: int, message: str, /, headers: dict[str, str] | None = None, **details: Any) -> Response:
    return SafeJSONResponse({"error": {"message": redact(message), **details}}, status_code=status, headers=headers)


__all__ = ["ApiError", "SafeJSONResponse", "error_response"]
