"""Provides the OpenAPI 3.1 document of the service, made from the same route table the app serves (so it lists
every route), and a small self-contained page that shows it (no script from elsewhere: it works offline).

Why by hand: the routes stream their bodies (uploads and results), which a schema generator built on models
would have to be told about anyway; a table beside each route keeps the document and the routes one list.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
OPEN_PATHS = frozenset({OPENAPI_PATH, DOCS_PATH})
"""The only paths served without the bearer token: they describe the API and hold no data."""

_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "message": {"type": "string"}}, "required": ["message"]}}, "required": ["error"]}


@dataclass
class Endpoint:
    """One route: method, Starlette path, handler, and what the document says about it."""

    method: str
    path: str
    handler: Callable[..., Any]
    summary: str
    parameters: list[dict[str, Any]] = field(default_factory=list)
    body: bool = False  # takes an uploaded JSONL
    binary: bool = False  # answers with a JSONL file rather than JSON
    statuses: dict[str, str] = field(default_factory=dict)

    @property
    def openapi_path(self) -> str:
        """`/jobs/{job:path}` -> `/jobs/{job}`."""
        return re.sub(r"\{(\w+):\w+\}", r"{\1}", self.path)


def openapi_document(endpoints: list[Endpoint]) -> dict[str, Any]:
    from gembatch_tui import __version__

    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        ok = "application/jsonl" if e.binary else "application/json"
        responses: dict[str, Any] = {"200": {"description": "OK", "content": {ok: {"schema": {"type": "string",
                                                                                               "format": "binary"}
                                                                                    if e.binary else {"type": "object"}}}}}
        for code, text in {**e.statuses, "400": e.statuses.get("400", "bad request"),
                           "401": "missing or wrong bearer token", "404": "no such job"}.items():
            if code == "200":
                responses["200"]["description"] = text
                continue
            schema = {"type": "object"} if code in ("201", "202") else {"$ref": "#/components/schemas/Error"}
            responses[code] = {"description": text, "content": {"application/json": {"schema": schema}}}
        operation: dict[str, Any] = {
            "summary": e.summary,
            "operationId": f"{e.method.lower()}_{re.sub(r'[^a-z]+', '_', e.openapi_path.lower()).strip('_')}",
            "parameters": e.parameters,
            "responses": responses,
        }
        if e.body:
            operation["requestBody"] = {"required": True, "content": {
                "application/jsonl": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}}
        paths.setdefault(e.openapi_path, {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "gembatch-tui REST service", "version": __version__,
                 "description": "Submit, watch, fetch, cancel and delete Gemini Batch API jobs of this store. "
                                "Every route needs `Authorization: Bearer <token>` (the token file is printed at "
                                "start). Errors are `{\"error\": {\"message\": ...}}` with the CLI's sentence."},
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


def docs_page(document: dict[str, Any]) -> str:
    """A plain HTML list of the routes with their parameters (the JSON document is at /openapi.json)."""
    rows = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            params = ", ".join(f"{p['name']} ({p['in']})" for p in op.get("parameters", [])) or "-"
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op['summary'])}</td><td>{html.escape(params)}</td></tr>")
    info = document["info"]
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(info['title'])}</title></head>"
            f"<body><h1>{html.escape(info['title'])} {html.escape(info['version'])}</h1>"
            f"<p>{html.escape(info['description'])}</p><p><a href='{OPENAPI_PATH}'>OpenAPI document</a></p>"
            "<table border='1' cellpadding='4'><tr><th>method</th><th>path</th><th>what</th><th>parameters</th></tr>"
            + "".join(rows) + "</table></body></html>")


__all__ = ["DOCS_PATH", "OPENAPI_PATH", "OPEN_PATHS", "Endpoint", "docs_page", "openapi_document"]
