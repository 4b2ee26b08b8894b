"""Bytes that are not UTF-8 are named at their exact line, however far into the file and however the re-read's
chunks cut the text (a character or a CRLF split between two chunks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gembatch_tui.core.prepare import readers
from gembatch_tui.core.prepare.readers import first_bad_utf8
from tests.cli.conftest import Cli


def test_a_latin1_byte_late_in_a_big_csv_is_named_at_its_line(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "latin1late.csv"
    data.write_bytes(b"id,t\n" + b"".join(b"K%d,hello world %d\n" % (i, i) for i in range(200000))
                     + b"K200000,caf\xe9\n" + b"K,x\n" * 50)
    run = cli("prepare", str(data), "--template", "Q {t}")
    assert run.returncode == 2, run
    assert run.stderr.splitlines() == [f"{data}:200002: not UTF-8 text (byte 0xe9; save the file as UTF-8)",
                                       "gembatch-tui: nothing written (1 problem)"]
    assert not list(tmp_path.glob("*.jsonl"))


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 1 << 20])
def test_first_bad_utf8_counts_lines_across_any_chunk_size(tmp_path: Path, monkeypatch, chunk: int) -> None:
    monkeypatch.setattr(readers, "JSON_CHUNK", chunk)
    path = tmp_path / "t.csv"
    good = "a,é\r\nb,\u20ac\u20ac\rc,\U0001f600\n\n".encode()  # 4 line breaks, multi-byte characters
    path.write_bytes(good * 3 + b"x,\xc3(\n")  # \xc3 starts a character that ( does not continue
    assert first_bad_utf8(path) == (13, 0xC3)
    path.write_bytes(good * 2 + b"tail \xe2\x82")  # a character cut off by the end of the file
    assert first_bad_utf8(path) == (9, 0xE2)
    path.write_bytes(good)
    assert first_bad_utf8(path) is None
