"""Provides the results subcommands: `export` (a job's results joined to its requests) and `usage` (tokens, cost).

Both only read the store and local files, so they need no API key. As in cli/commands.py: what the command
promises goes to stdout, problems go to stderr as one line each (both terminal-safe: cli.out, cli.err), and the
exit code is 0, 1 or 2. An export written to stdout is terminal-safe too: JSONL with `\\uXXXX` escapes (the same
values), CSV with visible escapes (`-o FILE` writes the exact text).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gembatch_tui.cli.output import EXIT_OK, EXIT_PARTIAL, NAME_WIDTH, UsageError, err, fit, out, print_json
from gembatch_tui.core.counts import counted
from gembatch_tui.core.models import (Record, batch_name, display_name, listed_id, no_results_reason, record_key,
                                     results_gone_reason)
from gembatch_tui.core.text import json_safe, terminal_safe

if TYPE_CHECKING:
    from gembatch_tui.runtime import Runtime


def add_parsers(subparsers: Any, global_options_fn: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `export` and `usage` to the CLI's subparsers; `global_options_fn(p)` adds --store and the rest."""
    help_text = "write a job's results joined to its requests, as JSONL or CSV"
    p = subparsers.add_parser("export", help=help_text, description=help_text)
    global_options_fn(p)
    p.add_argument("--format", choices=("jsonl", "csv"), default=None,
                   help="output format (default: from the -o file's extension, else jsonl)")
    p.add_argument("-o", "--output", metavar="FILE", default=None, help="write to FILE instead of stdout")
    p.add_argument("job", metavar="JOB")

    help_text = "show token usage and cost at batch prices, per job and in total"
    p = subparsers.add_parser("usage", help=help_text, description=help_text)
    global_options_fn(p)
    p.add_argument("--json", action="store_true", help="print one JSON object with the jobs and the total")


_err = err


class _SafeStdout:
    """stdout for an export: JSONL keeps its line breaks and spells the rest as `\\uXXXX` (still the same JSON);
    CSV keeps its CR LF and newlines inside quoted cells and spells every other control as a visible escape."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt

    def write(self, text: str) -> int:
        safe = json_safe(text, keep="\n") if self.fmt == "jsonl" else terminal_safe(text, keep="\r\n")
        return sys.stdout.write(safe)

    def flush(self) -> None:
        sys.stdout.flush()


def _resolve(rt: Runtime, ref: str) -> Record:
    """A JOB argument, resolved as the other commands do (batch name, bare id, record id, input path), or a
    split input (its group id, an 8+ character prefix, or its original path) as one job: its merged results."""
    from gembatch_tui.core.errors import ServiceError
    from gembatch_tui.core.submit.service import BatchService

    from gembatch_tui.core.submit import groups
    from gembatch_tui.core.submit.retry_parts import find_group

    service = rt.service or BatchService(rt.store, None)  # type: ignore[arg-type] # resolve() reads only the store
    try:
        return service.resolve(ref)
    except ServiceError as exc:
        records = rt.store.read_all()
        gid = find_group(records, ref)  # a split input (group id, id prefix, original path): its merged results
        if gid is None:
            raise UsageError(str(exc)) from None
    parts = groups.by_group(records)[gid]
    view = groups.merged_view(parts)
    if not view["results_file"]:
        raise UsageError(groups.merged_pending(parts))
    return view


def _results_file(record: Record, ref: str, settings: Any = None) -> Path:
    path = record.get("results_file")
    if not path:
        absent = _key_absent(record, settings)
        if absent is not None:  # `poll` would not fetch them: say which key to set, not just "run poll"
            raise UsageError(f"{ref}: the job has no results downloaded yet, and poll cannot fetch them: {absent}")
        raise UsageError(f"{ref}: {no_results_reason(record)}")
    if not Path(path).is_file():
        raise UsageError(f"{path}: {results_gone_reason(record, ref)}")
    return Path(path)


def _key_absent(record: Record, settings: Any) -> str | None:
    """Why no poll of this run's keys downloads `record`'s results (the key that made it is not set), or None."""
    from gembatch_tui.core.keys import key_ring
    from gembatch_tui.core.models import is_realtime

    if settings is None or is_realtime(record) or not batch_name(record):
        return None
    return key_ring(settings).label(record)


# ----------------------------------------------------------------------------- export
def cmd_export(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.results.export import export_to_file, write_export
    from gembatch_tui.core.results.index import ResultsIndex

    record = _resolve(rt, args.job)
    results = _results_file(record, args.job, rt.settings)
    fmt = args.format
    if fmt is None:
        fmt = "csv" if args.output and str(args.output).lower().endswith(".csv") else "jsonl"
    input_file = record.get("input_file")
    try:
        index = ResultsIndex.build(results, input_file if input_file else None)
    except OSError as exc:
        raise UsageError(f"{results}: cannot read results file: {exc.strerror or exc}") from None
    if index.input_problem:
        _err(f"warning: results not joined to requests: {index.input_problem}")
    elif not input_file:
        _err("warning: the job has no input file recorded; exporting results only")
    from gembatch_tui.core.results.source_join import source_note

    if note := source_note(index):  # a prepared input: joined to its source rows (or why not)
        _err(note)
    try:
        if args.output in (None, "-"):
            count = write_export(index, _SafeStdout(fmt), fmt)  # type: ignore[arg-type]
            sys.stdout.flush()
        else:
            dest = Path(args.output).expanduser().absolute()
            if dest.is_dir():
                raise UsageError(f"{dest}: is a directory; give a file name")
            dest.parent.mkdir(parents=True, exist_ok=True)  # as `submit --wait -o` does
            count = export_to_file(index, dest, fmt)
            out(f"exported {counted(count, 'row')} to {dest} ({index.summary()})")
    except BrokenPipeError:
        raise  # `export JOB | head`: the reader has all it wants; main ends quietly
    except OSError as exc:
        raise UsageError(f"{args.output or 'stdout'}: cannot write export: {exc.strerror or exc}") from None
    return EXIT_OK


# ----------------------------------------------------------------------------- usage
def cmd_usage(rt: Runtime, args: argparse.Namespace) -> int:
    from gembatch_tui.core.results import ledger
    from gembatch_tui.core.api import pricing

    try:
        prices = pricing.load_price_table(rt.settings.config_path)
    except pricing.ConfigError as exc:
        raise UsageError(str(exc)) from None
    records = rt.store.read_all()  # the store's problems were reported by dispatch, on stderr
    failed = False
    counted_now: dict[str, ledger.Usage] = {}
    for record in records:
        if not ledger.needs_usage(record):
            continue
        usage = ledger.usage_for_record(record)
        if not usage.known:
            _err(f"{record.get('results_file')}: cannot read results file; usage unknown")
            failed = True
            continue
        record["usage"] = usage.to_dict()
        counted_now[record_key(record)] = usage
    try:
        ledger.save_usages(rt.store, counted_now)  # one write of the store for them all
    except Exception as exc:  # noqa: BLE001 - the figures are still printed; only the cache failed
        _err(f"{rt.store.path}: usage not saved: {exc}")
    totals = ledger.store_totals(records, prices)
    if args.json:
        print_json(_usage_json(totals))
        return EXIT_PARTIAL if failed else EXIT_OK
    if not totals.per_job and not totals.unknown_jobs:
        out(f"no jobs with results in {rt.store.path}")
        return EXIT_PARTIAL if failed else EXIT_OK
    rows = [("JOB", "NAME", "MODEL", "PROMPT", "OUTPUT", "THINKING", "CACHED", "COST", "NOTES")]
    for line in totals.per_job:
        u = line.usage
        rows.append((
            listed_id(line.record),
            fit(terminal_safe(display_name(line.record)), NAME_WIDTH),
            (line.model or "-").replace("models/", ""),
            f"{u.prompt:,}", f"{u.output:,}", f"{u.thinking:,}", f"{u.cached:,}",
            ledger.cost_text(line.cost, u.complete),
            u.flags_text() or ("unpriced model" if line.cost is None else "")
            or ("real-time: interactive prices" if line.interactive else ""),
        ))
    by_key = {record_key(r): r for r in records}
    for key in totals.unknown_jobs:
        rec = by_key[key]
        rows.append((listed_id(rec), fit(terminal_safe(display_name(rec)), NAME_WIDTH), "-", "?", "?", "?", "?", "?", "usage unknown"))
    u = totals.usage
    rows.append(("TOTAL", counted(totals.jobs, "job"), "", f"{u.prompt:,}", f"{u.output:,}", f"{u.thinking:,}",
                 f"{u.cached:,}", totals.cost_text(), totals.flags_text()))
    rows = [tuple(terminal_safe(cell) for cell in row) for row in rows]  # spelt out before the widths are measured
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4, 5, 6, 7}
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        out("  ".join(cells).rstrip())
    out(f"cost at {totals.prices_text()}; cached tokens are charged at the input price, so caching can only lower it")
    return EXIT_PARTIAL if failed else EXIT_OK



def _usage_json(totals: Any) -> dict[str, Any]:
    jobs = []
    for line in totals.per_job:
        jobs.append({
            "key": line.key,
            "job": listed_id(line.record),  # the table's JOB column: the id `list` prints, which JOB takes
            "batch": batch_name(line.record),
            "display_name": display_name(line.record),
            "model": line.model,
            "usage": {k: v for k, v in line.usage.to_dict().items() if k not in ("source", "version")},
            "cost_usd": line.cost,
            "prices": "interactive" if line.interactive else "batch",
            "complete": line.usage.complete and line.cost is not None,
        })
    total = {k: v for k, v in totals.usage.to_dict().items() if k not in ("source", "version", "model_version")}
    return {
        "jobs": jobs,
        "unknown_jobs": totals.unknown_jobs,
        "unpriced_jobs": totals.unpriced_jobs,
        "total": {**total, "jobs": totals.jobs, "cost_usd": totals.cost, "complete": totals.complete},
    }


__all__ = ["add_parsers", "cmd_export", "cmd_usage"]
