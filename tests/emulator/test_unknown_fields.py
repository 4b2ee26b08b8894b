"""A request with a field the API does not have fails on its own line, with the service's proto-JSON message."""

from __future__ import annotations

import io
import json

from google import genai

from gembatch_tui.emulator import Emulator

KEY = "test-key"


def test_unknown_request_and_generation_config_fields_fail_per_line() -> None:
    clock_now = [1_800_000_000.0]
    with Emulator(api_key=KEY, job_seconds=10, clock=lambda: clock_now[0]) as emu:
        client = genai.Client(api_key=KEY, http_options={"base_url": emu.url})
        contents = [{"parts": [{"text": "hi"}], "role": "user"}]
        lines = [
            {"key": "ok", "request": {"contents": contents, "generation_config": {"temperature": 0.2}}},
            {"key": "top", "request": {"contents": contents, "generationconfig": {}}},
            {"key": "inner", "request": {"contents": contents, "generationConfig": {"temprature": 1}}},
        ]
        data = "".join(json.dumps(x) + "\n" for x in lines).encode()
        src = client.files.upload(file=io.BytesIO(data), config={"mime_type": "jsonl"})
        job = client.batches.create(model="gemini-2.5-flash", src=src.name)
        clock_now[0] += 60
        done = client.batches.get(name=job.name)
        out = {o["key"]: o for o in map(json.loads, client.files.download(file=done.dest.file_name).decode().splitlines())}
        assert "response" in out["ok"]
        assert out["top"]["error"] == {"code": 400, "status": "INVALID_ARGUMENT", "message":
                                       'Invalid JSON payload received. Unknown name "generationconfig" at \'request\': Cannot find field.'}
        assert out["inner"]["error"]["message"] == (
            'Invalid JSON payload received. Unknown name "temprature" at \'request.generationConfig\': Cannot find field.')
        assert emu.server_errors == []
