"""Provides the batch and key-map lines `prepare` writes for each block of records, and the problems found in them.

Why two paths: nearly every block is all good, and then a row's work is done by C-level loops over the whole
block (the prompts by %-formatting, the JSON strings by orjson, all the lines of the block by one join), a
fraction of what a Python loop per row costs. A block where anything is off (a short row, a row with more cells
than the header, a missing field, an empty id, a `[[FILE:` in a value, a record that is not an object, a lone
surrogate that UTF-8 cannot hold), every block once a problem was found, and every block of a template that
attaches media, goes row at a time: that path names each problem at its source line (`DATA:LINE: what`), and the
block path writes exactly its bytes (tests/prepare/test_block_lines.py).

Why a row with more cells than the header is refused: the cells past the header have no column, so their text
would be lost without a word (most often a comma in a value that is not quoted). Extra cells that are all empty
lose nothing and are let through: a delimiter at the end of every line is what some spreadsheets export.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from itertools import chain, repeat
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from gembatch_tui.core.api import pricing
from gembatch_tui.core.prepare.readers import BadRecord, Source
from gembatch_tui.core.prepare.requests import LineMaker, json_bytes
from gembatch_tui.core.prepare.template import MARKER, Template, cell_text
from gembatch_tui.core.submit import media
from gembatch_tui.core.submit.keyset import KeySet

MAX_PROBLEMS = 20
_MAP_LINE = b'{"key":%b,"row":%d,"line":%d}\n'
_MARKER_BYTES = MARKER.encode()


class Problems:
    """The problems found so far: the first MAX_PROBLEMS as `DATA:LINE: what`, and how many in all."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.lines: list[str] = []
        self.total = 0

    def add(self, line: int, message: str) -> None:
        self.total += 1
        if len(self.lines) < MAX_PROBLEMS:
            self.lines.append(f"{self.data}:{line}: {message}")


class MediaCheck(Protocol):
    """What the row path needs of the `[[FILE:...]]` check (core/prepare/build.py's _MediaCheck)."""

    rebase: Path | None

    def problem(self, refs: list[str]) -> str | None: ...

    def rebased(self, prompt: str) -> str: ...


class BlockWriter:
    """Writes the lines of one block of records after another to the batch and map files, and adds up what the
    estimate and the map's trailer need (`rows`, `sizes`, `media_refs`, `columns_seen`)."""

    def __init__(self, source: Source, template: Template, id_column: str | None, maker: LineMaker, *,
                 system_tokens: int, media_check: MediaCheck | None, problems: Problems, keys: KeySet,
                 batch_out: IO[bytes], map_out: IO[bytes]) -> None:
        self.source = source
        self.id_column = id_column
        self.problems = problems
        self.keys = keys
        self.batch_out = batch_out
        self.map_out = map_out
        self.system_tokens = system_tokens
        self.media_check = media_check
        self.markers = template.text.count(MARKER)
        self.rows = 0
        self.media_refs = 0
        self.sizes: dict[int, int] = {}  # input tokens of a request -> how many requests have that many
        self.columns_seen: dict[str, None] = {}
        self.render, self.id_of = fields_getter(source, template, id_column)
        self._fast_render, self._fast_ids, self._min_cells = _block_getters(source, template, id_column, self.render,
                                                                            self.id_of)
        self._pieces = maker.pieces(b"", b"")[::2]
        self._width = len(source.columns) if source.columns is not None else 0
        self._past_header = operator.itemgetter(slice(self._width, None))  # a CSV row's cells past the header

    def write(self, first: int, lines: list[int], records: list[Any]) -> None:
        """The lines of records `first`, `first + 1`, ... (or, once there are problems, only more problems)."""
        if self.markers or self.problems.total or not self._fast(first, lines, records):
            self._row_at_a_time(first, lines, records)

    # ------------------------------------------------------------------ the block path
    def _fast(self, first: int, lines: list[int], records: list[Any]) -> bool:
        """Write the block with C-level loops and say True, or write nothing and say False (a row needs a look)."""
        n = len(records)
        if self.source.columns is None:
            if any(map(isinstance, records, repeat(BadRecord))):
                return False
            self.columns_seen.update(dict.fromkeys(chain.from_iterable(records)))
        else:
            sizes = list(map(len, records))
            if min(sizes) < self._min_cells or (max(sizes) > self._width and any(map(any, map(self._past_header,
                                                                                                records)))):
                return False
        try:
            prompts = self._fast_render(records)
            keys = self._fast_ids(records) if self.id_column is not None else list(map(str, range(first, first + n)))
        except KeyError:
            return False
        if self.id_column is not None and not all(map(str.strip, keys)):
            return False  # an empty id (str.strip and str.isspace agree on what is white space)
        head, mid, tail = self._pieces
        rows = range(first, first + n)
        try:
            key_json = list(map(orjson.dumps, keys))
            batch = b"".join(chain.from_iterable(zip(repeat(head), key_json, repeat(mid), map(orjson.dumps, prompts),
                                                     repeat(tail))))
        except TypeError:
            return False  # a lone surrogate, which UTF-8 cannot hold: json_bytes writes it as an escape
        if _MARKER_BYTES in batch and any(map(operator.contains, prompts, repeat(MARKER))):
            return False
        key_map = b"".join(map(_MAP_LINE.__mod__, zip(key_json, rows, lines)))
        self.batch_out.write(batch)
        self.map_out.write(key_map)
        if self.id_column is not None:
            self.keys.add_many(keys, lines, rows)
        per_token, system_tokens, sizes = pricing.CHARS_PER_TOKEN, self.system_tokens, self.sizes
        for chars, count in Counter(map(len, prompts)).items():
            inp = max(1, -(-chars // per_token) + system_tokens)
            sizes[inp] = sizes.get(inp, 0) + count
        self.rows += n
        return True

    # ------------------------------------------------------------------ the row path
    def _row_at_a_time(self, first: int, lines: list[int], records: list[Any]) -> None:
        problems = self.problems
        track_columns = self.source.columns is None
        columns_seen = self.columns_seen
        markers, media_check = self.markers, self.media_check
        rebase = media_check is not None and media_check.rebase is not None
        head, mid, tail = self._pieces
        width = self._width
        batch_block: list[bytes] = []
        map_block: list[bytes] = []
        for row, line, record in zip(range(first, first + len(records)), lines, records):
            if isinstance(record, BadRecord):
                problems.add(line, str(record))
                continue
            if width and len(record) > width and any(record[width:]):
                comma = "a tab" if self.source.format == "tsv" else "a comma"
                problems.add(line, f"row {row} has {len(record)} cells, the header has {width} (a value that "
                                   f"holds {comma} needs double quotes)")
                continue
            if track_columns:
                for name in record:
                    if name not in columns_seen:
                        columns_seen[name] = None
            try:
                prompt = self.render(record)
                key = self.id_of(record)
            except KeyError as exc:
                what = "column" if self.source.columns is not None else "field"
                problems.add(line, f"row {row} has no {what} {exc.args[0]!r}")
                continue
            if key is None:
                key = str(row)
            elif not key or key.isspace():
                problems.add(line, f"row {row} has an empty id in column {self.id_column!r}")
                continue
            chars = len(prompt)
            media_tokens = 0
            if markers or MARKER in prompt:
                refs = media.find_refs({"contents": prompt})
                if len(refs) != markers:
                    problems.add(line, f"row {row}: a value holds {MARKER!r}, which would upload a file; "
                                       "refused (only the template may name files)")
                    continue
                bad = media_check.problem(refs) if media_check is not None else None
                if bad:
                    problems.add(line, f"row {row}: {bad}")
                    continue
                for ref in refs:
                    chars -= len(ref) + len(MARKER) + 2
                    media_tokens += pricing.media_tokens(media.guess_mime(ref))
                self.media_refs += len(refs)
            if problems.total:
                continue  # nothing will be kept: only look for more problems
            if rebase:
                prompt = media_check.rebased(prompt)  # type: ignore[union-attr]
            key_json = json_bytes(key)
            batch_block += (head, key_json, mid, json_bytes(prompt), tail)
            map_block.append(b'{"key":%b,"row":%d,"line":%d}\n' % (key_json, row, line))
            if self.id_column is not None:
                self.keys.add(key, line, row)
            inp = max(1, -(-chars // pricing.CHARS_PER_TOKEN) + media_tokens + self.system_tokens)
            self.sizes[inp] = self.sizes.get(inp, 0) + 1
            self.rows += 1
        if batch_block:
            self.batch_out.write(b"".join(batch_block))
            self.map_out.write(b"".join(map_block))


def fields_getter(source: Source, template: Template, id_column: str | None) -> tuple[Any, Any]:
    """(render(record) -> prompt, id_of(record) -> str|None); both raise KeyError naming a missing field."""
    slots = [(i, p[0]) for i, p in enumerate(template.pieces) if isinstance(p, tuple)]
    parts: list[str] = [p if isinstance(p, str) else "" for p in template.pieces]
    if source.columns is not None:
        index = {name: i for i, name in enumerate(source.columns)}
        cols = [index[name] for _slot, name in slots]
        fmt = _percent_format(template)
        pick = operator.itemgetter(*cols)
        single = len(cols) == 1

        def render(cells: list[str]) -> str:
            try:
                return fmt % ((pick(cells),) if single else pick(cells))
            except IndexError:
                raise KeyError(next(n for (_s, n), c in zip(slots, cols) if c >= len(cells))) from None

        id_col = index[id_column] if id_column is not None else None

        def id_of(cells: list[str]) -> str | None:
            if id_col is None:
                return None
            if id_col >= len(cells):
                raise KeyError(id_column)
            return cells[id_col]

        return render, id_of

    def render_json(record: dict[str, Any]) -> str:
        for slot, name in slots:
            parts[slot] = cell_text(record[name])
        return "".join(parts)

    def id_of_json(record: dict[str, Any]) -> str | None:
        return None if id_column is None else cell_text(record[id_column])

    return render_json, id_of_json


def _percent_format(template: Template) -> str:
    """The template as a %-format with a `%s` per field: the cells picked by itemgetter go in with one C call."""
    return "".join(p.replace("%", "%%") if isinstance(p, str) else "%s" for p in template.pieces)


def _block_getters(source: Source, template: Template, id_column: str | None, render: Any, id_of: Any,
                   ) -> tuple[Callable[[list[Any]], list[str]], Callable[[list[Any]], list[str]], int]:
    """(prompts(records), ids(records), the fewest cells a CSV row needs): a block's prompts and ids by C-level
    loops (JSON records: by fields_getter's `render` and `id_of`); both raise KeyError when a record lacks a field
    (the row path then says which)."""
    if source.columns is None:
        return (lambda records: list(map(render, records))), (lambda records: list(map(id_of, records))), 0
    index = {name: i for i, name in enumerate(source.columns)}
    cols = [index[p[0]] for p in template.pieces if isinstance(p, tuple)]
    fmt = _percent_format(template)
    pick = operator.itemgetter(*cols)  # one column: a str, which % takes as the one value
    id_pick = operator.itemgetter(index[id_column]) if id_column is not None else None
    min_cells = max(cols + ([index[id_column]] if id_column is not None else [])) + 1
    return ((lambda records: list(map(fmt.__mod__, map(pick, records)))),
            (lambda records: list(map(id_pick, records))),  # type: ignore[arg-type]
            min_cells)


__all__ = ["MAX_PROBLEMS", "BlockWriter", "MediaCheck", "Problems", "fields_getter"]
