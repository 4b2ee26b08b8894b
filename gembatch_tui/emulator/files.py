"""Provides File resources and resumable-upload sessions (metadata only; bytes live in blob files on disk).

An upload session appends each chunk straight to a `.part` file and hashes it on the way, so an upload of any
size costs a few kilobytes of memory. Offsets are checked so a re-sent chunk is a no-op and a gap is refused.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import ApiError, invalid_argument
from .util import rfc3339

FILE_TTL_SECONDS = 48 * 3600
PUBLIC_HOST = "https://generativelanguage.googleapis.com"
FILE_ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
MAX_DISPLAY_NAME = 512
PIECE = 1024 * 1024
UPLOADED = "UPLOADED"
GENERATED = "GENERATED"
PROCESSING, ACTIVE, FAILED = "PROCESSING", "ACTIVE", "FAILED"
RPC_INVALID_ARGUMENT = 3  # a FAILED file's `error` is a google.rpc.Status
DEFAULT_PROCESSING_SECONDS = {"video/": 2.0}


def processing_rules(value: float | dict[str, float] | None) -> dict[str, float]:
    """The `processing_seconds` option as {MIME prefix: seconds}; a bare number applies to `video/`."""
    if value is None:
        return dict(DEFAULT_PROCESSING_SECONDS)
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
    return {"video/": float(value)}


def processing_time(rules: dict[str, float], mime_type: str) -> float:
    """Seconds an upload of `mime_type` stays PROCESSING: the longest matching prefix wins, else 0."""
    matches = [prefix for prefix in rules if mime_type.lower().startswith(prefix.lower())]
    return max(0.0, rules[max(matches, key=len)]) if matches else 0.0


@dataclass
class FileRecord:
    file_id: str
    display_name: str | None
    mime_type: str
    size: int
    sha256_hex: str
    created: float
    source: str
    path: Path
    seq: int
    ready_at: float = 0.0  # when processing ends, by the emulator's clock (video stays PROCESSING until then)
    failure: str | None = None  # set: processing ends FAILED with this message instead of ACTIVE

    @property
    def name(self) -> str:
        return f"files/{self.file_id}"

    def state_at(self, now: float) -> str:
        """PROCESSING until `ready_at`, then FAILED (when `failure` is set) or ACTIVE, as the real Files API."""
        if now < self.ready_at:
            return PROCESSING
        return FAILED if self.failure is not None else ACTIVE

    @property
    def expires(self) -> float:
        return self.created + FILE_TTL_SECONDS

    def to_json(self, api_version: str, download_base: str | None = None, *, now: float) -> dict[str, Any]:
        """`download_base` ("http://host:port/prefix" of the emulator as the client reached it) makes a
        generated file's downloadUri point back at the emulator rather than at Google; `now` decides `state`."""
        out: dict[str, Any] = {"name": self.name}
        if self.display_name:
            out["displayName"] = self.display_name
        out.update(
            {
                "mimeType": self.mime_type,
                "sizeBytes": str(self.size),
                "createTime": rfc3339(self.created, 6),
                "updateTime": rfc3339(self.created, 6),
                "expirationTime": rfc3339(self.expires, 6),
                # Believed to be the base64 of the hex digest (see the wire reference).
                "sha256Hash": base64.b64encode(self.sha256_hex.encode()).decode(),
                "uri": f"{PUBLIC_HOST}/{api_version}/files/{self.file_id}",
            }
        )
        if self.source == GENERATED:
            base = download_base or PUBLIC_HOST
            out["downloadUri"] = f"{base}/download/{api_version}/files/{self.file_id}:download?alt=media"
        state = self.state_at(now)
        out["state"] = state
        if state == FAILED:
            out["error"] = {"code": RPC_INVALID_ARGUMENT, "message": self.failure or "File processing failed."}
        out["source"] = self.source
        return out

    def snapshot(self, now: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "mime_type": self.mime_type,
            "size_bytes": self.size,
            "source": self.source,
            "state": self.state_at(now),
            "ready_time": max(self.created, self.ready_at),
            "create_time": self.created,
            "expiration_time": self.expires,
            "sha256": self.sha256_hex,
        }


@dataclass
class UploadMeta:
    """What the start request declared: parsed from its `{"file": {...}}` body and X-Goog-Upload headers."""

    file_id: str | None
    display_name: str | None
    mime_type: str
    declared_size: int | None

    @classmethod
    def parse(cls, body: dict[str, Any], headers: Any) -> UploadMeta:
        raw_spec = body.get("file")
        spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
        name = spec.get("name")
        file_id = None
        if name:
            file_id = str(name).removeprefix("files/")
            if not FILE_ID_RE.match(file_id):
                raise invalid_argument(
                    f"Invalid file name \"{name}\": the id must be at most 40 characters of [a-z0-9-] "
                    "and must not start or end with a dash."
                )
        display = spec.get("displayName", spec.get("display_name"))
        if display is not None and len(str(display)) > MAX_DISPLAY_NAME:
            raise invalid_argument(f"displayName must be at most {MAX_DISPLAY_NAME} characters.")
        mime = spec.get("mimeType") or spec.get("mime_type") or headers.get("X-Goog-Upload-Header-Content-Type")
        declared = (spec.get("sizeBytes"), spec.get("size_bytes"), headers.get("X-Goog-Upload-Header-Content-Length"))
        sizes = {n for n in map(_as_int, declared) if n is not None}
        if len(sizes) > 1:
            raise invalid_argument("The declared upload size does not match X-Goog-Upload-Header-Content-Length.")
        if sizes and min(sizes) < 0:
            raise invalid_argument("The declared upload size must not be negative.")
        return cls(file_id, str(display) if display is not None else None,
                   str(mime or "application/octet-stream"), sizes.pop() if sizes else None)


def _as_int(v: Any) -> int | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


class Readable(Protocol):
    """What an upload chunk is read from: the request body stream."""

    def read(self, n: int) -> bytes: ...


@dataclass
class UploadSession:
    upload_id: str
    meta: UploadMeta
    part_path: Path
    received: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    status: str = "active"  # active | final | cancelled
    record: FileRecord | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write_chunk(self, stream: Readable, offset: int, length: int | None) -> None:
        """Append the chunk's bytes past what was already received; bytes we already hold are read and dropped.

        Caller holds `self.lock`. Raises ApiError on a gap (the session stays usable) or when the upload would
        exceed its declared size (the session is cancelled); the caller drains what is left of the body.
        """
        if offset > self.received:
            raise ApiError(
                400,
                f"Invalid X-Goog-Upload-Offset {offset}: only {self.received} bytes have been received.",
                headers={"X-Goog-Upload-Size-Received": str(self.received)},
            )
        declared = self.meta.declared_size
        if declared is not None and length is not None and offset + length > declared:
            self._overflow(declared)
        skip = self.received - offset
        seen = 0
        with open(self.part_path, "ab") as out:
            while piece := stream.read(PIECE):
                seen += len(piece)
                if declared is not None and offset + seen > declared:
                    self._overflow(declared)
                if skip:
                    drop = min(skip, len(piece))
                    skip -= drop
                    piece = piece[drop:]
                if piece:
                    out.write(piece)
                    self.hasher.update(piece)
                    self.received += len(piece)

    def _overflow(self, declared: int) -> None:
        self.status = "cancelled"
        try:
            self.part_path.unlink()
        except FileNotFoundError:
            pass
        raise ApiError(
            400,
            f"The upload exceeds its declared size of {declared} bytes.",
            headers={"X-Goog-Upload-Status": "final"},
        )
