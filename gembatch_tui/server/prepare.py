"""Provides `POST /prepare`: a table (CSV, TSV, a JSON list of objects, JSONL) and a `{column}` prompt template
made into a batch input by the core's `prepare`, then submitted as `POST /jobs` would submit it.

Why in the service: a client with rows rather than requests needs no local copy of gembatch-tui; the batch file
and its key map stay beside the upload, so `export` joins the answers back to the source rows as it does for the
command line. With `check=true` nothing is kept or submitted: the answer is the row count and the cost estimate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gembatch_tui.server.errors import ApiError
from gembatch_tui.server.jobs import Context, submit
from gembatch_tui.server.upload import Upload

FORMATS = ("csv", "tsv", "json", "jsonl")
_BY_CONTENT_TYPE = {"application/json": "json", "text/csv": "csv", "text/tab-separated-values": "tsv",
                    "application/jsonl": "jsonl", "application/x-ndjson": "jsonl"}
OPTIONS = ("template", "format", "id_column", "system", "temperature", "max_output_tokens", "generation_config",
           "model", "display_name", "force", "max_cost", "check", "kind")
"""What a request may set, as query parameters or (a multipart upload) as form fields."""


def data_name(filename: str | None, fmt: str | None, content_type: str) -> str:
    """The name the table is kept under: the client's, else `data.<format>` (from `format` or the Content-Type)."""
    if filename:
        return filename
    ctype = content_type.split(";")[0].strip().lower()
    return f"data.{fmt or _BY_CONTENT_TYPE.get(ctype, 'csv')}"


def prepare_and_submit(ctx: Context, upload: Upload, options: dict[str, str], max_cost: float | None,
                       ) -> tuple[int, dict[str, Any]]:
    """Prepare the uploaded table (400 with every `DATA:LINE: what`, nothing written), then submit the batch file
    (see jobs.submit) unless `check`; the answer carries what was prepared and the submission's answer."""
    from gembatch_tui.core.prepare import requests, template
    from gembatch_tui.core.prepare.build import PrepareError, PrepareOptions, prepare

    fmt = options.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        raise ApiError(400, f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    text = options.get("template")
    if not text:
        raise ApiError(400, "give the prompt as template (a query parameter or a form field)")
    local = str(upload.path)

    def shown(message: str) -> str:  # the client knows its files by their names, not by where they are kept
        return message.replace(local, upload.name).replace(str(upload.path.parent) + "/", "")

    try:
        tmpl = template.parse(text, "template")
        config = requests.generation_config(options.get("generation_config") or None,
                                            temperature=_number(options, "temperature", float),
                                            max_output_tokens=_number(options, "max_output_tokens", int))
    except (template.TemplateError, requests.ConfigError) as exc:
        raise ApiError(400, str(exc)) from None
    model = options.get("model") or ctx.default_model
    opts = PrepareOptions(data=upload.path, template=tmpl, fmt=fmt, id_column=options.get("id_column") or None,
                          system=options.get("system") or None, config=config, model=model,
                          prices=ctx.prices, assumptions=ctx.assumptions)
    try:
        result = prepare(opts)
    except PrepareError as exc:
        lines = [shown(line) for line in exc.lines()]
        raise ApiError(400, lines[0] if lines else "prepare failed", problems=lines[:100], problem_count=exc.total)
    except OSError as exc:
        raise ApiError(500, shown(f"{upload.name}: cannot write the batch file: {exc.strerror or exc}")) from None
    prepared = {"rows": result.rows, "media_refs": result.media_refs, "batch": result.batch.name,
                "map": result.map.name, "estimate": f"{result.estimate.figures()}; {result.estimate.cost_text()}"}
    if options.get("check", "").lower() in ("1", "true", "yes", "on"):
        return 200, {"status": "checked", "prepared": prepared}
    batch = Upload(Path(result.batch), result.batch.name)
    code, body = submit(ctx, batch, model=options.get("model") or None, name=options.get("display_name") or None,
                        force=options.get("force", "").lower() in ("1", "true", "yes", "on"),
                        kind=options.get("kind") or "auto", max_cost=max_cost)
    return code, {**body, "prepared": prepared}


def _number(options: dict[str, str], name: str, kind: type) -> Any:
    text = options.get(name)
    if text in (None, ""):
        return None
    try:
        return kind(text)
    except ValueError:
        raise ApiError(400, f"{name}: not a {'whole ' if kind is int else ''}number: {text!r}") from None


__all__ = ["OPTIONS", "data_name", "prepare_and_submit"]
