"""Provides raw REST reads of batch jobs and files, with the same key, base URL and version as the SDK.

Why not the SDK here: `batches.get` drops `batchStats` and the job's `error`, and every SDK call costs
~3.5 ms of CPU plus a ~1 s import, which made a 400-job poll pass CPU-bound. These GETs use httpx2
(the SDK's own transport, so no new dependency) with a pooled client and the same retry policy
(408/429/5xx, exponential backoff with jitter). Everything that writes still goes through the SDK.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from gembatch_tui.core.api.retry_policy import RetryPolicy

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/"


class RestError(Exception):
    """Shaped like the SDK's APIError (code, status, message) so one mapper handles both."""

    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(f"{code} {status}. {message}")
        self.code = code
        self.status = status
        self.message = message


def resolve_base_url(base_url: str | None) -> str:
    """As the SDK does: an explicit base URL, else GOOGLE_GEMINI_BASE_URL, else Google's."""
    url = base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL") or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def resolve_api_version(api_version: str | None) -> str:
    """As the SDK does for the Developer API: explicit, else GOOGLE_GENAI_API_VERSION ('beta' = v1beta), else v1."""
    if api_version:
        return api_version
    env = os.environ.get("GOOGLE_GENAI_API_VERSION")
    if env == "beta":
        return "v1beta"
    return env or "v1"


class RestReader:
    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        api_version: str | None = None,
        attempts: int = 5,
        initial_delay: float = 1.0,
        max_delay: float = 30.0,
        timeout_s: float = 120.0,
        max_connections: int = 32,
    ) -> None:
        self._key = api_key.strip()
        self._base = resolve_base_url(base_url) + resolve_api_version(api_version) + "/"
        self._policy = RetryPolicy(max(1, attempts), initial_delay, max_delay)
        self._timeout = timeout_s
        self._max_connections = max_connections
        self._client: Any = None
        self._lock = threading.Lock()

    def _http(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx2

                self._client = httpx2.Client(
                    timeout=self._timeout,
                    limits=httpx2.Limits(max_connections=self._max_connections, max_keepalive_connections=self._max_connections),
                    headers={"x-goog-api-key": self._key, "Content-Type": "application/json"},
                    follow_redirects=False,
                )
            return self._client

    def get_json(self, path: str) -> dict[str, Any]:
        """GET `{base}/{version}/{path}`; only HTTP 200 is success, as for the SDK. Retried by the one policy
        (core.retry_policy): transient statuses, timeouts and resets; never a refused connection."""
        client = self._http()
        url = self._base + path.lstrip("/")

        def once() -> dict[str, Any]:
            response = client.get(url)
            if response.status_code != 200:
                raise _error_from(response)
            try:
                data = json.loads(response.content or b"{}")
            except ValueError:
                raise RestError(200, "MALFORMED", f"the answer to GET {path} is not JSON") from None
            if not isinstance(data, dict):
                raise RestError(200, "MALFORMED", f"the answer to GET {path} is not a JSON object")
            return data

        return self._policy.call(once)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _error_from(response: Any) -> RestError:
    code = int(response.status_code)
    status = getattr(response, "reason_phrase", "") or ""
    message = response.text[:2000]
    try:
        body = json.loads(response.content)
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            status = str(err.get("status") or status)
            message = str(err.get("message") or message)
    except ValueError:
        pass
    return RestError(code, status, message)
