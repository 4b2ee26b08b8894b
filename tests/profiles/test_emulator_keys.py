"""`gembatch-tui emulator --api-key A --api-key B`: two keys, each seeing only its own jobs and files (the real SDK
over HTTP); one `--api-key` still accepts only that key and scopes nothing."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from google import genai
from google.genai import errors

from tests.profiles.test_profiles_cli import KEY_A, KEY_B

ROOT = Path(__file__).resolve().parents[2]
LINE = b'{"key": "k", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n'


@pytest.fixture
def url() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gembatch_tui", "emulator", "--api-key", KEY_A, "--api-key", KEY_B,
                             "--job-seconds", "3600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        found = re.match(r"listening on (http://\S+)", first)
        assert found, first + (proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_job_and_a_file_of_one_key_are_not_there_for_the_other(url: str) -> None:
    a = genai.Client(api_key=KEY_A, http_options={"base_url": url})
    b = genai.Client(api_key=KEY_B, http_options={"base_url": url})
    uploaded = a.files.upload(file=io.BytesIO(LINE), config={"mime_type": "application/jsonl"})
    job = a.batches.create(model="gemini-2.5-flash", src=str(uploaded.name))
    assert a.batches.get(name=str(job.name)).name == job.name
    with pytest.raises(errors.ClientError) as gone:
        b.batches.get(name=str(job.name))
    assert gone.value.code == 404
    with pytest.raises(errors.ClientError) as hidden:
        b.files.get(name=str(uploaded.name))
    assert hidden.value.code == 403
    with pytest.raises(errors.ClientError):
        b.batches.cancel(name=str(job.name))
    assert [j.name for j in a.batches.list()] == [job.name] and list(b.batches.list()) == []
    assert [f.name for f in a.files.list()] == [uploaded.name] and list(b.files.list()) == []
    stranger = genai.Client(api_key="not-a-key-of-it", http_options={"base_url": url})
    with pytest.raises(errors.ClientError) as refused:
        stranger.batches.get(name=str(job.name))
    assert refused.value.code in (400, 401, 403)
