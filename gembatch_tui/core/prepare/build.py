"""Provides the one streaming pass of `prepare`: records in, the batch file and its key map out, or nothing.

Why one pass that writes both files to temporary names: a problem found at row 900,000 (or a duplicate id only
known at the end) must leave no half-made batch behind, and a 1 GB table must not be read twice; so every record
is rendered, checked and written as it comes (a block of records at a time: core/prepare/lines), problems are
collected (the first MAX_PROBLEMS shown, all counted, each `DATA:LINE: what`), and the two files are renamed
into place only when there were none (core.fsutil atomic_writer). Ids are checked for duplicates in bounded
memory (core/submit/keyset: 12 bytes an id); the cost estimate (input, output and thinking tokens;
core/api/pricing) is summed on the way, so `--max-cost` can refuse before anything is written.

Record values become prompt text by template.cell_text. A value that would put a `[[FILE:` marker into the
prompt outside one the template wrote is refused: a table cell must not make the batch upload a file. A value
used inside the template's `[[FILE:{column}]]` must name a readable file (relative to the data file's folder)
inside that folder, unless `allow_media_outside`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.api import pricing
from gembatch_tui.core.errors import Cancelled
from gembatch_tui.core.fsutil import atomic_writer, regular_file
from gembatch_tui.core.prepare import mapfile
from gembatch_tui.core.prepare.lines import MAX_PROBLEMS, BlockWriter, Problems
from gembatch_tui.core.prepare.readers import BadRecord, Source, SourceError
from gembatch_tui.core.prepare.requests import LineMaker
from gembatch_tui.core.prepare.schema import ResponseSchema
from gembatch_tui.core.prepare.template import MARKER, Template
from gembatch_tui.core.submit import media
from gembatch_tui.core.submit.cost_cap import CostCap, CostEstimate
from gembatch_tui.core.submit.keyset import KeySet

PROGRESS_ROWS = 4096
WRITE_BUFFER = 1 << 20  # a write call per block (~64 KiB) costs more system time than a copy into a buffer
Progress = Callable[[int], None]


class PrepareError(Exception):
    """Nothing was written; `problems` are the lines to show (`DATA:LINE: what`), `total` how many there were."""

    def __init__(self, problems: list[str], total: int | None = None) -> None:
        super().__init__(problems[0] if problems else "prepare failed")
        self.problems = problems
        self.total = len(problems) if total is None else total

    def lines(self) -> list[str]:
        more = self.total - len(self.problems)
        return self.problems + ([f"... and {more} more problem{'s' if more != 1 else ''}"] if more > 0 else [])


@dataclass
class PrepareOptions:
    """What `prepare` makes of one data file."""

    data: Path
    template: Template
    fmt: str | None = None
    id_column: str | None = None
    system: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    schema: ResponseSchema | None = None
    output: Path | None = None
    force: bool = False
    allow_media_outside: bool = False
    model: str = "gemini-2.5-flash"
    prices: Mapping[str, pricing.ModelPrice] | None = None
    assumptions: pricing.OutputAssumptions | None = None
    max_cost: float | None = None


@dataclass
class PrepareResult:
    batch: Path
    map: Path
    rows: int
    estimate: CostEstimate
    media_refs: int = 0


def output_paths(data: Path, output: Path | None) -> tuple[Path, Path]:
    """(batch file, map file): `<name>.batch.jsonl` beside DATA unless `output`; the map beside the batch."""
    batch = output if output is not None else data.with_name(f"{data.stem}.batch.jsonl")
    return batch, mapfile.map_path_for(batch)


def _missing_columns(source: Source, opts: PrepareOptions) -> list[str]:
    import difflib

    assert source.columns is not None
    wanted = opts.template.fields + ([opts.id_column] if opts.id_column else [])
    problems = []
    for name in dict.fromkeys(wanted):
        if name in source.columns:
            continue
        close = difflib.get_close_matches(name, source.columns, 1, 0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; the columns are {', '.join(map(repr, source.columns))}"
        what = "--id-column" if name == opts.id_column and name not in opts.template.fields else "the template"
        problems.append(f"{source.path}:1: no column {name!r} (named by {what}){hint}")
    return problems


def prepare(opts: PrepareOptions, progress: Progress | None = None,
            cancel: threading.Event | None = None) -> PrepareResult:
    """Write the batch file and its map for `opts.data`; raises PrepareError (nothing written) on any problem."""
    data = Path(os.path.abspath(opts.data))
    try:
        source = Source(data, opts.fmt)
    except SourceError as exc:
        raise PrepareError([str(exc)]) from None
    batch, map_path = output_paths(data, Path(os.path.abspath(opts.output)) if opts.output else None)
    if batch == data or map_path == data:
        raise PrepareError([f"{batch}: that is the data file itself; choose another -o"])
    if source.columns is not None and (missing := _missing_columns(source, opts)):
        raise PrepareError(missing)
    _refuse_existing(batch, map_path, opts.force)
    maker = LineMaker(opts.system, opts.config)
    rule = pricing.output_rule(opts.model, maker.request("x"), opts.assumptions)
    system_tokens = pricing.estimate_request_tokens({"contents": [], "systemInstruction": {"parts": [
        {"text": opts.system}]}}) if opts.system else 0
    media_check = _MediaCheck(data.parent, opts.allow_media_outside, batch.parent) if MARKER in opts.template.text \
        else None
    problems = Problems(data)
    try:
        return _write(opts, data, source, batch, map_path, maker, rule, system_tokens, media_check, problems, progress,
                      cancel)
    except OSError as exc:
        raise _output_error(exc, batch, map_path) from None


def _output_error(exc: OSError, batch: Path, map_path: Path) -> Exception:
    """The error to show when writing failed: atomic_writer's errors name its temporary file (`.x.jsonl.3zq.tmp`),
    which the user never named, so one of those is told as the output path and why (a folder that is missing is
    said so); any other OSError is left as it is."""
    for target in (batch, map_path):
        names = [Path(name) for name in (exc.filename, exc.filename2) if name]
        if not any(p.parent == target.parent and p.name.startswith(f".{target.name}.") for p in names):
            continue
        folder = target.parent
        if isinstance(exc, FileNotFoundError) and not os.path.isdir(folder):
            why = f"no such folder {folder}"
        elif isinstance(exc, NotADirectoryError):
            why = f"{folder} is not a folder"
        else:
            why = exc.strerror or str(exc)
        return PrepareError([f"{target}: cannot write: {why}"])
    return exc


def _write(opts: PrepareOptions, data: Path, source: Source, batch: Path, map_path: Path, maker: LineMaker,
           rule: Any, system_tokens: int, media_check: _MediaCheck | None, problems: Problems,
           progress: Progress | None, cancel: threading.Event | None) -> PrepareResult:
    """The one pass: both files written to temporary names and renamed into place only when all is well."""
    with atomic_writer(batch, binary=True, mode=0o644, buffering=WRITE_BUFFER) as bout, \
            atomic_writer(map_path, binary=True, mode=0o644, buffering=WRITE_BUFFER) as mout, \
            KeySet() as keys:
        head = mapfile.header(
            source=data, fmt=source.format, columns=source.columns, id_column=opts.id_column, batch=batch,
            answer_fields=opts.schema.fields if opts.schema else [], template=opts.template.text)
        mapfile.write_json_line(mout, head)
        digest = mapfile.SourceDigest(data, head)
        writer = BlockWriter(source, opts.template, opts.id_column, maker, system_tokens=system_tokens,
                             media_check=media_check, problems=problems, keys=keys, batch_out=bout, map_out=mout)
        next_progress = PROGRESS_ROWS
        try:
            for first, lines, records in source.blocks():
                if cancel is not None and cancel.is_set():
                    raise Cancelled(str(data))
                if progress is not None and first >= next_progress:
                    progress(first - 1)
                    next_progress += PROGRESS_ROWS
                writer.write(first, lines, records)
        except SourceError as exc:
            problems.total += 1
            problems.lines.append(str(exc))
        rows, sizes = writer.rows, writer.sizes
        if opts.id_column is not None and not problems.total:
            _duplicates(source, keys, writer.id_of, problems, opts.id_column)
        if not problems.total and rows == 0:
            problems.add(1, "no records to prepare")
        if problems.total:
            raise PrepareError(problems.lines, problems.total)
        tokens = pricing.TokenRange()
        for inp, count in sizes.items():
            out_low, out_high, think_low, think_high = rule.tokens(inp)
            tokens += pricing.TokenRange(inp * count, out_low * count, out_high * count, think_low * count,
                                         think_high * count, count)
        estimate = CostEstimate(batch, opts.model, tokens, pricing.cost_range(opts.model, tokens, opts.prices))
        refusal = CostCap(opts.max_cost).refusal(estimate)
        if refusal:
            raise PrepareError([f"{data}: {refusal.replace('nothing was submitted', 'nothing was written')}"])
        end: dict[str, Any] = {"rows": rows, "columns": list(writer.columns_seen) or source.columns}
        if (sha := digest.result()) is not None:
            end["source_sha256"] = sha
        mapfile.write_json_line(mout, {"end": end})
        _refuse_existing(batch, map_path, opts.force)  # one made while we wrote is not replaced either
    if progress is not None:
        progress(rows)
    return PrepareResult(batch, map_path, rows, estimate, writer.media_refs)


def _refuse_existing(batch: Path, map_path: Path, force: bool) -> None:
    """A folder in the way is refused even with `force`: the map would be renamed into place before the batch
    file's rename failed, and half the output would be written."""
    for path in (batch, map_path):
        if os.path.isdir(path):
            raise PrepareError([f"{path}: is a folder, not a file; choose another output name"])
    if force:
        return
    for path in (batch, map_path):
        if os.path.lexists(path):
            raise PrepareError([f"{path}: already exists; pass --force to replace it"])


def _duplicates(source: Source, keys: KeySet, id_of: Any, problems: Problems, column: str) -> None:
    """Report repeated ids (`DATA:LINE: duplicate id 'x' (first on line L)`); the ids are read back from the
    source for the few rows reported, and a 64-bit digest collision between different ids is dropped."""
    pairs, _total = keys.duplicates(MAX_PROBLEMS)
    if not pairs:
        return
    wanted = {e.offset for pair in pairs for e in pair}  # the KeySet's offset is the record's row number
    ids: dict[int, str] = {}
    for row, _line, record in source.records():
        if row in wanted and not isinstance(record, BadRecord):
            ids[row] = id_of(record)
        if row >= max(wanted):
            break
    for repeat, first in sorted(pairs, key=lambda p: p[0].line):
        key = ids.get(repeat.offset)
        if key is None or key != ids.get(first.offset):
            continue
        problems.add(repeat.line, f"duplicate id {key!r} in column {column!r} (first on line {first.line})")


class _MediaCheck:
    """Checks the files a row's `[[FILE:...]]` markers name, and rewrites relative paths when the batch file is
    written to another folder (-o), so they still name the same files."""

    def __init__(self, base: Path, allow_outside: bool, out_dir: Path) -> None:
        self.base = base
        self.allow_outside = allow_outside
        self.real_base = Path(os.path.realpath(base))
        self.rebase = None if out_dir == base else out_dir

    def problem(self, refs: list[str]) -> str | None:
        for ref in refs:
            if not ref:
                return f"empty file name in {MARKER}]]"
            path = media.resolve_ref(ref, self.base)
            wrong, detail, _size = regular_file(path)
            if wrong is not None:
                what = {"missing": "not found", "directory": "is a directory", "special": "is not a regular file"}
                return f"media file {ref!r} {what.get(wrong, 'cannot be read: ' + detail)}"
            if not self.allow_outside:
                real = Path(os.path.realpath(path))
                if real != self.real_base and self.real_base not in real.parents:
                    return (f"media file {ref!r} is outside the data file's folder {self.base} "
                            "(pass --allow-media-outside to allow it)")
        return None

    def rebased(self, prompt: str) -> str:
        """Relative references made absolute, for a batch file that does not sit beside the data."""
        import re

        def absolute(m: re.Match[str]) -> str:
            return f"{MARKER}{media.resolve_ref(m.group(1), self.base)}]]"

        return re.sub(r"\[\[FILE:(.*?)\]\]", absolute, prompt, flags=re.S)


__all__ = ["PrepareError", "PrepareOptions", "PrepareResult", "output_paths", "prepare"]
