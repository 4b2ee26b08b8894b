"""Fixtures for the emulator tests: a running emulator, real SDK clients, an injectable clock, raw HTTP."""

from __future__ import annotations

import http.client
import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from google import genai

from gembatch_tui.emulator import Emulator

KEY = "test-key"
EXAMPLES = Path("/work/shared/examples")
if not EXAMPLES.exists():  # fall back to fixtures next to the tests if the shared dir is absent
    EXAMPLES = Path(__file__).parent / "data"


class FakeClock:
    """A manual clock: the emulator evaluates job state from it on every request."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(base: str, method: str, path: str, body: bytes | dict | None = None,
                headers: dict[str, str] | None = None, key: str | None = KEY) -> Reply:
    """One HTTP exchange, whatever the status (http.client never raises on 4xx/5xx)."""
    parts = urlsplit(base if path.startswith("/") else path)
    target = path if path.startswith("/") else (parts.path + ("?" + parts.query if parts.query else ""))
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    hdrs = {"Content-Type": "application/json"}
    if key is not None:
        hdrs["x-goog-api-key"] = key
    hdrs.update(headers or {})
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    try:
        conn.request(method, target, body=data, headers=hdrs)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def _quiet_experimental_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(job_seconds=0.3) as e:
        yield e
        assert e.server_errors == [], e.server_errors


@pytest.fixture
def client(emu: Emulator) -> genai.Client:
    return genai.Client(api_key=KEY, http_options={"base_url": emu.url})


@pytest.fixture
def beta_client(emu: Emulator) -> genai.Client:
    return genai.Client(api_key=KEY, http_options={"base_url": emu.url, "api_version": "v1beta"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked(clock: FakeClock) -> Iterator[Emulator]:
    """An emulator whose jobs take 100 s of the injected clock."""
    with Emulator(job_seconds=100, clock=clock) as e:
        yield e
        assert e.server_errors == [], e.server_errors


def wait_done(client: genai.Client, name: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = client.batches.get(name=name)
        if job.done or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def upload_bytes(client: genai.Client, data: bytes, mime: str = "jsonl", **config: Any) -> Any:
    import io

    return client.files.upload(file=io.BytesIO(data), config={"mime_type": mime, **config})


@pytest.fixture
def tools() -> Any:
    """Helpers as a fixture, so test modules need not import conftest."""
    from types import SimpleNamespace

    return SimpleNamespace(wait_done=wait_done, upload_bytes=upload_bytes, raw=raw_request,
                           KEY=KEY, EXAMPLES=EXAMPLES, FakeClock=FakeClock)
