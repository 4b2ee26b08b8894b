"""Provides Google-style error envelopes, so clients see exactly what they would parse from the real API.

Every non-200 answer the emulator sends is an `ApiError` rendered as `{"error": {code, message, status, details?}}`.
"""

from __future__ import annotations

from typing import Any

STATUS_BY_CODE: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_MESSAGES: dict[int, str] = {
    400: "Request contains an invalid argument.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    409: "Requested entity already exists",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}

TRANSIENT_CODES = (429, 500, 503)


class ApiError(Exception):
    """An error answer: HTTP `code`, canonical `status`, a message, optional details and extra headers."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        status: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGES.get(code, "Error")
        self.status = status or STATUS_BY_CODE.get(code, "UNKNOWN")
        self.details = details
        self.headers = headers or {}
        super().__init__(f"{code} {self.status}: {self.message}")

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}


def not_found(message: str = "Requested entity was not found.") -> ApiError:
    return ApiError(404, message)


def file_not_found(file_id: str) -> ApiError:
    """The Files API's answer for a file that does not exist, was deleted or has expired: 403 PERMISSION_DENIED, not
    404 (public reports: googleapis/python-genai#1218). An unknown batch is still `not_found()`."""
    return ApiError(403, f"You do not have permission to access the File {file_id} or it may not exist.")


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, message)


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, status="FAILED_PRECONDITION")


def api_key_invalid() -> ApiError:
    """The real service's answer to a missing or wrong key; it never names the key it got."""
    return ApiError(
        400,
        "API key not valid. Please pass a valid API key.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    )


def model_not_found(model_path: str, version: str, method: str) -> ApiError:
    return ApiError(
        404,
        f"{model_path} is not found for API version {version}, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods.",
    )


def too_many_jobs(limit: int) -> ApiError:
    return ApiError(
        429,
        f"Resource has been exhausted (e.g. check quota). Too many concurrent batch jobs: "
        f"at most {limit} batches may be pending or running at once.",
    )


def enqueued_tokens_exhausted(model: str, enqueued: int, adding: int, limit: int) -> ApiError:
    """What a tier's batch enqueued-token limit answers (the exact real text is not known; the status is)."""
    return ApiError(
        429,
        f"Resource has been exhausted (e.g. check quota). Enqueued tokens limit exceeded for {model}: "
        f"{enqueued} tokens are enqueued in pending or running batches, this batch adds {adding}, "
        f"the limit is {limit}.",
        details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                  "domain": "googleapis.com", "metadata": {"quota_metric": "batch_enqueued_tokens"}}],
    )


def payload_too_large(limit: int) -> ApiError:
    return ApiError(400, f"Request payload size exceeds the limit: {limit} bytes.")


def transient(code: int) -> ApiError:
    """A retryable error of the kind the real service sends under load."""
    if code == 503:
        return ApiError(503, "The model is overloaded. Please try again later.")
    return ApiError(code)
