"""`gembatch-tui emulator --processing-seconds S`: a real subprocess, driven by the real SDK over HTTP."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from google import genai

KEY = "any-key"  # without --api-key the emulator accepts any non-empty key


@contextmanager
def _emulator(*extra: str) -> Iterator[genai.Client]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gembatch_tui", "emulator", "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().rstrip("\n")
        found = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert found, (first, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        yield genai.Client(api_key=KEY, http_options={"base_url": found.group(1)})
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _upload_video(client: genai.Client) -> tuple[str, str, float]:
    f = client.files.upload(file=io.BytesIO(b"\x00\x00\x00\x18ftypmp42"),
                            config={"mime_type": "video/mp4", "display_name": "clip.mp4"})
    return f.name, f.state.value, time.monotonic()


def test_processing_seconds_sets_how_long_video_stays_processing() -> None:
    with _emulator("--processing-seconds", "0.5") as client:
        name, state, uploaded = _upload_video(client)
        assert state == "PROCESSING"
        seen = [state]
        while time.monotonic() < uploaded + 1.0:  # twice the 0.5 s asked for, half the 2 s default
            seen.append(client.files.get(name=name).state.value)
            time.sleep(0.05)
        assert client.files.get(name=name).state.value == "ACTIVE"
        assert seen[-1] == "ACTIVE" and set(seen) == {"PROCESSING", "ACTIVE"}
        assert seen == sorted(seen, key=["PROCESSING", "ACTIVE"].index)  # never back to PROCESSING


def test_processing_seconds_zero_turns_processing_off() -> None:
    with _emulator("--processing-seconds", "0") as client:
        name, state, _ = _upload_video(client)
        assert state == "ACTIVE"
        assert client.files.get(name=name).state.value == "ACTIVE"


def test_a_negative_processing_time_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "gembatch_tui", "emulator", "--processing-seconds", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--processing-seconds must be a number of seconds, 0 or more" in proc.stderr
