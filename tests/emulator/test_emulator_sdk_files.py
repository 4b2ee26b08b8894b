"""The Files API through the real google-genai SDK: upload (path, stream, 0 B, multi-chunk), get, list, delete."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from google import genai
from google.genai import errors

from gembatch_tui.emulator import Emulator


def test_upload_path_with_jsonl_mime(client: genai.Client, tools) -> None:
    src = tools.EXAMPLES / "basic.jsonl"
    f = client.files.upload(file=src, config={"mime_type": "jsonl", "display_name": "basic input"})
    assert f.name.startswith("files/") and len(f.name) == len("files/") + 12
    assert f.name.removeprefix("files/").isalnum() and f.name.islower()
    assert f.display_name == "basic input"
    assert f.mime_type == "jsonl"
    assert f.size_bytes == src.stat().st_size
    assert f.state.value == "ACTIVE" and f.source.value == "UPLOADED"
    assert f.download_uri is None
    assert f.uri == f"https://generativelanguage.googleapis.com/v1/files/{f.name.removeprefix('files/')}"
    assert (f.expiration_time - f.create_time).total_seconds() == pytest.approx(48 * 3600)
    got = client.files.get(name=f.name)
    assert got.name == f.name and got.size_bytes == f.size_bytes and got.sha256_hash == f.sha256_hash


def test_upload_stream_application_jsonl_on_v1beta(beta_client: genai.Client, emu: Emulator) -> None:
    data = b'{"key":"a","request":{"contents":[{"parts":[{"text":"hi"}]}]}}\n'
    f = beta_client.files.upload(file=io.BytesIO(data), config={"mime_type": "application/jsonl"})
    assert f.mime_type == "application/jsonl" and f.size_bytes == len(data)
    assert f.display_name is None
    assert ("POST", "/upload/v1beta/files") in emu.request_log
    snap = {s["name"]: s for s in emu.files_snapshot()}
    assert snap[f.name]["sha256"] == hashlib.sha256(data).hexdigest()


def test_zero_byte_upload(client: genai.Client, tools) -> None:
    f = tools.upload_bytes(client, b"", display_name="empty")
    assert f.size_bytes == 0
    assert client.files.get(name=f.name).size_bytes == 0


def test_multi_chunk_upload(client: genai.Client, emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    size = 8 * 1024 * 1024 + 4321
    block = os.urandom(64 * 1024)
    with open(path, "wb") as out:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            out.write(piece)
            written += len(piece)
    f = client.files.upload(file=path, config={"mime_type": "application/octet-stream"})
    assert f.size_bytes == size
    chunk_posts = [p for m, p in emu.request_log if m == "POST" and p == "/upload/v1/files"]
    assert len(chunk_posts) == 3  # start + two chunks
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert {s["name"]: s["sha256"] for s in emu.files_snapshot()}[f.name] == digest


def test_custom_file_name_and_conflict(client: genai.Client, tools) -> None:
    f = tools.upload_bytes(client, b"x\n", name="my-file-1")
    assert f.name == "files/my-file-1"
    with pytest.raises(errors.ClientError) as exc:
        tools.upload_bytes(client, b"y\n", name="my-file-1")
    assert exc.value.code == 409


def test_list_pages_and_delete(client: genai.Client, tools) -> None:
    names = [tools.upload_bytes(client, f"{i}\n".encode()).name for i in range(5)]
    pager = client.files.list(config={"page_size": 2})
    assert len(pager.page) == 2
    listed = [f.name for f in pager]
    assert listed == list(reversed(names))  # newest first, every file once
    client.files.delete(name=names[0])
    gone_id = names[0].removeprefix("files/")
    with pytest.raises(errors.ClientError) as exc:  # the real Files API: 403 "... or it may not exist", not 404
        client.files.get(name=names[0])
    assert (exc.value.code, exc.value.status) == (403, "PERMISSION_DENIED")
    assert exc.value.message == f"You do not have permission to access the File {gone_id} or it may not exist."
    assert names[0] not in [f.name for f in client.files.list()]
    with pytest.raises(errors.ClientError) as exc:
        client.files.delete(name=names[0])
    assert (exc.value.code, exc.value.status) == (403, "PERMISSION_DENIED")


def test_list_empty(client: genai.Client) -> None:
    assert list(client.files.list()) == []


def test_uploaded_file_cannot_be_downloaded(client: genai.Client, tools) -> None:
    f = tools.upload_bytes(client, b"abc\n")
    with pytest.raises(ValueError):  # the SDK refuses a File without downloadUri itself
        client.files.download(file=f)
    with pytest.raises(errors.ClientError) as exc:  # by name it asks, and the service says no
        client.files.download(file=f.name)
    assert exc.value.code == 400


def test_files_expire_after_48_hours(clock, tools) -> None:
    with Emulator(clock=clock) as emu:
        client = genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url})
        f = tools.upload_bytes(client, b"abc\n")
        clock.advance(48 * 3600 - 1)
        assert client.files.get(name=f.name).name == f.name
        clock.advance(2)
        with pytest.raises(errors.ClientError) as exc:  # expired: answered as the real service does, 403
            client.files.get(name=f.name)
        assert exc.value.code == 403 and "or it may not exist" in str(exc.value.message)
