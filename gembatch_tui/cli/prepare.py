"""Provides `gembatch-tui prepare DATA`: a batch input file made from a table and a prompt template.

DATA is a CSV, TSV, JSON (a list of objects) or JSONL file; each record becomes one request whose prompt is the
template with `{column}` filled in. Writes `<name>.batch.jsonl` beside DATA (or `-o FILE`) and its key map
`<name>.batch.map.jsonl` (core/prepare/mapfile.py), both complete or not at all; prints what it wrote and the
cost estimate, then the command to submit it. Every problem is a line on stderr naming the data file and line
(`data.csv:12: row 11 has no column 'title'`), and then nothing is written. No key or store is needed.
Exit codes: 0 written, 2 bad data, template, option or an estimate over `--max-cost` (nothing written).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_USAGE, UsageError, err, out
from gembatch_tui.core.counts import counted

HELP = "make a batch input file from a CSV, TSV, JSON or JSONL table and a prompt template"


def add_parser(
    subparsers: Any, global_options: Callable[[argparse.ArgumentParser], None], cost_type: Callable[[str], float]
) -> None:
    """Add `prepare` to the CLI's subparsers; `global_options(p)` adds --store and the rest."""
    p = subparsers.add_parser("prepare", help=HELP, description=HELP)
    global_options(p)
    p.add_argument("data", metavar="DATA", help="the table: .csv, .tsv, .json (a list of objects) or .jsonl")
    p.add_argument("--format", choices=("csv", "tsv", "json", "jsonl"), default=None,
                   help="the table's format (default: from DATA's extension)")
    p.add_argument("--id-column", metavar="COL", default=None,
                   help="the column whose values key the requests (default: the row number)")
    p.add_argument("--template", metavar="TEXT", default=None,
                   help="the prompt, with {column} placeholders ({{ and }} for literal braces); "
                        "[[FILE:{column}]] attaches the file a column names")
    p.add_argument("--template-file", metavar="FILE", default=None, help="read the template from FILE")
    p.add_argument("--system", metavar="TEXT", default=None, help="a system instruction for every request")
    p.add_argument("--generation-config", metavar="JSON", default=None,
                   help='generationConfig for every request, e.g. \'{"temperature": 0.2}\'')
    p.add_argument("--temperature", type=float, default=None, metavar="T", help="generationConfig.temperature")
    p.add_argument("--max-output-tokens", type=int, default=None, metavar="N",
                   help="generationConfig.maxOutputTokens (also makes the cost estimate's high end exact)")
    p.add_argument("--schema", metavar="FILE", default=None,
                   help="a JSON Schema file: structured JSON answers (responseJsonSchema); export writes its fields "
                        "as columns")
    p.add_argument("-m", "--model", default=None, help="the model the cost is estimated for (default: config's)")
    p.add_argument("--max-cost", type=cost_type, default=None, metavar="USD",
                   help="write nothing if the high cost estimate is over USD (default: config max_cost_usd)")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="the batch file to write (default: <name>.batch.jsonl beside DATA)")
    p.add_argument("--force", action="store_true", help="replace an existing batch file and map")
    p.add_argument("--allow-media-outside", action="store_true",
                   help="let [[FILE:...]] name files outside DATA's folder")


def cmd_prepare(args: argparse.Namespace) -> int:
    from gembatch_tui.cli.common import settings_for
    from gembatch_tui.cli.cost import assumptions_of
    from gembatch_tui.core.api import pricing
    from gembatch_tui.core.prepare import requests, template
    from gembatch_tui.core.prepare.build import PrepareError, PrepareOptions, prepare
    from gembatch_tui.core.prepare.schema import SchemaError, load_schema
    from gembatch_tui.core.submit.cost_cap import cap_from

    settings = settings_for(args, warn=True)
    try:
        prices = pricing.load_price_table(settings.config_path)
    except pricing.ConfigError as exc:
        raise UsageError(str(exc)) from None
    text, where = _template_text(args)
    try:
        tmpl = template.parse(text, where)
        schema = load_schema(Path(args.schema).expanduser()) if args.schema else None
        config = requests.generation_config(args.generation_config, temperature=args.temperature,
                                            max_output_tokens=args.max_output_tokens, schema=schema)
    except (template.TemplateError, SchemaError, requests.ConfigError) as exc:
        raise UsageError(str(exc)) from None
    for warning in schema.warnings if schema else []:
        err(warning)
    model = args.model or settings.default_model
    opts = PrepareOptions(
        data=Path(args.data).expanduser(), template=tmpl, fmt=args.format, id_column=args.id_column,
        system=args.system, config=config, schema=schema,
        output=Path(args.output).expanduser() if args.output else None, force=args.force,
        allow_media_outside=args.allow_media_outside, model=model, prices=prices,
        assumptions=assumptions_of(settings), max_cost=cap_from(args.max_cost, settings.max_cost_usd),
    )
    progress = _ProgressLine()
    try:
        result = prepare(opts, progress=progress if progress.on else None)
    except PrepareError as exc:
        progress.clear()
        for line in exc.lines():
            err(line)
        err(f"gembatch-tui: nothing written ({exc.total} problem{'s' if exc.total != 1 else ''})")
        return EXIT_USAGE
    except OSError as exc:
        progress.clear()
        raise UsageError(f"{getattr(exc, 'filename', None) or args.data}: cannot write: {exc.strerror or exc}") from None
    progress.clear()
    est = result.estimate
    media = f", {result.media_refs:,} media references" if result.media_refs else ""
    out(f"prepared {counted(result.rows, 'request')}{media}: {result.batch} (key map: {result.map})")
    out(f"estimate: {est.figures()}; {est.cost_text()}")
    out(f"next: gembatch-tui submit {result.batch}")
    return EXIT_OK


class _ProgressLine:
    """On a terminal, `prepare: 120,000 rows` on stderr, rewritten in place at most twice a second (a 1 GB table
    takes a while) and wiped at the end; nothing when stderr is a file or a pipe."""

    def __init__(self) -> None:
        import sys

        self.stream = sys.stderr
        self.on = self.stream.isatty()
        self.last = 0.0
        self.width = 0

    def __call__(self, rows: int) -> None:
        import time

        now = time.monotonic()
        if self.on and now - self.last >= 0.5:
            self.last = now
            text = f"prepare: {rows:,} rows"
            self.width = len(text)
            self.stream.write("\r" + text)
            self.stream.flush()

    def clear(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def _template_text(args: argparse.Namespace) -> tuple[str, str]:
    if bool(args.template is not None) == bool(args.template_file):
        raise UsageError("give the prompt with --template TEXT or --template-file FILE (one of them)")
    if args.template is not None:
        return args.template, "--template"
    path = Path(args.template_file).expanduser()
    try:
        return path.read_text(encoding="utf-8-sig"), str(path)
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the template file is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the template file: {exc.strerror or exc}") from None


__all__ = ["add_parser", "cmd_prepare"]
