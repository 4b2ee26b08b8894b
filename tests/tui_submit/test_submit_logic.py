"""Plain tests of the submit screen's Textual-free logic: paths, globs, readable lines, totals, the model list."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from gembatch_tui.core.api import models_catalog as catalog
from gembatch_tui.core.submit.validate import validate_file
from gembatch_tui.tui.submit.model import (
    ReportCache,
    compute_totals,
    display_names,
    display_path,
    problem_lines,
    readable_line,
)
from gembatch_tui.tui.submit.paths import expand_path, list_folder
from gembatch_tui.tui.submit.run import SubmitRequest, submit_files
from gembatch_tui.tui.submit.file_picker import is_jsonl_name


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ('{"key": "k1", "request": {"contents": [{"parts": [{"text": "Hello\\n  world"}]}]}}', "k1: Hello world"),
        ('{"custom_id": "c", "body": {"contents": "plain string"}}', "c: plain string"),
        ('{"contents": [{"parts": [{"inline_data": {"mime_type": "image/png"}}]}]}', "<image/png>"),
        ('{"key": "e", "request": {"content": {"parts": [{"text": "embed me"}]}}}', "e: embed me"),
        ('{"key": "s", "request": {"contents": "q", "generation_config": {"response_schema": {"type": "STRING"}}}}',
         "s (JSON schema): q"),
        ('{"key": "cut", "request": {"contents": [{"parts": [{"text": "a long prompt…', "cut: a long prompt…"),
        ("[1, 2]", "[1, 2]"),
        ("{not json}", "{not json}"),
        ("   ", "(blank line)"),
        ('{"key": "m", "request": {"contents": [{"parts": [{"text": "[bold]x[/bold]"}]}]}}', "m: [bold]x[/bold]"),
    ],
)
def test_readable_line(raw: str, shown: str) -> None:
    assert readable_line(raw) == shown


def test_readable_line_is_cut_to_width() -> None:
    line = readable_line('{"key": "k", "request": {"contents": "' + "x" * 500 + '"}}', width=40)
    assert len(line) == 40 and line.endswith("…")


def test_display_names_and_paths(tmp_path: Path) -> None:
    assert display_names("", 2) == [None, None]
    assert display_names(" nightly ", 1) == ["nightly"]
    assert display_names("nightly", 3) == ["nightly-1", "nightly-2", "nightly-3"]
    assert display_path(tmp_path / "a" / "b.jsonl", tmp_path) == "a/b.jsonl"
    assert display_path(Path("/elsewhere/x.jsonl"), tmp_path) == "/elsewhere/x.jsonl"


def test_glob_skips_symlink_loops_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_text("{}\n")
    (tmp_path / "dir.jsonl").mkdir()  # a folder named like a file is not a match
    os.symlink(tmp_path, tmp_path / "sub" / "up")  # a folder loop: ** must not follow it
    os.symlink(tmp_path / "sub" / "up", tmp_path / "sub" / "up2")
    started = time.monotonic()
    found = expand_path("**/*.jsonl", tmp_path)
    assert time.monotonic() - started < 2
    assert sorted(p.name for p in found.files) == ["a.jsonl", "b.jsonl"]
    assert expand_path("sub", tmp_path).folder == (tmp_path / "sub").resolve()
    assert expand_path("nope.jsonl", tmp_path).message == "nope.jsonl: no such file or folder"
    assert expand_path("*.csv", tmp_path).message == "*.csv: no files match"
    os.symlink("loop", tmp_path / "loop")
    assert expand_path("loop", tmp_path).message == "loop: symlink loop"


def test_list_folder(tmp_path: Path) -> None:
    (tmp_path / "b.jsonl").write_text("{}\n")
    (tmp_path / "A.JSONL").write_text("{}\n")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.jsonl").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    os.symlink("loop.jsonl", tmp_path / "loop.jsonl")
    listing = list_folder(tmp_path, is_jsonl_name)
    assert [p.name for p in listing.jsonl] == ["A.JSONL", "b.jsonl"]
    assert (listing.other_files, listing.folders, listing.error) == (2, 1, None)
    gone = list_folder(tmp_path / "missing", is_jsonl_name)
    assert gone.error is not None and "No such file or directory" in gone.error


def test_cache_revalidates_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"key": "a", "request": {"contents": "hi"}}\n')
    cache = ReportCache()
    first = cache.validate(path)
    assert cache.validate(path) is first
    path.write_text('{"key": "a", "request": {"contents": "hi"}}\n{"key": "b", "request": {"contents": "yo"}}\n')
    assert cache.validate(path).request_count == 2


def test_totals_and_problem_lines(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"key": "a", "request": {"contents": "' + "x" * 400 + '"}}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    reports = {good: validate_file(good), bad: validate_file(bad), tmp_path / "pending.jsonl": None}
    totals = compute_totals(list(reports), reports, "gemini-2.5-flash", None)
    assert (totals.files, totals.requests, totals.tokens, totals.invalid, totals.pending) == (3, 1, 100, 1, 1)
    assert totals.line() == "3 marked · 1 request · ~100 tokens · <$0.0001 · 1 with errors · checking 1…"
    assert compute_totals([good], reports, "my-own-model", None).line().endswith("cost n/a")
    assert problem_lines(reports[bad]) == ["line 1: not valid JSON: Expecting property name enclosed in double "
                                           "quotes at column 2"]


def test_model_catalogue() -> None:
    assert catalog.model_ids()[0] == "gemini-2.5-flash"
    assert catalog.next_model("gemini-2.5-flash") == "gemini-2.5-flash-lite"
    assert catalog.next_model("gemini-2.5-flash", -1) == catalog.model_ids()[-1]
    assert catalog.next_model("something-typed") == catalog.model_ids()[0]
    assert catalog.model_kind("models/gemini-embedding-001") == "embed"
    assert catalog.model_kind("my-embedding-model") == "embed"
    assert catalog.kind_mismatch("gemini-2.5-flash", "embed") is not None
    assert catalog.kind_mismatch("gemini-2.5-flash", "generate") is None


class _NoService:
    def submit(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("a refused or cancelled file must not reach the service")


def test_run_refuses_bad_and_vanished_files_and_stops_when_cancelled(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    embed = tmp_path / "embed.jsonl"
    embed.write_text('{"key": "e", "request": {"content": {"parts": [{"text": "x"}]}}}\n')
    request = SubmitRequest([bad, tmp_path / "gone.jsonl", embed], "gemini-2.5-flash")
    results = submit_files(_NoService(), request, ReportCache(), threading.Event())
    assert [r.status for r in results] == ["refused", "refused", "refused"]
    assert results[0].summary().startswith("refused: line 1: not valid JSON")
    assert results[1].summary() == "refused: file not found"
    assert "choose gemini-embedding-001" in results[2].summary()
    cancel = threading.Event()
    cancel.set()
    (cancelled,) = submit_files(_NoService(), SubmitRequest([embed], "x"), ReportCache(), cancel)
    assert cancelled.summary() == "cancelled: not started"
