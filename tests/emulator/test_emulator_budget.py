"""The emulator's enqueued-token budget: counted over PENDING/RUNNING jobs, 429 RESOURCE_EXHAUSTED over it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
from google import genai
from google.genai import errors

from gembatch_tui.emulator import Emulator
from gembatch_tui.emulator.runtime import parse_budget

LINE = b'{"key":"k%d","request":{"contents":[{"parts":[{"text":"%s"}]}]}}\n'


def _input(client: genai.Client, tools, n: int, chars: int = 40):  # noqa: ANN001, ANN202
    data = b"".join(LINE % (i, b"x" * chars) for i in range(n))  # 40 characters = 10 tokens a request
    return tools.upload_bytes(client, data)


def test_create_over_budget_is_429_until_jobs_finish(clock, tools) -> None:  # noqa: ANN001
    with Emulator(job_seconds=100, clock=clock, enqueued_token_budget={"gemini-2.5-flash": 250}) as emu:
        client = genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url})
        first = client.batches.create(model="gemini-2.5-flash", src=_input(client, tools, 20).name)
        assert emu.enqueued_tokens("gemini-2.5-flash") == 200
        with pytest.raises(errors.ClientError) as info:
            client.batches.create(model="gemini-2.5-flash", src=_input(client, tools, 10).name)
        assert info.value.code == 429 and info.value.status == "RESOURCE_EXHAUSTED"
        assert "Enqueued tokens limit exceeded" in info.value.message and "200 tokens are enqueued" in info.value.message
        # Other models have their own budget (none here); embeddings count their content text.
        client.batches.create(model="gemini-2.5-pro", src=_input(client, tools, 100).name)
        clock.advance(50)  # RUNNING still counts
        with pytest.raises(errors.ClientError):
            client.batches.create(model="gemini-2.5-flash", src=_input(client, tools, 10).name)
        clock.advance(51)  # the first job is final: its tokens are free again
        assert client.batches.get(name=first.name).state.value == "JOB_STATE_SUCCEEDED"
        client.batches.create(model="gemini-2.5-flash", src=_input(client, tools, 25).name)
        assert emu.budget_rejections == 2 and emu.peak_enqueued_tokens == {"models/gemini-2.5-flash": 250}
        assert [b["est_tokens"] for b in emu.batches_snapshot()] == [200, 1000, 250]
        assert emu.server_errors == []


def test_cancelled_jobs_free_the_budget_and_inline_requests_count(clock, tools) -> None:  # noqa: ANN001
    with Emulator(job_seconds=100, clock=clock, enqueued_token_budget=30) as emu:
        client = genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url})
        job = client.batches.create(model="gemini-2.5-flash", src=[
            {"contents": [{"parts": [{"text": "y" * 80}]}]}, {"contents": [{"parts": [{"text": "z" * 40}]}]}])
        assert emu.enqueued_tokens("models/gemini-2.5-flash") == 30
        with pytest.raises(errors.ClientError):
            client.batches.create(model="gemini-2.5-flash", src=[{"contents": [{"parts": [{"text": "a"}]}]}])
        client.batches.cancel(name=job.name)
        assert emu.enqueued_tokens("gemini-2.5-flash") == 0
        client.batches.create(model="gemini-2.5-flash", src=[{"contents": [{"parts": [{"text": "a"}]}]}])


def test_parse_budget() -> None:
    assert parse_budget(None) is None
    assert parse_budget(["500"]) == 500
    assert parse_budget(["gemini-2.5-flash=10", "models/gemini-2.5-pro=20"]) == {
        "gemini-2.5-flash": 10, "gemini-2.5-pro": 20}
    for bad in (["x"], ["=5"], ["m=lots"]):
        with pytest.raises(ValueError):
            parse_budget(bad)


def test_cli_flag_reaches_the_server(tools) -> None:  # noqa: ANN001
    proc = subprocess.Popen(
        [sys.executable, "-m", "gembatch_tui", "emulator", "--job-seconds", "30", "--enqueued-token-budget", "15"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        found = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)", proc.stdout.readline().strip())
        assert found
        client = genai.Client(api_key=tools.KEY, http_options={"base_url": found.group(1)})
        client.batches.create(model="gemini-2.5-flash", src=_input(client, tools, 1).name)
        with pytest.raises(errors.ClientError) as info:
            client.batches.create(model="gemini-2.5-flash", src=_input(client, tools, 1).name)
        assert info.value.code == 429
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    bad = subprocess.run([sys.executable, "-m", "gembatch_tui", "emulator", "--enqueued-token-budget", "m=x"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--enqueued-token-budget" in bad.stderr
