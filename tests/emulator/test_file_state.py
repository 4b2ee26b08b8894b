"""File states in the emulator, through the real SDK: video stays PROCESSING until the clock says ACTIVE (or
FAILED), and batch lines naming a file that is gone or not ACTIVE when the job is created fail per line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai

from gembatch_tui.emulator import Emulator

KEY = "test-key"
MODEL = "gemini-2.5-flash"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=10, clock=clock, processing_seconds={"video/": 30, "audio/": 5}) as e:
        yield e
        assert e.server_errors == [], e.server_errors


@pytest.fixture
def client(emu: Emulator) -> genai.Client:
    return genai.Client(api_key=KEY, http_options={"base_url": emu.url})


def _upload(client: genai.Client, mime: str, name: str, data: bytes = b"\x00media") -> Any:
    return client.files.upload(file=io.BytesIO(data), config={"mime_type": mime, "display_name": name})


def test_video_is_processing_until_the_emulator_clock_says_active(
    client: genai.Client, emu: Emulator, clock: Clock
) -> None:
    video = _upload(client, "video/mp4", "clip.mp4")
    audio = _upload(client, "audio/mpeg", "talk.mp3")
    image = _upload(client, "image/png", "a.png")
    assert (video.state.value, audio.state.value, image.state.value) == ("PROCESSING", "PROCESSING", "ACTIVE")
    clock.now += 5
    states = {f.name: f.state.value for f in client.files.list()}
    assert states == {video.name: "PROCESSING", audio.name: "ACTIVE", image.name: "ACTIVE"}
    clock.now += 25
    assert client.files.get(name=video.name).state.value == "ACTIVE"
    snap = {f["name"]: f for f in emu.files_snapshot()}[video.name]
    assert snap["state"] == "ACTIVE" and snap["ready_time"] == snap["create_time"] + 30


def test_default_rule_and_failed_processing(clock: Clock) -> None:
    with Emulator(api_key=KEY, clock=clock) as emu:
        emu.fail_processing(r"^broken", "Video codec <x> not supported.\nSorry.")
        client = genai.Client(api_key=KEY, http_options={"base_url": emu.url})
        good = _upload(client, "video/webm", "fine.webm")
        bad = _upload(client, "video/mp4", "broken.mp4")
        assert _upload(client, "application/pdf", "doc.pdf").state.value == "ACTIVE"  # only video by default
        assert client.files.get(name=bad.name).state.value == "PROCESSING"
        clock.now += 2.0  # the default processing time of video/*
        assert client.files.get(name=good.name).state.value == "ACTIVE"
        failed = client.files.get(name=bad.name)
        assert failed.state.value == "FAILED"
        assert failed.error.message == "Video codec <x> not supported.\nSorry."
        assert emu.server_errors == []


def _line(key: str, uri: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": f"describe {key}"}]
    if uri:
        parts.insert(0, {"fileData": {"fileUri": uri, "mimeType": "image/png"}})
    return {"key": key, "request": {"contents": [{"role": "user", "parts": parts}]}}


def test_lines_naming_a_missing_or_unready_file_fail_per_line(
    client: genai.Client, emu: Emulator, clock: Clock
) -> None:
    kept = _upload(client, "image/png", "kept.png")
    later = _upload(client, "image/png", "later.png")
    gone = _upload(client, "image/png", "gone.png")
    video = _upload(client, "video/mp4", "clip.mp4")
    client.files.delete(name=gone.name)
    lines = [
        _line("ok", kept.uri),
        _line("deleted", gone.uri),
        _line("processing", video.uri),
        _line("youtube", "https://www.youtube.com/watch?v=abc"),  # not a Files API URI: not ours to check
        _line("plain", None),
        _line("later", later.uri),
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    src = client.files.upload(file=io.BytesIO(data), config={"mime_type": "jsonl"})
    job = client.batches.create(model=MODEL, src=src.name)
    client.files.delete(name=later.name)  # after creation: the verdict of creation time stands
    clock.now += 60  # the video is ACTIVE by now, too late for this job
    done = client.batches.get(name=job.name)
    assert done.state.value == "JOB_STATE_SUCCEEDED"
    [snap] = emu.batches_snapshot()
    assert (snap["successful_count"], snap["failed_count"]) == (4, 2)
    out = [json.loads(x) for x in client.files.download(file=done.dest.file_name).decode().splitlines()]
    by_key = {o["key"]: o for o in out}
    gone_id, video_id = gone.name.removeprefix("files/"), video.name.removeprefix("files/")
    assert by_key["deleted"]["error"] == {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": f"You do not have permission to access the File {gone_id} or it may not exist."}
    assert by_key["processing"]["error"] == {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": f"The File {video_id} is not in an ACTIVE state and usage is not allowed."}
    assert all("response" in by_key[k] for k in ("ok", "youtube", "plain", "later"))


def test_inline_requests_naming_a_deleted_file_fail(client: genai.Client, clock: Clock) -> None:
    img = _upload(client, "image/png", "x.png")
    client.files.delete(name=img.name)
    requests = [{"contents": [{"parts": [{"file_data": {"file_uri": img.uri, "mime_type": "image/png"}}]}]},
                {"contents": [{"parts": [{"text": "hi"}]}]}]
    job = client.batches.create(model=MODEL, src=requests)
    clock.now += 60
    got = client.batches.get(name=job.name).dest.inlined_responses
    assert "may not exist" in got[0].error.message and got[1].response is not None
