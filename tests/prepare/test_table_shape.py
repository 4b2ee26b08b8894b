"""A CSV/TSV whose shape loses text is refused, not read on: a quoted field never closed (it would swallow the
rest of the file into one cell) and a row with more cells than the header (the extra cells have no column)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from gembatch_tui.core.prepare import readers, template
from gembatch_tui.core.prepare.build import PrepareError, PrepareOptions, prepare
from gembatch_tui.core.prepare.readers import Source, SourceError
from tests.cli.conftest import Cli
from tests.prepare.test_prepare_inputs import _files, data_dir  # noqa: F401 - data_dir is a fixture

QUOTE_HINT = 'a quoted field is never closed (it takes in the rest of the file; write "" for a quote inside quotes)'


def test_an_unclosed_quote_names_its_line_exits_2_and_writes_nothing(cli: Cli, data_dir: Path) -> None:
    data = data_dir / "unterm.csv"
    data.write_text('id,t\nA,"unterminated\nB,2\n')
    run = cli("prepare", str(data), "--id-column", "id", "--template", "Q {t}", "--force")
    assert run.returncode == 2, run
    assert run.stderr.splitlines() == [f"{data}:2: {QUOTE_HINT}", "gembatch-tui: nothing written (1 problem)"]
    assert run.stdout == ""
    assert _files(data_dir) == ["unterm.csv"]


@pytest.mark.parametrize(("text", "line"), [
    ('id,t\nA,1\nB,"open', 3),  # no final newline
    ('id,t\nA,"two\nlines"\nB,"open\nmore\n', 4),  # a closed multi-line cell before it
    ('id,t,u\nA,"two\nlines","open\nmore\n', 3),  # the open quote is on the row's second line
    ('id,t\r\nA,"two\r\nlines"\r\nB,"open\r\n', 4),  # CRLF lines
    ('id,t\rA,"two\rlines"\rB,"open\r', 4),  # CR lines
    ('id,t\nA,1\n"', 3),  # a lone quote at the very end
    ('id,"t\nA,1\n', 1),  # in the header
])
def test_the_line_named_is_the_opening_quotes(tmp_path: Path, text: str, line: int) -> None:
    data = tmp_path / "t.csv"
    data.write_bytes(text.encode())
    with pytest.raises(SourceError) as caught:
        list(Source(data).records())
    assert str(caught.value) == f"{data}:{line}: {QUOTE_HINT}"


def test_an_unclosed_quote_after_many_blocks_keeps_no_row(tmp_path: Path) -> None:
    data = tmp_path / "big.csv"
    data.write_text("id,t\n" + "".join(f"k{i},v{i}\n" for i in range(9000)) + 'last,"open\nk,x\n')
    with pytest.raises(PrepareError) as caught:
        prepare(PrepareOptions(data=data, template=template.parse("Q {t}"), id_column="id"))
    assert caught.value.problems == [f"{data}:9002: {QUOTE_HINT}"]
    assert _files(tmp_path) == ["big.csv"]


@pytest.mark.parametrize("rows", [0, 63, 64, 65, 4095, 4096, 9000])
def test_closed_quotes_and_every_block_size_read_every_row(tmp_path: Path, rows: int) -> None:
    """The end-of-file marker never shows as a row, whichever block it falls in; cells may span lines."""
    data = tmp_path / "t.csv"
    body = "".join(f'k{i},"line one\nline ""two"""\n' if i % 7 == 0 else f"k{i},v{i}\n" for i in range(rows))
    for ending in ("", "\n\n"):
        data.write_text("id,t\n" + body.removesuffix("\n") + ending, newline="")
        with open(data, newline="", encoding="utf-8") as f:
            expected = [cells for cells in csv.reader(f) if cells][1:]
        assert [cells for _row, _line, cells in Source(data).records()] == expected


def test_a_cell_past_the_field_limit_is_said_to_be_a_likely_open_quote(tmp_path: Path, monkeypatch) -> None:
    old = csv.field_size_limit(1000)
    try:
        monkeypatch.setattr(readers, "CSV_FIELD_LIMIT", 1 << 20)
        csv.field_size_limit(1000)  # below CSV_FIELD_LIMIT, so the reader raises it to 1 MiB
        data = tmp_path / "t.csv"
        data.write_text('id,t\nA,1\nB,"open\n' + "x" * 100 + "\n" + "y\n" * (1 << 20))
        with pytest.raises(SourceError) as caught:
            list(Source(data).records())
        assert str(caught.value) == f"{data}:3: a cell longer than 1 MiB (is a quoted field never closed?)"
    finally:
        csv.field_size_limit(old)


def test_extra_cells_are_refused_with_the_count_exit_2_and_nothing_written(cli: Cli, data_dir: Path) -> None:
    data = data_dir / "extra.csv"
    data.write_text("id,t\nA,1,EXTRA\nB,2\n")
    run = cli("prepare", str(data), "--id-column", "id", "--template", "Q {t}", "--force")
    assert run.returncode == 2, run
    assert run.stderr.splitlines() == [
        f"{data}:2: row 1 has 3 cells, the header has 2 (a value that holds a comma needs double quotes)",
        "gembatch-tui: nothing written (1 problem)",
    ]
    assert _files(data_dir) == ["extra.csv"]
    tsv = data_dir / "extra.tsv"
    tsv.write_text("id\tt\nA\t1\nB\t2\tx\ty\n")
    run = cli("prepare", str(tsv), "--template", "Q {t}")
    assert run.returncode == 2
    assert run.stderr.startswith(f"{tsv}:3: row 2 has 4 cells, the header has 2 (a value that holds a tab needs")
    assert _files(data_dir) == ["extra.csv", "extra.tsv"]


def test_extra_cells_are_found_in_any_block_and_at_their_line(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    rows = [f"k{i},v{i}" for i in range(5000)]
    rows[4321] = 'k4321,"a\nb",oops'
    data.write_text("id,t\n" + "\n".join(rows) + "\n")
    with pytest.raises(PrepareError) as caught:
        prepare(PrepareOptions(data=data, template=template.parse("Q {t}"), id_column="id"))
    assert caught.value.problems == [
        f"{data}:4323: row 4322 has 3 cells, the header has 2 (a value that holds a comma needs double quotes)"]
    assert _files(tmp_path) == ["t.csv"]


def test_empty_cells_past_the_header_lose_nothing_and_are_let_through(cli: Cli, data_dir: Path) -> None:
    """A delimiter at the end of each line (as some spreadsheets export) makes empty extra cells: no text lost."""
    data = data_dir / "trail.csv"
    data.write_text("id,t\nA,1,\nB,2,,\n" + "".join(f"k{i},v{i},\n" for i in range(3000)))
    run = cli("prepare", str(data), "--id-column", "id", "--template", "Q {t}")
    assert run.returncode == 0, run
    batch = [json.loads(line) for line in (data_dir / "trail.batch.jsonl").read_text().splitlines()]
    assert len(batch) == 3002
    assert [b["key"] for b in batch[:3]] == ["A", "B", "k0"]
    assert batch[1]["request"]["contents"][0]["parts"][0]["text"] == "Q 2"
    data.write_text("id,t\nA,1,\nB,2, \n")  # white space is text: refused like any other
    run = cli("prepare", str(data), "--id-column", "id", "--template", "Q {t}", "--force")
    assert run.returncode == 2 and f"{data}:3: row 2 has 3 cells, the header has 2" in run.stderr
