"""What the service does while media is PROCESSING: the job's record names the uploads at once (never orphans in
the resources screen), and the wait is as long as the config says. Real SDK over real HTTP."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gembatch_tui.emulator import Emulator
from gembatch_tui.runtime import media_wait_seconds
from tests.split.support import KEY, MODEL, make_service, write_lines


def _video_input(root: Path, name: str) -> Path:
    (root / "in").mkdir(exist_ok=True)
    (root / "in" / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" * 40)
    return write_lines(root / "in" / name, [{"key": "k", "request": {"contents": [
        {"role": "user", "parts": [{"text": f"[[FILE:clip.mp4]] what happens? ({name})"}]}]}}])


def test_uploads_are_linked_to_the_job_while_it_waits_for_them(tmp_path: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=5, processing_seconds={"video/": 0.5}) as emu:
        service = make_service(emu, tmp_path)
        src = _video_input(tmp_path, "v.jsonl")
        seen: list[dict] = []
        worker = threading.Thread(target=lambda: seen.append(service.submit(src, model=MODEL).__dict__))
        worker.start()
        linked_while_waiting = None
        while worker.is_alive():
            [rec] = service.store.read_all() or [{}]
            if rec.get("media_file_names") and not rec.get("uploaded_file_name"):
                linked_while_waiting = rec
            time.sleep(0.05)
        worker.join()
        assert seen[0]["status"] == "submitted"
        assert linked_while_waiting is not None and linked_while_waiting.get("local_state") == "submitting"
        [video] = [f for f in emu.files_snapshot() if f["mime_type"] == "video/mp4"]
        assert linked_while_waiting["media_file_names"] == [video["name"]]


def test_the_wait_ends_when_the_configured_time_is_up(tmp_path: Path) -> None:
    assert media_wait_seconds({"media_wait_seconds": 0.5}) == 0.5
    assert media_wait_seconds({}) == media_wait_seconds({"media_wait_seconds": "soon"}) == 600.0
    assert media_wait_seconds({"media_wait_seconds": -1}) == media_wait_seconds({"media_wait_seconds": True}) == 600.0
    with Emulator(api_key=KEY, job_seconds=5, processing_seconds={"video/": 60}) as emu:
        service = make_service(emu, tmp_path)
        service.media_wait_s = 0.8
        started = time.monotonic()
        out = service.submit(_video_input(tmp_path, "slow.jsonl"), model=MODEL)
        assert out.status == "error" and "still PROCESSING" in out.message and "clip.mp4" in out.message
        assert time.monotonic() - started < 30  # not the default 10 minutes
        assert emu.batches_snapshot() == []
