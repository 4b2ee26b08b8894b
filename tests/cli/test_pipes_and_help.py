"""The CLI as a user's shell runs it: `export JOB | head` and `list | head` end quietly, `--help` names FILE and the
environment variables the app reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gembatch_tui.core.store import JobStore
from tests.cli.conftest import Cli


def _first_line_then_close(cli: Cli, *args: str) -> tuple[str, int, str]:
    """Run the command with stdout a pipe that is closed after one line (like `| head -1`)."""
    proc = subprocess.Popen([sys.executable, "-m", "gembatch_tui", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=cli.env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline().decode()
    proc.stdout.close()
    rc = proc.wait(timeout=120)
    return first, rc, proc.stderr.read().decode()


def _big_job(tmp_path: Path, cli: Cli, rows: int = 20_000) -> None:
    inp, res = tmp_path / "in.jsonl", tmp_path / "res.jsonl"
    with inp.open("w") as f, res.open("w") as g:
        for i in range(rows):
            f.write(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}) + "\n")
            g.write(json.dumps({"key": f"k{i}", "response": {"candidates": [
                {"content": {"parts": [{"text": "a" * 200}]}}]}}) + "\n")
    store = JobStore(cli.home / "jobs.jsonl")
    store.add({"input_file": str(inp), "results_file": str(res), "results_verified": True,
               "batch": {"name": "batches/exp1", "state": "JOB_STATE_SUCCEEDED"}})


def test_export_into_a_closed_pipe_is_quiet(cli: Cli, tmp_path: Path) -> None:
    _big_job(tmp_path, cli)  # ~6 MB of export: far more than a pipe holds
    for extra in ((), ("--format", "csv"), ("-o", "-")):
        first, rc, stderr = _first_line_then_close(cli, "export", "exp1", *extra)
        assert first.startswith(("{\"key\": \"k0\"", "key,status")), first
        assert rc == 0 and stderr == "", (extra, rc, stderr)


def test_list_into_a_closed_pipe_is_quiet(cli: Cli, tmp_path: Path) -> None:
    info = tmp_path / "info.jsonl"
    info.write_text("".join(json.dumps({
        "input_file": f"in{i}.jsonl", "count": 5,
        "batch": {"name": f"batches/j{i}", "state": "JOB_STATE_SUCCEEDED",
                  "create_time": "2025-07-12T16:01:38+00:00"}}) + "\n" for i in range(3000)))
    assert cli("import", str(info)).returncode == 0
    for args in (("list",), ("list", "--json"), ("usage",)):
        first, rc, stderr = _first_line_then_close(cli, *args)
        assert first and rc == 0 and stderr == "", (args, rc, stderr)


def test_help_names_file_and_the_environment(cli: Cli) -> None:
    text = cli("--help").stdout
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GEMBATCH_TUI_HOME"):
        assert name in text, name
    assert "FILE is a JSONL file" in text and "gembatch-tui emulator" in text
    submit = cli("submit", "--help").stdout
    assert "FILE" in submit and "JSONL" in submit and "GEMINI_API_KEY" in submit
