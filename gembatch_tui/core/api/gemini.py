"""Provides the thin layer over the official google-genai client that the service uses.

Why a wrapper: the SDK drops `batchStats` and a failed job's `error`, so job reads go through the
SDK's own transport (same key, base URL, version and retry options) and are parsed here; uploads
need byte progress, cancellation and bigger chunks, which a file wrapper provides (upload_reader.py).
google.genai is imported on first use, not at start-up (it costs about a second).
"""

from __future__ import annotations

import hashlib
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gembatch_tui.core.errors import CREATE, Cancelled, ServiceError, describe_api_error, register_secret
from gembatch_tui.core.submit.media_cache import Uploaded
from gembatch_tui.core.models import BatchSnapshot, normalise_state
from gembatch_tui.core.api.rest import RestReader, resolve_base_url
from gembatch_tui.core.api.retry_policy import RetryPolicy, outcome_unknown, retryable, status_code
from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.api.download import download_to
from gembatch_tui.core.api.upload_reader import UploadReader

MEDIA_TAG = "mediaupl"  # not hex: never equal to a store's tag (upload_tokens.store_tag)
SMALL_PAGE = 100  # the documented maximum page of files.list, and what every service serves
BIG_PAGE = 1000  # asked for where many items are wanted; a service may serve fewer (AIP-158: it clamps)
JSONL_MIME = "jsonl"  # what Google's batch docs pass; the SDK cannot guess `.jsonl`
Progress = Callable[[int, int], None]


def _stats_from_wire(raw: Any) -> dict[str, int] | None:
    if not isinstance(raw, dict):
        return None
    out: dict[str, int] = {}
    for wire, ours in (
        ("requestCount", "request_count"),
        ("successfulRequestCount", "successful_request_count"),
        ("failedRequestCount", "failed_request_count"),
        ("pendingRequestCount", "pending_request_count"),
    ):
        try:
            out[ours] = int(raw.get(wire) or 0)
        except (TypeError, ValueError):
            out[ours] = 0
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def snapshot_from_operation(op: dict[str, Any]) -> BatchSnapshot:
    """Parse the raw Operation JSON of a batch (what `batches.get` sends before the SDK drops fields).

    Fields of the wrong type are read as absent, never passed on: what the server sends is data."""
    op = _dict(op)
    meta = _dict(op.get("metadata"))
    output = meta.get("output") if isinstance(meta.get("output"), dict) else None
    if output is None and isinstance(op.get("response"), dict):
        output = op["response"]
    dest = _text(output.get("responsesFile")) if isinstance(output, dict) else None
    input_config = _dict(meta.get("inputConfig"))
    error = op.get("error") if isinstance(op.get("error"), dict) else None
    return BatchSnapshot(
        name=_text(op.get("name")) or _text(meta.get("name")) or "",
        state=normalise_state(_text(meta.get("state"))),
        display_name=_text(meta.get("displayName")),
        model=_text(meta.get("model")),
        create_time=_text(meta.get("createTime")),
        update_time=_text(meta.get("updateTime")),
        end_time=_text(meta.get("endTime")),
        dest_file_name=dest,
        stats=_stats_from_wire(meta.get("batchStats")),
        error={"code": error.get("code"), "message": _text(error.get("message"))} if error else None,
        input_file_name=_text(input_config.get("fileName")) or _text(input_config.get("file_name")),
    )


def checked_snapshot(op: dict[str, Any], asked: str) -> BatchSnapshot:
    """The snapshot of `op` if it is an answer about `asked`; a malformed answer is a transient error, so that it
    never touches a record (a record whose batch name was overwritten would never be polled again)."""
    if not isinstance(op, dict) or not op:
        raise ServiceError(f"get {asked}: malformed answer from the service (empty)", code=200, transient=True)
    snap = snapshot_from_operation(op)
    if snap.name != asked:
        got = op.get("name", (op.get("metadata") or {}).get("name") if isinstance(op.get("metadata"), dict) else None)
        raise ServiceError(
            f"get {asked}: malformed answer from the service (it names {got!r}); the job is asked again later",
            code=200,
            transient=True,
        )
    metadata = op.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ServiceError(f"get {asked}: malformed answer from the service (metadata is not an object)",
                           code=200, transient=True)
    return snap


def valid_batch_name(name: Any) -> bool:
    """`batches/ID` with an ID the service could have made: no path separators, no dots-only parts."""
    return isinstance(name, str) and bool(_BATCH_NAME.match(name))


_BATCH_NAME = re.compile(r"^batches/[A-Za-z0-9_-]{1,128}$")


def _file_json(f: Any, mime_type: str) -> dict[str, Any]:
    """The SDK's File as the few camelCase fields we use (the same shape `files.list` items have)."""
    expiry = f.expiration_time.isoformat() if getattr(f, "expiration_time", None) else None
    return {
        "name": str(f.name),
        "uri": str(f.uri or ""),
        "mimeType": str(f.mime_type or mime_type),
        "expirationTime": expiry,
        "state": str(getattr(f.state, "value", f.state) or ""),
    }


class GeminiClient:
    """Every remote call the product makes. Thread-safe: the SDK client is shared between workers."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        api_version: str | None = None,
        retry_attempts: int = 5,
        retry_initial_delay: float = 1.0,
        retry_max_delay: float = 30.0,
        timeout_ms: int | None = 120_000,
        scope: str | None = None,
    ) -> None:
        register_secret(api_key)
        self._scope = scope
        self._api_key = api_key
        self._base_url = base_url
        self._api_version = api_version
        # The SDK itself never retries (no retry_options): it would retry creates too. Idempotent calls are
        # retried by this policy, creates are resolved by looking (see retry_policy).
        self.policy = RetryPolicy(retry_attempts, retry_initial_delay, retry_max_delay)
        self._timeout_ms = timeout_ms
        self._client: Any = None
        self._lock = threading.Lock()
        self._page_cap: dict[str, int] = {}  # per list path: the page size a service that refused a bigger one takes
        self.reader = RestReader(
            api_key,
            base_url=base_url,
            api_version=api_version,
            attempts=retry_attempts,
            initial_delay=retry_initial_delay,
            max_delay=retry_max_delay,
            timeout_s=(timeout_ms or 120_000) / 1000,
        )

    @property
    def sdk(self) -> Any:
        """The google-genai client, created on first use."""
        with self._lock:
            if self._client is None:
                from google import genai

                http_options: dict[str, Any] = {}
                if self._base_url:
                    http_options["base_url"] = self._base_url
                if self._api_version:
                    http_options["api_version"] = self._api_version
                if self._timeout_ms:
                    http_options["timeout"] = self._timeout_ms
                self._client = genai.Client(api_key=self._api_key, http_options=http_options)
            return self._client

    @property
    def scope(self) -> str:
        """Which account uploaded files belong to: a digest of base URL and key (never the key itself), unless
        the caller named it (the demo: its emulator keeps files across runs but gets a new port and key each)."""
        if self._scope:
            return self._scope
        seed = f"{resolve_base_url(self._base_url)}\0{self._api_key}".encode()
        return hashlib.sha256(seed).hexdigest()[:16]

    def _raw(self, method: str, path: str) -> dict[str, Any]:
        """A raw JSON read (the SDK drops batchStats and error); see core.rest for why not the SDK."""
        if method != "get":
            raise ValueError("raw access is for reads only")
        return self.reader.get_json(path)

    # ----------------------------------------------------------------- models
    def model_known(self, model: str) -> bool | None:
        """Whether the service knows `model` (models.get answers it: True; a 404: False), or None when the answer
        settles nothing (a reset, a 5xx, a 403), which the create will meet in turn. One try, no retries: it only
        spares an upload that a create would refuse."""
        try:
            self.sdk.models.get(model=model)
        except Exception as exc:  # noqa: BLE001 - only a 404 means something here
            return False if status_code(exc) == 404 else None
        return True

    # ----------------------------------------------------------------- files
    def upload(
        self,
        path: Path,
        *,
        display_name: str,
        token: str | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> str:
        """Upload `path` as JSONL; returns `files/ID`.

        With a `token` (written to the record before this call) the file's display name carries it, and an upload
        whose outcome is unknown (a 5xx, a reset or a malformed answer after the bytes were sent) is resolved by
        finding the file by its token before anything is sent again: a lost answer never leaves a second file."""
        return self._upload(path, JSONL_MIME, display_name, token, progress, cancel)["name"]

    def upload_media(
        self,
        path: Path,
        mime_type: str,
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Uploaded:
        """Upload a media file referenced by `[[FILE:...]]`; returns its name, URI, expiry and state (a video is
        usually PROCESSING at first: media_remote.wait_active waits for ACTIVE, the SDK does not).

        Its token is this call's own (`mediaupl-...`, never a store's tag: clean-up must not take a file for an
        orphan while the submission that uploaded it is still linking it to its job)."""
        item = self._upload(path, mime_type, path.name, upload_tokens.new_token(None, tag=MEDIA_TAG), progress, cancel)
        return Uploaded(
            item["name"], str(item.get("uri") or ""), str(item.get("mimeType") or mime_type),
            item.get("expirationTime"), str(item.get("state") or ""),
        )

    def _upload(
        self,
        path: Path,
        mime_type: str,
        display_name: str,
        token: str | None,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> dict[str, Any]:
        """One upload, resolved by token when its outcome is unknown; returns the File as JSON (camelCase)."""
        remote_name = upload_tokens.tagged_display_name(display_name, token) if token else display_name[:512]
        attempts = max(1, self.policy.attempts)
        for attempt in range(1, attempts + 1):
            try:
                total = path.stat().st_size  # inside: the file may vanish between validation and upload
                with open(path, "rb") as fh:
                    reader = UploadReader(fh, total, progress, cancel)
                    uploaded = self.sdk.files.upload(
                        file=reader, config={"mime_type": mime_type, "display_name": remote_name}
                    )
                name = getattr(uploaded, "name", None)
                if not isinstance(name, str) or not name.startswith("files/"):
                    raise ValueError(f"malformed answer to the upload (file name {name!r})")
                return _file_json(uploaded, mime_type)
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - mapped to a user message
                error = describe_api_error(exc, f"upload {path.name}")
                if outcome_unknown(exc):
                    if not token:
                        raise error from None
                elif retryable(exc) and attempt < attempts:  # a 429 or a refused connection: nothing was stored
                    self.policy.pause(attempt)
                    continue
                else:
                    raise error from None
            found = self._find_upload_item(token)  # a ServiceError here: unknown outcome, reported by the caller
            if found is not None:
                return found
            if attempt == attempts:
                raise error
            self.policy.pause(attempt)
        raise RuntimeError("unreachable")  # pragma: no cover

    def find_upload(self, token: str) -> str | None:
        """The name of the file uploaded with `token`, if the service has one (its answer may have been lost)."""
        item = self._find_upload_item(token)
        return item["name"] if item is not None else None

    def _find_upload_item(self, token: str) -> dict[str, Any] | None:
        try:
            for item in self.iter_files():
                if upload_tokens.token_of(item.get("displayName")) == token and isinstance(item.get("name"), str):
                    if str(item.get("state") or "") != "FAILED":
                        return item
        except ServiceError as exc:
            raise ServiceError(f"could not look for the upload whose answer was lost: {exc}", code=exc.code,
                               transient=True, unknown_outcome=True) from None
        return None

    def delete_file(self, name: str) -> None:
        try:
            self.policy.call(lambda: self.sdk.files.delete(name=name))
        except Exception as exc:  # noqa: BLE001
            raise describe_api_error(exc, f"delete {name}") from None

    def get_file(self, name: str) -> dict[str, Any]:
        """The raw File JSON (its `state` and `error` included); ServiceError with `.code` 403/404 when gone."""
        try:
            return self._raw("get", name)
        except Exception as exc:  # noqa: BLE001
            raise describe_api_error(exc, f"get {name}") from None

    def download(
        self,
        file_name: str,
        dest: Path,
        *,
        total: int = 0,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        sink: Callable[[bytes], None] | None = None,
        sync: bool = True,
    ) -> int:
        """Stream `file_name` into `dest` (opened fresh); returns bytes written. `sink` gets each chunk written; the
        file is synced to disk unless `sync` is False. The SDK's request and client with a lean body loop
        (core/api/download.py says why and what is kept)."""
        try:
            return download_to(self.sdk, self.policy, file_name, dest, total=total, progress=progress, cancel=cancel,
                               sink=sink, sync=sync)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001
            raise describe_api_error(exc, f"download {file_name}") from None

    def iter_files(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        yield from self._iter_raw("files", "files", page_size)

    # ----------------------------------------------------------------- batches
    def create_batch(self, *, model: str, file_name: str, display_name: str, embeddings: bool = False) -> BatchSnapshot:
        """One `batches.create`, never retried here: it is not idempotent. A ServiceError with
        `unknown_outcome` means the job may exist; BatchService._create looks for it before anything else."""
        try:
            if embeddings:
                # The SDK marks create_embeddings experimental and warns on every call; the product knows.
                warnings.filterwarnings("ignore", message=r"batches\.create_embeddings\(\) is experimental")
                job = self.sdk.batches.create_embeddings(
                    model=model, src={"file_name": file_name}, config={"display_name": display_name}
                )
            else:
                job = self.sdk.batches.create(model=model, src=file_name, config={"display_name": display_name})
        except Exception as exc:  # noqa: BLE001
            error = describe_api_error(exc, CREATE)
            error.unknown_outcome = outcome_unknown(exc)
            raise error from None
        if not valid_batch_name(getattr(job, "name", None)):
            raise ServiceError(
                f"create batch: malformed answer from the service (job name {getattr(job, 'name', None)!r})",
                code=200, transient=True, unknown_outcome=True,
            )
        return BatchSnapshot(
            name=str(job.name),
            state=normalise_state(getattr(job.state, "value", job.state)),
            display_name=_text(job.display_name),
            model=_text(job.model),
            create_time=job.create_time.isoformat() if job.create_time else None,
            update_time=job.update_time.isoformat() if job.update_time else None,
        )

    def get_batch(self, name: str) -> BatchSnapshot:
        try:
            return checked_snapshot(self._raw("get", name), name)
        except Exception as exc:  # noqa: BLE001
            raise describe_api_error(exc, f"get {name}") from None

    def cancel_batch(self, name: str) -> None:
        try:
            self.policy.call(lambda: self.sdk.batches.cancel(name=name))
        except Exception as exc:  # noqa: BLE001
            raise describe_api_error(exc, f"cancel {name}") from None

    def delete_batch(self, name: str) -> None:
        try:
            self.policy.call(lambda: self.sdk.batches.delete(name=name))
        except Exception as exc:  # noqa: BLE001
            raise describe_api_error(exc, f"delete {name}") from None

    def iter_batches(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Raw operations, so that stats and inputConfig (which the SDK drops) are kept. A `page_size` over
        SMALL_PAGE is asked for as such (a service that serves bigger pages saves round trips: a full poll of
        10,000 jobs is 100 sequential pages of 100); one that refuses it with 400 is asked again with
        SMALL_PAGE, and is not asked for a bigger page again by this client."""
        yield from self._iter_raw("batches", "operations", page_size)

    def _iter_raw(self, path: str, key: str, page_size: int) -> Iterator[dict[str, Any]]:
        token = ""
        while True:
            size = min(page_size, self._page_cap.get(path, page_size))
            query = f"{path}?pageSize={size}" + (f"&pageToken={token}" if token else "")
            try:
                page = self._raw("get", query)
            except Exception as exc:  # noqa: BLE001
                err = describe_api_error(exc, f"list {path}")
                if size > SMALL_PAGE and err.code == 400:
                    self._page_cap[path] = SMALL_PAGE  # this service refuses big pages: the same page, smaller
                    continue
                raise err from None
            for item in page.get(key) or []:
                if isinstance(item, dict):
                    yield item
            token = str(page.get("nextPageToken") or "")
            if not token:
                return
