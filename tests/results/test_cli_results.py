"""`export` and `usage` subcommands: output, exit codes, one-line errors, usage cached in the store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from tests.results.results_helpers import copy_example

from gembatch_tui.cli import main as cli
from gembatch_tui.cli.results import add_parsers, cmd_export, cmd_usage
from gembatch_tui.core.config import Settings
from gembatch_tui.core.results.export import read_export
from gembatch_tui.core.store import JobStore
from gembatch_tui.runtime import Runtime


def wired() -> bool:
    """True once cli.py has the results subcommands (then the real entry point is tested too)."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return "export" in sub.choices


def run(store: JobStore, argv: list[str]) -> int:
    """The commands as `commands.dispatch` runs them, with the parser `add_parsers` builds."""
    if wired():
        return cli.main(["--store", str(store.path), *argv])
    parser = argparse.ArgumentParser(prog="gembatch-tui")
    sub = parser.add_subparsers(dest="command")
    add_parsers(sub, lambda p: cli._global_options(p, suppress=True))
    args = parser.parse_args(argv)
    rt = Runtime(Settings(store_path=store.path), store, None)
    try:
        return {"export": cmd_export, "usage": cmd_usage}[args.command](rt, args)
    except cli.UsageError as exc:
        print(f"gembatch-tui: {exc}", file=__import__("sys").stderr)
        return cli.EXIT_USAGE


@pytest.fixture
def store(tmp_path: Path, messy_job: dict[str, Any]) -> JobStore:
    s = JobStore(tmp_path / "store" / "jobs.jsonl")
    s.add_many([messy_job, copy_example(tmp_path / "ex", "basic"),
                {"id": "run", "batch": {"name": "batches/run", "state": "JOB_STATE_RUNNING"}}])
    return s


def test_export_to_stdout_and_file(store: JobStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(store, ["export", "batches/rec1-batch"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["key"] for r in rows] == ["a1", "a2", "a3", "a4", "a5", "a6", "zz"] and err == ""
    dest = tmp_path / "joined.csv"
    assert run(store, ["export", "rec1-batch", "-o", str(dest)]) == 0  # format from the extension
    out, _ = capsys.readouterr()
    assert out.startswith(f"exported 7 rows to {dest}")
    assert [r["status"] for r in read_export(dest)] == ["ok", "error", "missing", "ok", "ok", "ok", "unexpected"]
    assert run(store, ["export", "--format", "csv", "basic"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == ",".join(
        ["key", "status", "request", "response_text", "error", "finish_reason", "prompt_tokens", "output_tokens",
         "thinking_tokens", "cached_tokens", "total_tokens", "response_json"])


def test_export_errors_are_one_line(store: JobStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(store, ["export", "batches/nope"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no such job" in err
    assert run(store, ["export", "batches/run"]) == 2
    assert "no results downloaded yet" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run(store, ["export", "--format", "xml", "rec1"])
    assert exc.value.code == 2


def test_export_without_input_warns_and_exports_results(store: JobStore, messy_job: dict[str, Any],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    Path(messy_job["input_file"]).unlink()
    assert run(store, ["export", "rec1"]) == 0
    out, err = capsys.readouterr()
    assert "warning: results not joined" in err
    assert [json.loads(x)["key"] for x in out.splitlines()] == ["a4", "zz", "a2", "a1", "a6", "a5"]


def test_usage_table_json_and_cache(store: JobStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(store, ["usage"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["JOB", "NAME", "MODEL", "PROMPT", "OUTPUT", "THINKING", "CACHED", "COST", "NOTES"]
    messy = next(x for x in lines if x.startswith("rec1-batch"))
    assert "21" in messy.split() and "36" in messy.split() and "1 response without usage" in messy
    total = next(x for x in lines if x.startswith("TOTAL"))
    assert "101" in total.split() and "3,440" in total.split() and "≥ $" in total
    # the figures were cached in the store
    assert (store.get("rec1") or {})["usage"]["prompt"] == 21
    assert (store.get("basic") or {})["usage"]["output"] == 3404
    assert run(store, ["usage", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["prompt"] == 101 and data["total"]["output"] == 3440 and data["total"]["jobs"] == 2
    assert data["total"]["complete"] is False and data["unknown_jobs"] == []
    basic = next(j for j in data["jobs"] if j["key"] == "basic")
    assert basic["cost_usd"] == pytest.approx((80 * 0.05 + 3404 * 0.20) / 1e6) and basic["complete"]
    messy = next(j for j in data["jobs"] if j["key"] == "rec1")
    assert messy["cost_usd"] == pytest.approx((21 * 0.15 + 41 * 1.25) / 1e6)


def test_usage_of_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = JobStore(tmp_path / "empty" / "jobs.jsonl")
    assert run(store, ["usage"]) == 0
    assert capsys.readouterr().out.startswith("no jobs with results")
