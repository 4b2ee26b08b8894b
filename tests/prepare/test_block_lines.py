"""The block path of `prepare` (core/prepare/lines.py) writes exactly the bytes of the row-at-a-time path, and the
block reader gives the rows and lines csv.reader gives: on tables made to catch the differences (escapes, non-ASCII,
lone surrogates, `%` in the template, blank lines, CR and CRLF line ends, ids that repeat)."""

from __future__ import annotations

import csv
import json
import random
import threading
from pathlib import Path

import pytest

from gembatch_tui.core.errors import Cancelled
from gembatch_tui.core.prepare import lines, template
from gembatch_tui.core.prepare.build import PrepareError, PrepareOptions, prepare
from gembatch_tui.core.prepare.readers import Source
from gembatch_tui.core.submit.keyset import KeySet

ODD = ["plain", "é ü 中文 😀", "back\\slash \\n \\u0000", "ctl \x01\x1f\x7f tab\t", 'q "x" \'y\'',
       "multi\nline\r\nmore", "sep \u2028 \u2029 \x85", "%s %d %%", "{braces}", "", " lead", "trail ", "a,b",
       '"quoted"']


def _table(path: Path, rows: int, seed: int = 1, lineterminator: str = "\r\n") -> Path:
    rnd = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator=lineterminator)
        w.writerow(["id", "title", "body"])
        for i in range(rows):
            w.writerow([f"k{i}{rnd.choice(ODD)}", rnd.choice(ODD) * rnd.randrange(3),
                        rnd.choice(ODD) * rnd.randrange(400)])
            if rnd.random() < 0.01:
                f.write(lineterminator)  # a blank line: not a row, but a line
    return path


def _both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Path, **options: object) -> tuple[bytes, bytes]:
    """(batch + map by the block path, the same by the row path only)."""
    made = []
    for name in ("block", "row"):
        if name == "row":
            monkeypatch.setattr(lines.BlockWriter, "_fast", lambda *_a: False)
        out = tmp_path / f"{name}.batch.jsonl"
        result = prepare(PrepareOptions(data=data, output=out, force=True, **options))  # type: ignore[arg-type]
        made.append(out.read_bytes() + b"".join(result.map.read_bytes().splitlines(True)[1:]))
    monkeypatch.undo()
    return made[0], made[1]


def test_a_csv_of_odd_values_comes_out_the_same_by_blocks_as_row_by_row(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data = _table(tmp_path / "odd.csv", 3000)
    tmpl = template.parse('Say {title} (100% {{sure}}): "{body}" \\ é')
    block, row = _both_paths(tmp_path, monkeypatch, data, template=tmpl, id_column="id", system="be 50% brief é",
                             config={"temperature": 0.2})
    assert block == row and block.count(b"\n") == 2 * 3000 + 1
    block, row = _both_paths(tmp_path, monkeypatch, data, template=template.parse("{body}"))  # keys: row numbers
    assert block == row


def test_json_records_with_lone_surrogates_come_out_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "r.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        for i in range(1000):
            if i == 300:  # a lone surrogate, which only a JSON escape can hold
                f.write('{"id": "j300", "t": "lone \\udc00 \\u00e9", "n": 300, "o": {}}\n')
            else:
                record = {"id": f"j{i}", "t": ODD[i % len(ODD)], "n": i, "o": {"a": [1, None]}}
                f.write(json.dumps(record, ensure_ascii=i % 2 == 0) + "\n")
    block, row = _both_paths(tmp_path, monkeypatch, data, template=template.parse("{t} / {n} / {o}"), id_column="id")
    assert block == row
    assert b'"text":"lone \\udc00 \\u00e9 / 300' in block  # the surrogate's line as json.dumps writes it


def test_blocks_give_the_rows_and_lines_csv_reader_gives(tmp_path: Path) -> None:
    for ending in ("\n", "\r\n", "\r"):
        data = _table(tmp_path / "t.csv", 2000, seed=7, lineterminator=ending)
        with open(data, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            expected, end = [], reader.line_num
            for cells in reader:
                if cells:
                    expected.append((len(expected) + 1, end + 1, cells))
                end = reader.line_num
        got = [(first + i, line, cells) for first, lines_, records in Source(data).blocks()
               for i, (line, cells) in enumerate(zip(lines_, records))]
        assert got == expected, ending
        assert list(Source(data).records()) == expected


def test_problems_before_an_unreadable_line_are_reported_first(tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_bytes(b"id,title\n" + b"".join(b"id%d,t%d\n" % (i, i) for i in range(3000)).replace(b"id900,t900", b"x")
                     + b"y,bad \xff byte\n")
    with pytest.raises(PrepareError) as caught:
        prepare(PrepareOptions(data=data, template=template.parse("{title}"), id_column="id"))
    first, second = caught.value.problems
    assert first == f"{data}:902: row 901 has no column 'title'"
    assert second == f"{data}:3002: not UTF-8 text (byte 0xff; save the file as UTF-8)"  # the exact line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_keyset_add_many_finds_what_add_finds() -> None:
    rnd = random.Random(3)
    keys = [f"k{rnd.randrange(3000)}" + rnd.choice(["", "é", "\ud800"]) for _ in range(20000)]
    one, many = KeySet(run_size=3000), KeySet(run_size=3000)
    for i, key in enumerate(keys):
        one.add(key, i + 1, i)
    for start in range(0, len(keys), 700):
        block = keys[start:start + 700]
        many.add_many(block, range(start + 1, start + 1 + len(block)), range(start, start + len(block)))
    assert one.duplicates(50) == many.duplicates(50) and len(one) == len(many) == 20000
    assert json.dumps([e.line for pair in one.duplicates(5)[0] for e in pair])  # some repeats were found


def test_progress_is_told_the_rows_and_a_cancel_between_blocks_leaves_nothing(tmp_path: Path) -> None:
    data = _table(tmp_path / "t.csv", 20000, seed=5)
    seen: list[int] = []
    result = prepare(PrepareOptions(data=data, template=template.parse("{title}")), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == result.rows == 20000 and len(seen) >= 4
    result.batch.unlink()
    result.map.unlink()
    cancel = threading.Event()

    def cancel_at_first_report(rows: int) -> None:
        cancel.set()

    with pytest.raises(Cancelled):
        prepare(PrepareOptions(data=data, template=template.parse("{title}")), progress=cancel_at_first_report,
                cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
