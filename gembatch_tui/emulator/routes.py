"""Provides the URL table and one small function per endpoint (Files API, resumable upload, batches, and the
interactive generateContent).

Paths are matched after any base-URL prefix and under any `v1`, `v1beta` or `v1alpha` version segment, the
way the SDK builds them. Every success is HTTP 200, as the SDK treats anything else as an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .catalog import BATCH_METHODS, KNOWN_MODELS, model_resource
from .errors import ApiError, invalid_argument, model_not_found
from .exchange import Exchange as Handler
from .files import UploadMeta
from .realtime import answer as realtime_answer

API, CHUNK, DOWNLOAD = "api", "chunk", "download"
_PFX = r"(?P<prefix>(?:/[^/]+)*?)"
_V = r"(?P<v>v1(?:alpha|beta)?)"
_ID = r"(?P<id>[^/:]+)"
_MODEL = r"(?P<model>(?:models|tunedModels)/[^/:]+)"


class Match(NamedTuple):
    endpoint: Callable[[Handler, Match], None]
    groups: dict[str, str]

    @property
    def version(self) -> str:
        return self.groups["v"]

    @property
    def prefix(self) -> str:
        return self.groups["prefix"]


def category(match: Match, query: dict[str, str]) -> str:
    """API calls need a key and may get random faults; chunks are authorised by upload_id; downloads are
    never retried by the SDK, so random faults skip them."""
    if match.endpoint is upload:
        return CHUNK if "upload_id" in query else API
    if match.endpoint is download:
        return DOWNLOAD
    return API


# -- Files ----------------------------------------------------------------------------------------
def upload(h: Handler, m: Match) -> None:
    if "upload_id" in h.query:
        _upload_chunk(h, m, h.query["upload_id"])
        return
    protocol = (h.headers.get("X-Goog-Upload-Protocol") or "").lower()
    command = (h.headers.get("X-Goog-Upload-Command") or "").lower()
    if protocol != "resumable" or "start" not in command:
        raise invalid_argument(
            "Only resumable uploads are supported: send X-Goog-Upload-Protocol: resumable "
            "and X-Goog-Upload-Command: start."
        )
    meta = UploadMeta.parse(h.read_json(), h.headers)
    session = h.ctx.state.start_upload(meta)
    if h.ctx.owners is not None:
        h.ctx.owners.start_upload(session.upload_id, h.caller)
    url = f"{h.self_base(m.prefix)}/upload/{m.version}/files?upload_id={session.upload_id}&upload_protocol=resumable"
    h.send_empty(
        {
            "X-Goog-Upload-Status": "active",
            "X-Goog-Upload-URL": url,
            "X-Goog-Upload-Control-URL": url,
            "X-Goog-Upload-Chunk-Granularity": str(8 * 1024 * 1024),
        }
    )


def _upload_chunk(h: Handler, m: Match, upload_id: str) -> None:
    state = h.ctx.state
    session = state.get_upload(upload_id)
    commands = {c.strip() for c in (h.headers.get("X-Goog-Upload-Command") or "").lower().split(",")}
    with session.lock:
        if "query" in commands:
            h.send_empty({"X-Goog-Upload-Status": session.status, "X-Goog-Upload-Size-Received": str(session.received)})
            return
        if session.status == "cancelled":
            raise ApiError(400, "The upload session was cancelled.", headers={"X-Goog-Upload-Status": "cancelled"})
        if "cancel" in commands:
            state.cancel_upload(session)
            h.send_empty({"X-Goog-Upload-Status": "cancelled"})
            return
        if session.status == "final":  # a re-sent last chunk: answer as before
            h.body.drain()
            _send_final(h, m, session.record)
            return
        if "upload" in commands:
            raw_offset = h.headers.get("X-Goog-Upload-Offset")
            try:
                offset = int(raw_offset or "")
            except ValueError:
                raise invalid_argument(f"Invalid or missing X-Goog-Upload-Offset: {raw_offset!r}.") from None
            session.write_chunk(h.body, offset, h.body.length)
        elif "finalize" not in commands:
            raise invalid_argument("X-Goog-Upload-Command must be upload, finalize, query or cancel.")
        if "finalize" in commands:
            _send_final(h, m, state.finish_upload(session))
            return
        h.send_empty({"X-Goog-Upload-Status": "active", "X-Goog-Upload-Size-Received": str(session.received)})


def _send_final(h: Handler, m: Match, record: Any) -> None:
    owners = h.ctx.owners
    if owners is not None:  # the file is the key's that started the upload
        owners.claim(record.name, owners.upload_owner(h.query.get("upload_id", "")) or h.caller)
    body = {"file": record.to_json(m.version, h.self_base(m.prefix), now=h.ctx.state.clock())}
    h.send_json(body, headers={"X-Goog-Upload-Status": "final"})


def _own(h: Handler, name: str) -> None:
    """Another key's batch or file is not there for this key (owners.py)."""
    if h.ctx.owners is not None:
        h.ctx.owners.check(name, h.caller)


def _visible(h: Handler, page: dict[str, Any], field: str) -> dict[str, Any]:
    if h.ctx.owners is not None and field in page:
        page[field] = h.ctx.owners.visible(page[field], h.caller)
    return page


def file_get(h: Handler, m: Match) -> None:
    _own(h, "files/" + m.groups["id"])
    h.send_json(h.ctx.state.get_file(m.groups["id"], m.version, h.self_base(m.prefix)))


def file_list(h: Handler, m: Match) -> None:
    q = h.query
    page = h.ctx.state.list_files(q.get("pageSize"), q.get("pageToken"), m.version, h.self_base(m.prefix))
    h.send_json(_visible(h, page, "files"))


def file_delete(h: Handler, m: Match) -> None:
    _own(h, "files/" + m.groups["id"])
    h.ctx.state.delete_file(m.groups["id"])
    h.send_json({})


def download(h: Handler, m: Match) -> None:
    if h.query.get("alt", "media") != "media":
        raise invalid_argument("Downloads need alt=media.")
    _own(h, "files/" + m.groups["id"])
    record, f = h.ctx.state.open_download(m.groups["id"])
    with f:
        size = os.fstat(f.fileno()).st_size
        h.start_response(200, {}, size, record.mime_type)
        h.wfile.flush()
        h.connection.sendfile(f)  # zero-copy where the OS allows; socket.sendfile falls back to send() itself


# -- Batches --------------------------------------------------------------------------------------
def batch_create(h: Handler, m: Match) -> None:
    method = m.groups["method"]
    kind = BATCH_METHODS[method][0]
    op = h.ctx.jobs.create(kind, m.groups["model"], method, h.read_json(), m.version)
    if h.ctx.owners is not None:
        h.ctx.owners.claim(str(op.get("name") or ""), h.caller)
    h.send_json(op)


def generate_content(h: Handler, m: Match) -> None:
    """The interactive call (realtime.py): one request, one GenerateContentResponse, under the per-minute limit."""
    h.send_json(realtime_answer(h.ctx.realtime, m.groups["model"], m.version, h.read_json()))


def model_get(h: Handler, m: Match) -> None:
    """models.get: the Model of a known id, else 404 (what a client may ask before uploading for a create)."""
    collection, _, model_id = m.groups["model"].partition("/")
    info = KNOWN_MODELS.get(model_id) if collection == "models" else None
    if info is None:
        raise model_not_found(m.groups["model"], m.version, "GetModel")
    h.send_json(model_resource(model_id, info))


def batch_get(h: Handler, m: Match) -> None:
    _own(h, "batches/" + m.groups["id"])
    op = h.ctx.jobs.get(m.groups["id"])
    if h.ctx.owners is not None:
        h.ctx.owners.claim_output(op, h.caller)
    h.send_json(op)


def batch_list(h: Handler, m: Match) -> None:
    page = h.ctx.jobs.list_page(h.query.get("pageSize"), h.query.get("pageToken"))
    if h.ctx.owners is not None:
        for op in page.get("operations", []):
            h.ctx.owners.claim_output(op, h.caller)
    h.send_json(_visible(h, page, "operations"))


def batch_cancel(h: Handler, m: Match) -> None:
    h.body.drain()
    _own(h, "batches/" + m.groups["id"])
    h.ctx.jobs.cancel(m.groups["id"])
    h.send_json({})


def batch_delete(h: Handler, m: Match) -> None:
    _own(h, "batches/" + m.groups["id"])
    h.ctx.jobs.delete(m.groups["id"])
    h.send_json({})


_METHODS = "|".join(BATCH_METHODS)
ROUTES: list[tuple[str, re.Pattern[str], Callable[[Handler, Match], None]]] = [
    ("POST", re.compile(rf"^{_PFX}/upload/{_V}/files$"), upload),
    ("GET", re.compile(rf"^{_PFX}/download/{_V}/files/{_ID}:download$"), download),
    ("GET", re.compile(rf"^{_PFX}/{_V}/files/{_ID}:download$"), download),
    ("GET", re.compile(rf"^{_PFX}/{_V}/files/{_ID}$"), file_get),
    ("DELETE", re.compile(rf"^{_PFX}/{_V}/files/{_ID}$"), file_delete),
    ("GET", re.compile(rf"^{_PFX}/{_V}/files$"), file_list),
    ("POST", re.compile(rf"^{_PFX}/{_V}/{_MODEL}:(?P<method>{_METHODS})$"), batch_create),
    ("POST", re.compile(rf"^{_PFX}/{_V}/{_MODEL}:generateContent$"), generate_content),
    ("GET", re.compile(rf"^{_PFX}/{_V}/{_MODEL}$"), model_get),
    ("GET", re.compile(rf"^{_PFX}/{_V}/batches/{_ID}$"), batch_get),
    ("DELETE", re.compile(rf"^{_PFX}/{_V}/batches/{_ID}$"), batch_delete),
    ("POST", re.compile(rf"^{_PFX}/{_V}/batches/{_ID}:cancel$"), batch_cancel),
    ("GET", re.compile(rf"^{_PFX}/{_V}/batches$"), batch_list),
]


def match(method: str, path: str) -> Match | None:
    for route_method, pattern, endpoint in ROUTES:
        if route_method == method:
            found = pattern.match(path)
            if found:
                return Match(endpoint, {k: v or "" for k, v in found.groupdict().items()})
    return None
