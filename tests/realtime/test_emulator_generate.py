"""The emulator's generateContent answers as the real endpoint does, over plain REST: a GenerateContentResponse,
400 INVALID_ARGUMENT for a request the service rejects, 404 for an unknown model, and past `--rpm` a 429
RESOURCE_EXHAUSTED whose details carry QuotaFailure and RetryInfo; every arrival is logged."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

from gembatch_tui.emulator import Emulator
from tests.realtime.conftest import KEY

BODY = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}], "generationConfig": {"temperature": 0}}


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "x-goog-api-key": KEY})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_generate_content_over_rest() -> None:
    with Emulator(api_key=KEY, rpm=2, rpm_window_seconds=30) as emu:
        base = f"{emu.url}/v1beta/models"
        code, ok = _post(f"{base}/gemini-2.5-flash:generateContent", BODY)
        assert code == 200 and ok["candidates"][0]["content"]["parts"][0]["text"]
        assert ok["usageMetadata"]["promptTokenCount"] > 0 and ok["modelVersion"] == "gemini-2.5-flash"

        code, bad = _post(f"{base}/gemini-2.5-flash:generateContent", {"contents": [], "foo": 1})
        assert code == 400 and bad["error"]["status"] == "INVALID_ARGUMENT"

        code, missing = _post(f"{base}/no-such-model:generateContent", BODY)
        assert code == 404 and missing["error"]["status"] == "NOT_FOUND"

        code, limited = _post(f"{base}/gemini-2.5-flash:generateContent", BODY)
        assert code == 429 and limited["error"]["status"] == "RESOURCE_EXHAUSTED"
        details = {d["@type"].rsplit(".", 1)[-1]: d for d in limited["error"]["details"]}
        assert details["QuotaFailure"]["violations"][0]["quotaId"] == "GenerateRequestsPerMinutePerProjectPerModel"
        assert details["QuotaFailure"]["violations"][0]["quotaValue"] == "2"
        delay = float(details["RetryInfo"]["retryDelay"].removesuffix("s"))
        assert 25 < delay <= 30

        statuses = [c.status for c in emu.realtime_calls]
    assert statuses == [200, 400, 404, 429]  # the 400 counted against the limit, as a request the service took


def test_the_command_line_takes_rpm() -> None:
    shown = subprocess.run([sys.executable, "-m", "gembatch_tui", "emulator", "--help"], capture_output=True,
                           text=True, timeout=60)
    assert "--rpm N" in shown.stdout and "--rpm-window-seconds" in shown.stdout
    refused = subprocess.run([sys.executable, "-m", "gembatch_tui", "emulator", "--rpm", "0"], capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 2 and "--rpm must be a positive" in refused.stderr
