"""`[[FILE:path]]` media references: validation, one upload per distinct file, the cache, and split inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gembatch_tui.core.submit import media
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.media_cache import MediaCache, MediaFile, Uploaded
from gembatch_tui.core.submit.validate import validate_file
from gembatch_tui.core.api.upload_tokens import plain_display_name
from tests.split.support import KEY, MODEL, keys_of, make_service, poll_until_idle, write_lines


def _req(key: str, *parts: object, **extra: object) -> dict:
    return {"key": key, "request": {"contents": [{"role": "user", "parts": list(parts)}], **extra}}


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """in/ with img/a.png, img/b.png, and a photo in in/elsewhere/ (named by absolute path; media outside the input's
    directory needs --allow-media-outside, see tests/trust_cli)."""
    (tmp_path / "in" / "img").mkdir(parents=True)
    (tmp_path / "in" / "img" / "a.png").write_bytes(b"\x89PNG a" * 100)
    (tmp_path / "in" / "img" / "b.png").write_bytes(b"\x89PNG b" * 50)
    (tmp_path / "in" / "elsewhere").mkdir()
    (tmp_path / "in" / "elsewhere" / "photo.jpg").write_bytes(b"\xff\xd8 jpeg" * 30)
    return tmp_path


def _album_input(album: Path, name: str = "pics.jsonl", salt: str = "") -> Path:
    photo = album / "in" / "elsewhere" / "photo.jpg"
    return write_lines(album / "in" / name, [
        _req("k1", {"text": "[[FILE:img/a.png]]"}, {"text": f"Describe this image.{salt}"}),
        _req("k2", {"text": f"Compare [[FILE:img/a.png]] with [[FILE: img/b.png ]] please{salt}"}),
        _req("k3", {"text": f"[[FILE:{photo}]]\n[[FILE:img/b.png]]"},
             systemInstruction={"parts": [{"text": "Be brief."}]}),
        _req("k4", {"text": f"No media here{salt}"}),
    ])


def test_markers_are_checked_with_file_and_line(album: Path) -> None:
    (album / "in" / "img" / "dir.png").mkdir()
    src = write_lines(album / "in" / "bad.jsonl", [
        _req("ok", {"text": "[[FILE:img/a.png]]"}),
        _req("missing", {"text": "see [[FILE:img/missing.png]]"}),
        _req("dir", {"text": "[[FILE:img/dir.png]] and [[FILE:]]"}),
    ])
    report = validate_file(src)
    assert not report.ok and report.problem_count == 3
    assert report.messages() == [
        f"{src}:2: referenced file 'img/missing.png' not found",
        f"{src}:3: referenced file 'img/dir.png' is a directory",
        f"{src}:3: empty [[FILE:]] reference",
    ]
    assert report.media_refs == 4 and report.media_files == 1 and report.needs_normalising


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_media_is_a_problem(album: Path) -> None:
    secret = album / "in" / "img" / "secret.png"
    secret.write_bytes(b"x")
    secret.chmod(0)
    src = write_lines(album / "in" / "s.jsonl", [_req("k", {"text": "[[FILE:img/secret.png]]"})])
    assert "referenced file 'img/secret.png' is not readable" in validate_file(src).messages()[0]


def test_cli_refuses_missing_media(album: Path) -> None:
    from tests.cli.conftest import Cli

    src = write_lines(album / "in" / "gone.jsonl", [_req("k", {"text": "[[FILE:nope.png]]"})])
    out = Cli(album / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:9"})(
        "submit", str(src))
    assert out.returncode == 2 and f"{src}:1: referenced file 'nope.png' not found" in out.stderr


def test_each_media_file_uploaded_once_then_cached(album: Path) -> None:
    src = _album_input(album)
    original = src.read_bytes()
    ticks: list[tuple[int, int]] = []
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, album)
        out = service.submit(src, model=MODEL, progress=lambda d, t: ticks.append((d, t)))
        assert out.status == "submitted", out.line()
        media_files = [f for f in emu.files_snapshot() if f["mime_type"] != "jsonl"]
        assert sorted((plain_display_name(f["display_name"]), f["mime_type"]) for f in media_files) == [
            ("a.png", "image/png"), ("b.png", "image/png"), ("photo.jpg", "image/jpeg")]
        [rec] = service.store.read_all()
        assert rec["media_uploaded"] == 3 and rec["media_reused"] == 0 and rec["media_refs"] == 5
        sent = [json.loads(line) for line in emu.file_bytes(rec["uploaded_file_name"]).splitlines()]
        uri = {Path(e["path"]).name: e["uri"] for e in service.media_cache.entries().values()}
        assert sent[0]["request"]["contents"][0]["parts"] == [
            {"fileData": {"fileUri": uri["a.png"], "mimeType": "image/png"}}, {"text": "Describe this image."}]
        assert sent[1]["request"]["contents"][0]["parts"] == [
            {"text": "Compare "}, {"fileData": {"fileUri": uri["a.png"], "mimeType": "image/png"}},
            {"text": " with "}, {"fileData": {"fileUri": uri["b.png"], "mimeType": "image/png"}}, {"text": " please"}]
        assert [p["fileData"]["fileUri"] for p in sent[2]["request"]["contents"][0]["parts"]] == [
            uri["photo.jpg"], uri["b.png"]]
        assert sent[2]["request"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        assert sent[3]["request"]["contents"][0]["parts"] == [{"text": "No media here"}]
        assert src.read_bytes() == original  # only the uploaded copy changes
        # Progress counts media and JSONL bytes, only forward, and ends at its total.
        media_bytes = sum(f["size_bytes"] for f in media_files)
        jsonl = next(f for f in emu.files_snapshot() if f["name"] == rec["uploaded_file_name"])
        assert [d for d, _ in ticks] == sorted(d for d, _ in ticks)
        assert ticks[-1] == (media_bytes + jsonl["size_bytes"],) * 2

        again = service.submit(_album_input(album, "again.jsonl", salt="!"), model=MODEL)
        assert again.status == "submitted"
        assert len([f for f in emu.files_snapshot() if f["mime_type"] != "jsonl"]) == 3  # nothing new
        second = next(r for r in service.store.read_all() if r["input_file"].endswith("again.jsonl"))
        assert second["media_uploaded"] == 0 and second["media_reused"] == 3
        poll_until_idle(service)
        assert emu.server_errors == []
    assert all(r["results_verified"] and r["results_check"]["ok"] == 4 for r in service.store.read_all())
    cache_file = album / "cache" / "media-uris.json"
    assert cache_file.is_file() and len(json.loads(cache_file.read_text())["entries"]) == 3


def test_changed_media_is_uploaded_again(album: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=5) as emu:
        service = make_service(emu, album)
        service.submit(_album_input(album), model=MODEL)
        (album / "in" / "img" / "a.png").write_bytes(b"\x89PNG changed")
        service.submit(_album_input(album, "b.jsonl", salt="?"), model=MODEL)
        second = next(r for r in service.store.read_all() if r["input_file"].endswith("b.jsonl"))
        assert second["media_uploaded"] == 1 and second["media_reused"] == 2
        assert len([f for f in emu.files_snapshot() if f["mime_type"] != "jsonl"]) == 4


def test_split_input_resolves_media_beside_the_original(album: Path) -> None:
    src = write_lines(album / "in" / "many.jsonl", [
        _req(f"k{i}", {"text": f"[[FILE:img/{'ab'[i % 2]}.png]] number {i}"}) for i in range(6)])
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, album, JobLimits(max_requests_per_job=2))
        out = service.submit(src, model=MODEL)
        assert out.status == "submitted" and out.parts == 3, out.line()
        parts = sorted(service.store.read_all(), key=lambda r: r["group_part"])
        assert all(p["media_base_dir"] == str(src.parent) and p["media_refs"] == 2 for p in parts)
        assert [p["media_uploaded"] for p in parts] == [2, 0, 0]  # the cache serves later parts
        assert len([f for f in emu.files_snapshot() if f["mime_type"] != "jsonl"]) == 2
        poll_until_idle(service)
    assert keys_of(src.parent / "results" / "many.jsonl") == [f"k{i}" for i in range(6)]


def test_cache_reuse_margin_and_pruning(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    cache = MediaCache(tmp_path / "c" / "media-uris.json", clock=lambda: now[0])
    f = tmp_path / "x.png"
    f.write_bytes(b"x")
    item = MediaFile.of(f)
    expiry = "2027-01-15T10:00:00Z"  # what the service says; 1_800_000_000 is 2027-01-15T08:00:00Z
    cache.store({item: Uploaded("files/x", "https://h/v1/files/x", "image/png", expiry)}, "scope")
    assert cache.lookup([item], "scope")[item].uri == "https://h/v1/files/x"
    assert cache.lookup([item], "other-account") == {}
    now[0] += 3600  # 1 h before expiry: no longer offered
    assert cache.lookup([item], "scope") == {}
    now[0] += 2 * 3600  # expired: pruned on the next write
    g = tmp_path / "y.png"
    g.write_bytes(b"y")
    cache.store({MediaFile.of(g): Uploaded("files/y", "https://h/v1/files/y", "image/png", None)}, "scope")
    assert [e["file_name"] for e in cache.entries().values()] == ["files/y"]
    f.write_bytes(b"xx")
    assert MediaFile.of(f).key("s") != item.key("s")  # size, mtime and content are part of the key


def test_substitute_shapes() -> None:
    def find(ref: str) -> tuple[str, str]:
        return f"uri:{ref}", media.guess_mime(ref)

    request = {"contents": "Look at [[FILE:a.pdf]]", "system_instruction": {"parts": ["x [[FILE:b.mp3]]"]}}
    out = media.substitute(request, find)
    assert out["contents"] == [{"parts": [{"text": "Look at "},
                                          {"fileData": {"fileUri": "uri:a.pdf", "mimeType": "application/pdf"}}],
                                "role": "user"}]
    assert out["system_instruction"]["parts"][1] == {"fileData": {"fileUri": "uri:b.mp3", "mimeType": "audio/mpeg"}}
    assert request["contents"] == "Look at [[FILE:a.pdf]]"  # the input object is not changed
    assert media.find_refs({"content": {"parts": [{"text": "[[FILE: c.bin ]]"}]}}) == ["c.bin"]
    assert media.split_text("[[FILE:x.weird-ext]]", find) == [
        {"fileData": {"fileUri": "uri:x.weird-ext", "mimeType": "application/octet-stream"}}]
    assert media.resolve_ref("sub/../a.png", "/base") == Path("/base/a.png")
