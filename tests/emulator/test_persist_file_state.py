"""Persistent mode keeps Files API processing states and the per-line file errors of batch jobs across a restart
(and between processes sharing a state dir), through the real SDK; state dirs written before load as before."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from google import genai

from gembatch_tui.emulator import Emulator, filerefs, persist

KEY = "test-key"
MODEL = "gemini-2.5-flash"
CODEC = "Video codec <x> not supported."


def _client(emu: Emulator) -> genai.Client:
    return genai.Client(api_key=KEY, http_options={"base_url": emu.url})


def _upload(client: genai.Client, mime: str, name: str) -> Any:
    return client.files.upload(file=io.BytesIO(b"\x00media"), config={"mime_type": mime, "display_name": name})


def _line(key: str, uri: str) -> dict[str, Any]:
    parts = [{"fileData": {"fileUri": uri, "mimeType": "image/png"}}, {"text": f"describe {key}"}]
    return {"key": key, "request": {"contents": [{"role": "user", "parts": parts}]}}


def _submit(client: genai.Client, lines: list[dict[str, Any]]) -> str:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    src = client.files.upload(file=io.BytesIO(data), config={"mime_type": "jsonl"})
    return client.batches.create(model=MODEL, src=src.name).name


def _errors(client: genai.Client, batch: str) -> dict[str, Any]:
    done = client.batches.get(name=batch)
    assert done.state.value == "JOB_STATE_SUCCEEDED"
    out = [json.loads(x) for x in client.files.download(file=done.dest.file_name).decode().splitlines()]
    return {o["key"]: o.get("error") for o in out}


def _state(client: genai.Client, name: str) -> str:
    return client.files.get(name=name).state.value


def _prepare(state_dir: Path, clock: Any) -> tuple[str, str, str, str, str]:
    """Before the restart: a video PROCESSING for 30 s, one that will fail, and a job naming a deleted file
    and the unready video. Returns (video, broken, gone id, video id, batch)."""
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, state_dir=state_dir,
                  processing_seconds={"video/": 30}) as emu:
        emu.fail_processing(r"^broken", CODEC)
        client = _client(emu)
        video = _upload(client, "video/mp4", "clip.mp4")
        broken = _upload(client, "video/mp4", "broken.mp4")
        gone = _upload(client, "image/png", "gone.png")
        client.files.delete(name=gone.name)
        assert (video.state.value, broken.state.value) == ("PROCESSING", "PROCESSING")
        batch = _submit(client, [_line("deleted", gone.uri), _line("unready", video.uri)])
        assert emu.server_errors == []
    return video.name, broken.name, gone.name.removeprefix("files/"), video.name.removeprefix("files/"), batch


def test_processing_states_and_file_errors_survive_a_restart(tmp_path: Path, tools) -> None:
    clock = tools.FakeClock()
    video, broken, gone_id, video_id, batch = _prepare(tmp_path, clock)
    saved = {f["id"]: f for f in json.loads((tmp_path / persist.STATE_FILE).read_text())["files"]}
    assert saved[broken.removeprefix("files/")]["failure"] == CODEC
    clock.advance(5)
    # The new emulator processes nothing (0 s) and fails nothing: what it answers comes from the state dir.
    with Emulator(api_key=KEY, clock=clock, state_dir=tmp_path, processing_seconds=0) as emu:
        client = _client(emu)
        assert (_state(client, video), _state(client, broken)) == ("PROCESSING", "PROCESSING")
        assert {f["name"]: f["state"] for f in emu.files_snapshot()}[video] == "PROCESSING"
        clock.advance(24.9)  # 29.9 s after the upload
        assert _state(client, video) == "PROCESSING"
        clock.advance(0.2)
        assert _state(client, video) == "ACTIVE"
        failed = client.files.get(name=broken)
        assert failed.state.value == "FAILED"
        assert failed.error.message == CODEC
        errors = _errors(client, batch)  # results are written now, by the restarted emulator
        assert emu.server_errors == []
    assert errors["deleted"] == {"code": 400, "status": "INVALID_ARGUMENT", "message": filerefs.missing(gone_id)}
    assert errors["unready"] == {"code": 400, "status": "INVALID_ARGUMENT",
                                 "message": filerefs.not_active(video_id)}


def test_a_state_dir_written_before_these_fields_loads_as_before(tmp_path: Path, tools) -> None:
    """No `ready_at`/`failure`/`file_problems` in the file: files are ACTIVE and the failed lines get the general
    message, as emulators did before they were saved."""
    clock = tools.FakeClock()
    video, broken, _, _, batch = _prepare(tmp_path, clock)
    path = tmp_path / persist.STATE_FILE
    data = json.loads(path.read_text())
    for f in data["files"]:
        del f["ready_at"], f["failure"]
    for b in data["batches"]:
        del b["file_problems"]
    path.write_text(json.dumps(data))
    with Emulator(api_key=KEY, clock=clock, state_dir=tmp_path) as emu:
        client = _client(emu)
        assert (_state(client, video), _state(client, broken)) == ("ACTIVE", "ACTIVE")
        clock.advance(60)
        errors = _errors(client, batch)
        assert emu.server_errors == []
    assert errors["deleted"]["message"] == errors["unready"]["message"] == filerefs.GENERIC_PROBLEM


def test_another_emulator_on_the_dir_sees_states_and_file_errors(tmp_path: Path, tools) -> None:
    """Two emulators serving one state dir at once: b reloads what a saved, and writes a's job's results."""
    clock = tools.FakeClock()
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, state_dir=tmp_path, processing_seconds=30) as a, \
            Emulator(api_key=KEY, clock=clock, state_dir=tmp_path, processing_seconds=0) as b:
        ca, cb = _client(a), _client(b)
        video = _upload(ca, "video/mp4", "clip.mp4")
        batch = _submit(ca, [_line("unready", video.uri)])
        assert _state(cb, video.name) == "PROCESSING"
        clock.advance(30)
        assert _state(cb, video.name) == "ACTIVE"
        errors = _errors(cb, batch)
        assert a.server_errors == [] and b.server_errors == []
    assert errors["unready"]["message"] == filerefs.not_active(video.name.removeprefix("files/"))
