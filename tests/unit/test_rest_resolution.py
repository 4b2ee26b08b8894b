"""Raw reads must go where the SDK goes: same base URL and API version rules."""

from __future__ import annotations

import pytest

from gembatch_tui.core.api.rest import resolve_api_version, resolve_base_url


@pytest.mark.parametrize(
    ("explicit_url", "env_url", "explicit_version", "env_version"),
    [
        (None, None, None, None),
        (None, "http://127.0.0.1:9/pfx", None, None),
        ("http://127.0.0.1:8/", "http://127.0.0.1:9/", None, "beta"),
        (None, None, "v1alpha", "beta"),
        (None, None, None, "v1alpha"),
    ],
)
def test_resolution_matches_the_sdk(monkeypatch, explicit_url, env_url, explicit_version, env_version) -> None:
    from google import genai

    for name, value in (("GOOGLE_GEMINI_BASE_URL", env_url), ("GOOGLE_GENAI_API_VERSION", env_version)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    options = {k: v for k, v in (("base_url", explicit_url), ("api_version", explicit_version)) if v}
    client = genai.Client(api_key="k", http_options=options or None)
    sdk = client._api_client._http_options
    assert resolve_base_url(explicit_url).rstrip("/") == sdk.base_url.rstrip("/")
    assert resolve_api_version(explicit_version) == sdk.api_version
