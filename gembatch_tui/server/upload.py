"""Provides the upload of an input file to the service: the request body (raw, or the `file` part of a
multipart form) streamed to `<store dir>/uploads/<random>/<name>` in chunks, with a size limit.

Why streamed: an input may be gigabytes; at most one chunk buffer (1 MiB) is held in memory, and a body over the
limit (by its Content-Length, or as it arrives) is refused with 413 and leaves no file behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from anyio import to_thread

from gembatch_tui.core import paths
from gembatch_tui.server.errors import ApiError

FLUSH_BYTES = 1024 * 1024
FILE_FIELD = "file"
IN_FLIGHT = ".in-flight"
"""In an upload folder until its request is done: one still holding it after the service stopped is a leftover."""


@dataclass
class Upload:
    """An input file received in full: where it is on disk, and the name the client gave it."""

    path: Path
    name: str
    fields: dict[str, str] = field(default_factory=dict)  # a form's other (text) fields, each under 64 KiB

    def discard(self) -> None:
        """Remove the upload's own folder (nothing references it: refused, or skipped as already submitted)."""
        shutil.rmtree(self.path.parent, ignore_errors=True)

    def settle(self) -> None:
        """A record names the upload now: the folder is the job's (its results go there), never swept."""
        (self.path.parent / IN_FLIGHT).unlink(missing_ok=True)


def uploads_root(store_path: Path) -> Path:
    """Where uploads live: `uploads/` beside the store (the private data dir by default), like split parts."""
    return Path(store_path).parent / "uploads"


async def receive(body: AsyncIterator[bytes], headers: Any, root: Path, limit: int, name: str | None) -> Upload:
    """Stream the request body to a new file under `root`; raises ApiError (400, 413) and then leaves nothing."""
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ApiError(413, f"the upload is {int(length)} bytes; this service takes at most {limit} bytes")
    content_type = headers.get("content-type") or ""
    multipart = content_type.lower().startswith("multipart/form-data")
    folder = await to_thread.run_sync(_new_folder, root)
    sink = _Sink(folder, limit)
    try:
        if multipart:
            await _receive_multipart(body, content_type, sink)
        else:
            sink.open(name or "upload.jsonl")
            async for chunk in body:
                sink.feed(chunk)
                await sink.flush_if_full()
        await sink.close()
        if sink.path is None:
            raise ApiError(400, f"no file in the form: send the JSONL as the form field {FILE_FIELD!r}")
        return Upload(sink.path, sink.name, dict(sink.fields))
    except BaseException:
        await to_thread.run_sync(sink.abandon)
        shutil.rmtree(folder, ignore_errors=True)
        raise


def sweep(root: Path, keep: set[str], older_than_s: float = 3600.0) -> list[Path]:
    """Remove upload folders still marked in flight that no record names (`keep`: folder paths) and that are older
    than an hour: what a service stopped in the middle of a request left behind (a younger one may be another
    service's upload in flight). A folder a job owned is never marked, so its input and results stay."""
    import time

    removed = []
    try:
        folders = [f for f in root.iterdir() if f.is_dir() and not f.is_symlink()]
    except OSError:
        return removed
    for folder in folders:
        try:
            young = time.time() - folder.stat().st_mtime < older_than_s
        except OSError:
            continue
        if (folder / IN_FLIGHT).exists() and str(folder) not in keep and not young:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _new_folder(root: Path) -> Path:
    paths.ensure_private_dir(root)
    folder = root / secrets.token_hex(8)
    folder.mkdir(mode=0o700)
    (folder / IN_FLIGHT).touch(mode=0o600)
    return folder


@dataclass
class _Sink:
    """The file being written: bytes gathered up to FLUSH_BYTES, then written from a worker thread."""

    folder: Path
    limit: int
    path: Path | None = None
    name: str = ""
    received: int = 0
    pending: bytearray = field(default_factory=bytearray)
    fields: dict[str, str] = field(default_factory=dict)
    _fh: IO[bytes] | None = None

    def open(self, client_name: str) -> None:
        if self.path is not None:
            raise ApiError(400, f"more than one file in the form: send one JSONL as the field {FILE_FIELD!r}")
        base = os.path.basename(client_name.replace("\\", "/"))
        self.name = paths.safe_component(base, "upload.jsonl")
        self.path = self.folder / self.name
        self._fh = open(self.path, "xb")  # noqa: SIM115 - closed in close() / abandon()

    def feed(self, data: bytes) -> None:
        if self._fh is None:
            return
        self.received += len(data)
        if self.received > self.limit:
            raise ApiError(413, f"the upload is over {self.limit} bytes, the most this service takes")
        self.pending += data

    async def flush_if_full(self) -> None:
        if len(self.pending) >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if self._fh is not None and self.pending:
            data, self.pending = bytes(self.pending), bytearray()
            await to_thread.run_sync(self._fh.write, data)

    async def close(self) -> None:
        await self._flush()
        if self._fh is not None:
            fh, self._fh = self._fh, None
            await to_thread.run_sync(fh.close)

    def abandon(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


async def _receive_multipart(body: AsyncIterator[bytes], content_type: str, sink: _Sink) -> None:
    """The `file` part of a multipart form, into `sink`; other fields (text, each under 64 KiB) into `sink.fields`."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "multipart upload without a boundary in its Content-Type")
    state: dict[str, Any] = {"header": b"", "value": b"", "disposition": b"", "is_file": False, "name": None,
                             "data": bytearray()}

    def on_part_begin() -> None:
        state.update(disposition=b"", is_file=False, name=None, data=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        if state["header"].lower() == b"content-disposition":
            state["disposition"] = state["value"]
        state["header"] = state["value"] = b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(state["disposition"])
        if options.get(b"name") == FILE_FIELD.encode() and b"filename" in options:
            state["is_file"] = True
            sink.open(options[b"filename"].decode("utf-8", "replace") or "upload.jsonl")
        elif b"filename" not in options and options.get(b"name"):
            state["name"] = options[b"name"].decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["is_file"]:
            sink.feed(data[start:end])
        elif state["name"] is not None:
            state["data"] += data[start:end]
            if len(state["data"]) > 64 * 1024:
                raise ApiError(400, f"the form field {state['name']!r} is over 64 KiB")

    def on_part_end() -> None:
        if state["name"] is not None and len(sink.fields) < 32:
            sink.fields[state["name"]] = state["data"].decode("utf-8", "replace")

    callbacks = {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    from python_multipart.exceptions import MultipartParseError

    try:
        async for chunk in body:
            parser.write(chunk)
            await sink.flush_if_full()
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(400, f"not a valid multipart form: {exc}") from None


__all__ = ["FILE_FIELD", "Upload", "receive", "sweep", "uploads_root"]
