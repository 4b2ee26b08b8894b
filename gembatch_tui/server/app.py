"""Provides the Starlette application: the routes, the bearer-token check, the access log and the error shape.

Every core call runs in a worker thread (anyio.to_thread), so a slow upload to the Batch API or a poll pass never
blocks the event loop; results are streamed from the verified file in chunks (FileResponse), never read whole.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from anyio import to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from gembatch_tui.core.api import pricing
from gembatch_tui.core.config import ConfigFileError
from gembatch_tui.core.errors import ServiceError, redact
from gembatch_tui.core.text import terminal_safe
from gembatch_tui.server import jobs, prepare, upload
from gembatch_tui.server.errors import ApiError, SafeJSONResponse, error_response
from gembatch_tui.server.openapi import OPEN_PATHS, Endpoint, docs_page, openapi_document
from gembatch_tui.server.token import bearer_matches

TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


def log(line: str) -> None:
    """One line on stderr, key-free and terminal-safe (paths and messages come from clients and the server)."""
    print(terminal_safe(redact(line)), file=sys.stderr, flush=True)


class ChunkedFileResponse(FileResponse):
    """A results file in 1 MiB reads (Starlette's default is 64 KiB): fewer thread hops, the same small memory."""

    chunk_size = 1024 * 1024


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in TRUE


def _cost(text: str | None) -> float | None:
    """`max_cost` as `submit --max-cost` takes it: a non-negative number of USD."""
    if text is None or text == "":
        return None
    try:
        return pricing.parse_usd(text)
    except ValueError as exc:
        raise ApiError(400, f"max_cost: {exc}") from None


def as_profile(ctx: jobs.Context, name: str | None) -> jobs.Context:
    """The context whose service submits with config profile `name`'s key (`--profile NAME` for one request): 400
    with the CLI's message for an unknown profile or one whose key is not set. Called in the worker thread."""
    if not name:
        return ctx
    if ctx.runtime is None:
        raise ApiError(400, f"profile {name!r}: this service was started without profiles")
    try:
        service = ctx.runtime.submitting_service(name)
    except (ConfigFileError, ServiceError) as exc:
        raise ApiError(400, str(exc)) from None
    return ctx if service is ctx.service else dataclasses.replace(ctx, service=service)


def _job(request: Request) -> str:
    return str(request.path_params["job"])


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await to_thread.run_sync(partial(fn, *args, **kwargs))


async def _json_in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Response:
    """`fn`'s answer as JSON, rendered in the worker thread too: a store of 100,000 records is a few MB of JSON."""
    return await _in_thread(lambda: SafeJSONResponse(fn(*args, **kwargs)))


def build_endpoints(ctx: jobs.Context) -> list[Endpoint]:
    """The API, one entry per route: the handler and what the OpenAPI document says about it."""

    async def list_jobs(request: Request) -> Response:
        return await _json_in_thread(jobs.list_jobs, ctx, request.query_params.get("state"), _flag(request, "all"))

    async def with_upload(request: Request, name: str | None,
                          work: Callable[[upload.Upload], Awaitable[tuple[int, Any]]]) -> Response:
        """Receive the body to disk, do `work` with it, and remove the upload again unless a record names it."""
        received = await upload.receive(request.stream(), request.headers, upload.uploads_root(ctx.service.store.path),
                                        ctx.max_upload_bytes, name)
        try:
            code, body = await work(received)
        finally:
            kept = await _in_thread(jobs.referenced, ctx, received.path.parent)
            await _in_thread(received.settle if kept else received.discard)
        return SafeJSONResponse(body, status_code=code)

    async def submit(request: Request) -> Response:
        q = request.query_params
        max_cost = _cost(q.get("max_cost"))
        return await with_upload(request, q.get("filename"), lambda received: _in_thread(
            lambda: jobs.submit(as_profile(ctx, q.get("profile")), received, model=q.get("model") or None,
                                name=q.get("display_name") or None, force=_flag(request, "force"),
                                kind=q.get("kind") or "auto", max_cost=max_cost)))

    async def prepare_route(request: Request) -> Response:
        q = request.query_params
        name = prepare.data_name(q.get("filename"), q.get("format"), request.headers.get("content-type") or "")

        async def work(received: upload.Upload) -> tuple[int, Any]:
            options = {**{k: v for k, v in received.fields.items() if k in prepare.OPTIONS},
                       **{k: q[k] for k in prepare.OPTIONS if k in q}}  # the query wins over a form field
            profile = q.get("profile") or received.fields.get("profile")
            return await _in_thread(lambda: prepare.prepare_and_submit(
                as_profile(ctx, profile), received, options, _cost(options.get("max_cost"))))

        return await with_upload(request, name, work)

    async def status(request: Request) -> Response:
        return await _json_in_thread(jobs.status, ctx, _job(request))

    async def cancel(request: Request) -> Response:
        return await _json_in_thread(jobs.cancel, ctx, _job(request))

    async def delete(request: Request) -> Response:
        return await _json_in_thread(jobs.delete, ctx, _job(request), keep_record=_flag(request, "keep_record"),
                                     force=_flag(request, "force"))

    async def results(request: Request) -> Response:
        path, name = await _in_thread(jobs.results_file, ctx, _job(request))
        if (refused := await _in_thread(_range_refusal, request.headers.get("range"), path)) is not None:
            return refused
        return ChunkedFileResponse(path, media_type="application/jsonl", filename=name)

    async def poll(request: Request) -> Response:
        return await _json_in_thread(jobs.poll, ctx, request.query_params.getlist("job"))

    job = {"name": "job", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "a batch name (batches/ID), its bare id, the id as list shows it or a unique prefix, an "
                          "input path, a split input's group id or its original path (URL-encode slashes as %2F "
                          "or write them as they are)"}
    return [
        Endpoint("GET", "/jobs", list_jobs, "List the jobs in the store (like `list --json`)", [
            _query("state", "only these states, comma-separated: pending running succeeded failed cancelled "
                            "expired active queued submitting submit_failed missing"),
            _query("all", "true: archived jobs too", "boolean")]),
        Endpoint("POST", "/jobs", submit, "Submit a JSONL file (like `submit`)", [
            _query("model", "model (default: the config's, the embedding model for embedding requests)"),
            _query("display_name", "display name (default: the file name)"),
            _query("force", "true: submit again even if this content was already submitted", "boolean"),
            _query("kind", "auto (default), generate or embed"),
            _query("filename", "the file's name for a raw upload (default upload.jsonl)"),
            _query("max_cost", "refuse the file when its high cost estimate is over this many USD (default: the "
                               "config's max_cost_usd)", "number"),
            _query("profile", "submit with this config profile's key (like `--profile NAME`; default: the one the "
                              "service was started with)")],
            body=True, statuses={"201": "submitted", "202": "queued (enqueued-token budget)",
                                 "200": "skipped: already submitted", "400": "the file has errors; nothing submitted",
                                 "413": "the upload is over the limit; nothing kept"}),
        Endpoint("POST", "/prepare", prepare_route,
                 "Make a batch input from a table and a {column} template, then submit it (like `prepare` + `submit`)",
                 [_query("template", "the prompt with {column} placeholders (or a form field)"),
                  _query("format", "csv, tsv, json (a list of objects) or jsonl (default: the file name's extension, "
                                   "else the Content-Type)"),
                  _query("id_column", "the column whose values key the requests (default: the row number)"),
                  _query("system", "a system instruction for every request"),
                  _query("temperature", "generationConfig.temperature", "number"),
                  _query("max_output_tokens", "generationConfig.maxOutputTokens", "integer"),
                  _query("generation_config", "generationConfig as JSON"),
                  _query("model", "model (default: the config's)"),
                  _query("display_name", "display name (default: the batch file's name)"),
                  _query("force", "true: submit again even if this content was already submitted", "boolean"),
                  _query("max_cost", "refuse when the high cost estimate is over this many USD", "number"),
                  _query("check", "true: prepare and estimate only; nothing kept or submitted", "boolean"),
                  _query("profile", "submit with this config profile's key (like `--profile NAME`)"),
                  _query("filename", "the table's name for a raw upload (its extension gives the format)")],
                 body=True, statuses={"201": "prepared and submitted", "202": "prepared and queued",
                                      "200": "checked, or skipped: already submitted",
                                      "400": "bad data or template (every DATA:LINE problem); nothing kept",
                                      "413": "the upload is over the limit; nothing kept"}),
        Endpoint("POST", "/poll", poll, "Poll once and download new results (like `poll --once [JOB...]`)", [
            _query("job", "only this job (repeatable); without it every unfinished job")]),
        Endpoint("GET", "/jobs/{job:path}/results", results, "Stream the job's verified results file (JSONL)", [job],
                 binary=True, statuses={"409": "no verified results yet (or they changed since)"}),
        Endpoint("POST", "/jobs/{job:path}/cancel", cancel, "Cancel a job or every part of a split input", [job],
                 statuses={"409": "already final"}),
        Endpoint("GET", "/jobs/{job:path}", status, "The store record(s) of a job or split input", [job]),
        Endpoint("DELETE", "/jobs/{job:path}", delete,
                 "Delete the remote job and files, and the record when nothing remote is left to protect", [
                     job, _query("keep_record", "true: keep the local record", "boolean"),
                     _query("force", "true: also delete results that are not downloaded yet", "boolean")],
                 statuses={"409": "refused: running, or its results are not safely on disk"}),
    ]


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": description}


def _range_refusal(header: str | None, path: Any) -> Response | None:
    """A Range header Starlette would refuse, refused here in this service's error shape (Starlette answers plain
    text, or an empty 416); None when there is none or it is good."""
    from starlette import responses

    parse = getattr(ChunkedFileResponse, "_parse_range_header", None)
    if not header or parse is None:
        return None
    size = path.stat().st_size
    try:
        parse(header, size)
    except responses.MalformedRangeHeader as exc:
        return error_response(400, f"Range header {header!r}: {str(exc.content).removeprefix('Range header: ')}")
    except responses.RangeNotSatisfiable:
        return error_response(416, f"Range header {header!r}: the results file has {size:,} bytes",
                              headers={"Content-Range": f"bytes */{size}"})
    return None


def _checked_query(request: Request, endpoint: Endpoint) -> None:
    """400 for a query parameter the route does not take (a typo such as `forse` would be ignored otherwise) and
    for a boolean that is neither true nor false (`keep_record=maybe` must not mean false on a DELETE)."""
    kinds = {p["name"]: p["schema"]["type"] for p in endpoint.parameters if p.get("in") == "query"}
    for name, value in request.query_params.multi_items():
        if name not in kinds:
            taken = ", ".join(kinds) or "none"
            raise ApiError(400, f"unknown query parameter {name!r}; {endpoint.method} {endpoint.openapi_path} "
                                f"takes: {taken}")
        if kinds[name] == "boolean" and value.lower() not in TRUE + FALSE:
            raise ApiError(400, f"{name}: {value!r} is not true or false")


def _guarded(fn: Callable[[Request], Awaitable[Response]],
             endpoint_of: Endpoint | None = None) -> Callable[[Request], Awaitable[Response]]:
    """Every refusal as `{"error": {"message": ...}}`; an unexpected failure is a 500 with one line, never a
    traceback in the response or the log."""

    async def endpoint(request: Request) -> Response:
        try:
            if endpoint_of is not None:
                _checked_query(request, endpoint_of)
            return await fn(request)
        except ApiError as exc:
            return error_response(exc.status, exc.message, **exc.details)
        except Exception as exc:  # noqa: BLE001 - the one place an unexpected failure becomes an answer
            log(f"error: {request.method} {request.url.path}: {type(exc).__name__}: {exc}")
            return error_response(500, f"internal error: {type(exc).__name__}: {exc}")

    return endpoint


class BearerAuth:
    """Every route but the OpenAPI document and its page needs `Authorization: Bearer <token>`: 401 otherwise."""

    def __init__(self, app: Any, token: str, token_file: str) -> None:
        self.app, self.token, self.token_file = app, token, token_file

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
            if not bearer_matches(header, self.token):
                why = "wrong bearer token" if header else "missing bearer token"
                response = error_response(
                    401, f"{why}: send `Authorization: Bearer <token>`; the token is in {self.token_file}",
                    headers={"WWW-Authenticate": 'Bearer realm="gembatch-tui"'})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AccessLog:
    """`CLIENT METHOD PATH STATUS` per request on stderr: no query string, no headers (the token never shows)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen: dict[str, int] = {}

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client") or ("-", 0)
            log(f"{client[0]} {scope['method']} {scope['path']} {seen.get('status', '-')}")


def make_app(ctx: jobs.Context, token: str, token_file: str, lifespan: Any = None) -> Starlette:
    endpoints = build_endpoints(ctx)
    document = openapi_document(endpoints)

    async def openapi(_request: Request) -> Response:
        return SafeJSONResponse(document)

    async def docs(_request: Request) -> Response:
        return HTMLResponse(docs_page(document))

    routes = [Route(e.path, _guarded(e.handler, e), methods=[e.method]) for e in endpoints]
    routes += [Route("/openapi.json", openapi, methods=["GET"]), Route("/docs", docs, methods=["GET"])]

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.add_middleware(BearerAuth, token=token, token_file=token_file)  # type: ignore[arg-type]
    app.add_middleware(AccessLog)  # type: ignore[arg-type]
    return app


__all__ = ["make_app"]
