"""A `gembatch-tui serve` process for tests, and a small HTTP client (the standard library's) to talk to it."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
KEY = "server-test-key"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return self.json()["error"]["message"]


@dataclass
class Server:
    """A running `serve` process: its URL, token, and everything it printed (read by threads, never blocking)."""

    proc: subprocess.Popen[bytes]
    url: str
    home: Path
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    token: str = ""

    @property
    def store_path(self) -> Path:
        return self.home / "jobs.jsonl"

    def request(self, method: str, path: str, body: bytes | Iterable[bytes] | None = None,
                headers: dict[str, str] | None = None, token: str | None = "") -> Answer:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token or self.token}"
        try:
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: bytes | None = None, **kw: Any) -> Answer:
        return self.request("POST", path, body=body, **kw)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def job_path(ref: str, suffix: str = "") -> str:
    return f"/jobs/{quote(ref, safe='')}{suffix}"


def server_env(home: Path, emulator_url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["GEMBATCH_TUI_HOME"] = str(home)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["GOOGLE_API_KEY"] = KEY
    if emulator_url:
        env["GOOGLE_GEMINI_BASE_URL"] = emulator_url
    env.update(extra or {})
    return env


def start_server(home: Path, emulator_url: str | None, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 60) -> Server:
    """`python -m gembatch_tui serve --port 0 ARGS...`, returned once its first line named the URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gembatch_tui", "serve", "--port", "0", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env or server_env(home, emulator_url),
    )
    lines: queue.Queue[str | None] = queue.Queue()
    server = Server(proc, "", home)

    def pump(stream: Any, sink: list[str], forward: bool) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            sink.append(line)
            if forward:
                lines.put(line)
        if forward:
            lines.put(None)

    threading.Thread(target=pump, args=(proc.stdout, server.stdout, True), daemon=True).start()
    threading.Thread(target=pump, args=(proc.stderr, server.stderr, False), daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        first = lines.get(timeout=max(0.1, deadline - time.monotonic()))
    except queue.Empty:
        first = None
    if not first or not first.startswith("listening on http://"):
        server.stop()
        raise AssertionError(f"serve did not start: {first!r}; stderr: {server.stderr}")
    server.url = first.removeprefix("listening on ")
    server.token = (home / "server-token").read_text().strip()
    return server


def wait_until(condition: Any, timeout: float = 60, what: str = "condition") -> Any:
    """Poll `condition()` until it returns something truthy (a loaded machine gets time, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def requests_jsonl(n: int, prefix: str = "q") -> bytes:
    return b"".join(
        json.dumps({"key": f"{prefix}{i}", "request": {"contents": [{"parts": [{"text": f"question {i}"}]}]}}).encode()
        + b"\n" for i in range(n))


def multipart(field_name: str, filename: str, data: bytes, boundary: str = "gembatchboundary42") -> tuple[bytes, str]:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/jsonl\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
