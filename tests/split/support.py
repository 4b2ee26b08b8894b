"""Shared helpers for the split, media and embeddings tests: a service on the emulator over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.media_cache import MediaCache
from gembatch_tui.core.poll.poller import PollReport, poll_once
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore

KEY = "test-key-SPLIT-0123456789"
MODEL = "gemini-2.5-flash"


def make_service(emu: Emulator, root: Path, limits: JobLimits | None = None, **kw: Any) -> BatchService:
    client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.02, retry_max_delay=0.05)
    return BatchService(
        JobStore(root / "store" / "jobs.jsonl"), client, limits=limits or JobLimits(),
        media_cache=MediaCache(root / "cache" / "media-uris.json"), **kw,
    )


def write_lines(path: Path, lines: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for obj in lines:
            f.write(json.dumps(obj, separators=(",", ":")) + "\n")
    return path


def text_requests(n: int, text: str = "q", prefix: str = "k") -> Iterable[dict[str, Any]]:
    """Tiny generate requests `{"key": "k00000", ...}` whose text is `text` followed by the index."""
    for i in range(n):
        yield {"key": f"{prefix}{i:05d}", "request": {"contents": [{"parts": [{"text": f"{text}{i}"}]}]}}


def poll_until_idle(service: BatchService, timeout: float = 45.0, on_pass: Any = None) -> list[PollReport]:
    """Poll until nothing is active or queued and the last pass failed nothing; returns every report."""
    reports = []
    deadline = time.monotonic() + timeout
    while True:
        report = poll_once(service)
        reports.append(report)
        if on_pass is not None:
            on_pass(report)
        if report.active == 0 and not report.failed:
            return reports
        assert time.monotonic() < deadline, f"still active after {timeout} s: {report}"
        time.sleep(0.05)


def keys_of(path: Path) -> list[str]:
    with open(path, "rb") as f:
        return [json.loads(line)["key"] for line in f if line.strip()]
