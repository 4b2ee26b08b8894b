"""Export joins a prepared input's answers to its source rows as long as the data file holds the same bytes: a
copy, a checkout or a `touch` changes its mtime, not its content, and must not cost the join. A change of content
of the same size still stops it, and a map from before the digest says why it cannot tell."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

from gembatch_tui.core.prepare.mapfile import find_map, map_path_for
from tests.prepare.test_prepare_flow import _articles, _cli, emu  # noqa: F401 - emu is a fixture

JOINED = ["article_id", "title", "body", "status", "answer", "error", "total_tokens"]


def _export(cli, batch: Path, out: Path) -> tuple[list[str], str]:  # noqa: ANN001
    run = cli("export", str(batch), "--format", "csv", "-o", str(out))
    assert run.returncode == 0, run
    with open(out, newline="", encoding="utf-8") as f:
        return next(csv.reader(f)), run.stderr


def test_a_touched_data_file_still_joins_and_a_changed_one_does_not(tmp_path: Path, emu) -> None:  # noqa: F811
    cli = _cli(tmp_path, emu)
    data = _articles(tmp_path / "data" / "articles.csv", 40)
    assert cli("prepare", str(data), "--id-column", "article_id", "--template", "{title}: {body}").returncode == 0
    batch = data.with_name("articles.batch.jsonl")
    prepared = find_map(batch)
    assert prepared is not None and prepared.problem is None
    assert prepared.source_sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
    assert cli("submit", "--wait", "--timeout", "2", str(batch), timeout=120).returncode == 0
    out = tmp_path / "answers.csv"

    st = data.stat()
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched: same bytes, another mtime
    header, note = _export(cli, batch, out)
    assert header == JOINED and f"joined to the rows of {data}" in note

    raw = data.read_bytes()
    data.write_bytes(raw.replace(b"Body 7\n", b"Body 8\n", 1))  # same size, other content
    assert data.stat().st_size == st.st_size
    header, note = _export(cli, batch, out)
    assert header[0] == "key" and "article_id" not in header
    assert f"results not joined to the source rows: the data file {data} changed since it was prepared" in note

    data.write_bytes(raw)  # back as it was, with a new mtime: joined again
    assert _export(cli, batch, out)[0] == JOINED

    map_file = map_path_for(batch)  # a map written before the digest was recorded
    lines = map_file.read_text(encoding="utf-8").splitlines()
    end = json.loads(lines[-1])
    del end["end"]["source_sha256"]
    map_file.write_text("\n".join(lines[:-1] + [json.dumps(end)]) + "\n", encoding="utf-8")
    header, note = _export(cli, batch, out)
    assert header[0] == "key"
    assert "changed since it was prepared (its modification time differs)" in note

    with open(map_file, "ab") as f:  # cut short or edited by hand: the export says so, it is not silently plain
        f.write(b"junk")
    header, note = _export(cli, batch, out)
    assert header[0] == "key"
    assert f"the key map {map_file} is not one prepare wrote whole" in note
