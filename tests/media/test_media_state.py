"""Media the Files API is still processing, or no longer has: waiting for ACTIVE before the job, re-uploading a
cached file that was deleted, failures and cancellation. Real SDK over real HTTP against the emulator."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from google import genai

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.media_cache import MediaCache, MediaFile
from gembatch_tui.core.submit.media_remote import WaitPolicy
from gembatch_tui.core.submit.media_upload import MediaUploader
from gembatch_tui.core.api.upload_tokens import plain_display_name
from tests.split.support import KEY, MODEL, make_service, poll_until_idle, write_lines

FILE_GET = re.compile(r"^/v1/files/([a-z0-9-]+)$")


class Clock:
    """One manual clock for the emulator and the uploader's waiting, so polling is deterministic."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _req(key: str, text: str) -> dict:
    return {"key": key, "request": {"contents": [{"role": "user", "parts": [{"text": text}]}]}}


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" * 40)
    (tmp_path / "in" / "a.png").write_bytes(b"\x89PNG a" * 20)
    (tmp_path / "in" / "b.png").write_bytes(b"\x89PNG b" * 20)
    return tmp_path


def _input(root: Path, name: str, *refs: str) -> Path:
    """A distinct input (its name is in the prompt: the same content twice would be skipped as a duplicate)."""
    return write_lines(root / "in" / name, [_req(f"k{i}", f"[[FILE:{ref}]] what is this? ({name})")
                                            for i, ref in enumerate(refs)])


def _gets(emu: Emulator, start: int = 0) -> list[str]:
    """Files API names fetched with files.get since request_log[start]."""
    return [f"files/{m.group(1)}" for method, path in emu.request_log[start:] if method == "GET"
            for m in [FILE_GET.match(path)] if m]


def _media(emu: Emulator) -> dict[str, dict]:
    """The media files on the emulator by display name (each name uploaded at most once where it is used)."""
    return {plain_display_name(f["display_name"]): f for f in emu.files_snapshot() if f["mime_type"] != "jsonl"}


def test_video_is_waited_for_and_the_job_created_only_once_active(clip: Path) -> None:
    src = _input(clip, "v.jsonl", "clip.mp4", "a.png")
    with Emulator(api_key=KEY, job_seconds=0.3, processing_seconds={"video/": 0.3}) as emu:
        service = make_service(emu, clip)
        out = service.submit(src, model=MODEL)
        assert out.status == "submitted", out.line()
        video = _media(emu)["clip.mp4"]
        assert video["ready_time"] > video["create_time"]  # it was PROCESSING after the upload
        [job] = emu.batches_snapshot()
        assert job["create_time"] >= video["ready_time"]  # created only once it was ACTIVE
        log = emu.request_log
        create_at = next(i for i, (m, p) in enumerate(log) if m == "POST" and p.endswith(":batchGenerateContent"))
        looks = [i for i, (m, p) in enumerate(log) if m == "GET" and p == f"/v1/{video['name']}"]
        assert looks and max(looks) < create_at  # it was waited for before the job was created
        [rec] = service.store.read_all()
        assert sorted(rec["media_file_names"]) == sorted(f["name"] for f in _media(emu).values())
        poll_until_idle(service)
        assert emu.server_errors == []
    [rec] = service.store.read_all()
    assert rec["results_check"]["ok"] == 2  # no line failed for a file that was not ACTIVE


def test_waiting_backs_off_and_gives_up_after_the_timeout(clip: Path) -> None:
    clock = Clock()
    with Emulator(api_key=KEY, clock=clock, processing_seconds={"video/": 10}) as emu:
        client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.02, retry_max_delay=0.05)
        cache = MediaCache(clip / "cache" / "media-uris.json", clock=clock)
        waiting = WaitPolicy(clock=clock, sleep=clock.sleep)
        plan = MediaUploader(client, cache, wait_policy=waiting).prepare([clip / "in" / "clip.mp4"])
        assert clock.sleeps == [0.5, 1, 2, 4, 5]  # ACTIVE at the sixth look, 12.5 s in
        assert len(_gets(emu)) == 6 and plan.uploaded == 1

        (clip / "in" / "clip.mp4").write_bytes(b"another video")
        clock.sleeps.clear()
        impatient = WaitPolicy(timeout_s=5, clock=clock, sleep=clock.sleep)
        with pytest.raises(ServiceError) as err:
            MediaUploader(client, cache, wait_policy=impatient).prepare([clip / "in" / "clip.mp4"])
        assert clock.sleeps == [0.5, 1, 2, 1.5]
        message = str(err.value)
        assert message.startswith(f"referenced file {clip / 'in' / 'clip.mp4'}: still PROCESSING on the Files API")
        assert message.endswith("after 5 s; try again later") and "\n" not in message and err.value.transient
        # The upload stays cached: the next submission waits for it instead of uploading it again.
        assert len(cache.lookup([MediaFile.of(clip / "in" / "clip.mp4")], client.scope)) == 1
        clock.sleeps.clear()
        plan = MediaUploader(client, cache, wait_policy=waiting).prepare([clip / "in" / "clip.mp4"])
        assert (plan.uploaded, plan.reused) == (0, 1) and clock.sleeps == [0.5, 1, 2, 4]


def test_failed_processing_is_a_clear_error_and_no_job(clip: Path) -> None:
    src = _input(clip, "f.jsonl", "a.png", "clip.mp4")
    with Emulator(api_key=KEY, job_seconds=0.3, processing_seconds={"video/": 0.2}) as emu:
        emu.fail_processing(r"^clip\.mp4( \[gbt:|$)", "Unsupported codec [bold]x[/]\nin stream 0")
        service = make_service(emu, clip)
        out = service.submit(src, model=MODEL)
        assert out.status == "error"
        video = _media(emu)["clip.mp4"]["name"]
        assert out.message == (f"referenced file {clip / 'in' / 'clip.mp4'}: the Files API could not process it "
                               f"({video} FAILED): Unsupported codec [bold]x[/] in stream 0")
        assert emu.batches_snapshot() == []
        assert [e["path"] for e in service.media_cache.entries().values()] == [str(clip / "in" / "a.png")]
        [rec] = service.store.read_all()
        assert rec["local_state"] == "submit_failed" and KEY not in rec["error"]


def test_a_deleted_cached_upload_is_uploaded_again_and_a_live_one_reused(clip: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=5) as emu:
        service = make_service(emu, clip)
        assert service.submit(_input(clip, "one.jsonl", "a.png", "b.png"), model=MODEL).status == "submitted"
        before = {Path(e["path"]).name: e["file_name"] for e in service.media_cache.entries().values()}
        sdk = genai.Client(api_key=KEY, http_options={"base_url": emu.url})
        sdk.files.delete(name=before["a.png"])
        start = len(emu.request_log)
        out = service.submit(_input(clip, "two.jsonl", "a.png", "b.png"), model=MODEL)
        assert out.status == "submitted", out.line()
        assert sorted(_gets(emu, start)) == sorted(before.values())  # one files.get per cache hit
        second = next(r for r in service.store.read_all() if r["input_file"].endswith("two.jsonl"))
        assert (second["media_uploaded"], second["media_reused"]) == (1, 1)
        after = {Path(e["path"]).name: e["file_name"] for e in service.media_cache.entries().values()}
        assert after["b.png"] == before["b.png"] and after["a.png"] not in (before["a.png"], None)
        assert sorted(second["media_file_names"]) == sorted(after.values())
        media = [f["name"] for f in emu.files_snapshot() if f["mime_type"] != "jsonl"]
        assert sorted(media) == sorted(after.values())  # only a.png was uploaded again


def test_many_cache_hits_are_checked_with_one_listing(clip: Path) -> None:
    with Emulator(api_key=KEY) as emu:
        client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.02, retry_max_delay=0.05)
        cache = MediaCache(clip / "cache" / "media-uris.json")
        files = [clip / "in" / "a.png", clip / "in" / "b.png"]
        first = MediaUploader(client, cache).prepare(files)
        client.delete_file(first.by_path[str(files[0])].file_name)
        start = len(emu.request_log)
        plan = MediaUploader(client, cache, list_from=1).prepare(files)
        assert (plan.uploaded, plan.reused) == (1, 1)
        assert _gets(emu, start) == [] and ("GET", "/v1/files") in emu.request_log[start:]


def test_a_failing_check_fails_the_submission_without_uploading_again(clip: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=5) as emu:
        service = make_service(emu, clip)
        assert service.submit(_input(clip, "one.jsonl", "a.png"), model=MODEL).status == "submitted"
        [entry] = service.media_cache.entries().values()
        emu.fail_next("GET", rf"/files/{entry['file_name'].removeprefix('files/')}$", 503, times=20,
                      message="backend unavailable")
        start = len(emu.request_log)
        out = service.submit(_input(clip, "two.jsonl", "a.png"), model=MODEL)
        assert out.status == "error"
        assert out.message.startswith(f"referenced file {clip / 'in' / 'a.png'}: cannot check its upload "
                                      f"{entry['file_name']}: ") and "503" in out.message
        assert not any(p.startswith("/upload/") for _m, p in emu.request_log[start:])
        assert len(emu.batches_snapshot()) == 1 and list(service.media_cache.entries().values()) == [entry]


def test_cancel_while_waiting_leaves_no_job(clip: Path) -> None:
    src = _input(clip, "c.jsonl", "clip.mp4")
    cancel = threading.Event()
    with Emulator(api_key=KEY, processing_seconds={"video/": 3600}) as emu:
        service = make_service(emu, clip)

        def cancel_once_waiting() -> None:  # the first files.get is the wait's first look
            for _ in range(1000):
                if _gets(emu):
                    cancel.set()
                    return
                threading.Event().wait(0.01)

        watcher = threading.Thread(target=cancel_once_waiting, daemon=True)
        watcher.start()
        out = service.submit(src, model=MODEL, cancel=cancel)
        watcher.join()
        assert out.status == "cancelled", out.line()
        assert emu.batches_snapshot() == [] and service.store.read_all() == []
        assert [plain_display_name(f["display_name"]) for f in emu.files_snapshot()] == ["clip.mp4"]  # no JSONL was uploaded
        assert len(service.media_cache.entries()) == 1  # kept: the next submission waits for it again
