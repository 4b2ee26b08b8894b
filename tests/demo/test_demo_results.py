"""`--demo` never writes the emulator's made-up answers beside a real input: they go under the demo data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gembatch_tui.core import paths
from tests.cli.conftest import Cli
from tests.demo.demo_state import age_demo_jobs


@pytest.fixture
def cli() -> Cli:
    home = Path(os.environ["GEMBATCH_TUI_HOME"])
    c = Cli(home)
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        c.env.pop(name, None)
    return c


def test_results_path_for_demo_is_under_the_demo_data_dir(tmp_path: Path) -> None:
    a = paths.results_path_for(tmp_path / "one" / "batch.jsonl", demo=True)
    b = paths.results_path_for(tmp_path / "two" / "batch.jsonl", demo=True)
    demo_results = paths.fallback_results_dir(True)
    assert a.name == b.name == "batch.jsonl"
    assert a.parent.parent == b.parent.parent == demo_results
    assert a != b  # same name, different folders: no overwrite
    assert paths.results_path_for(tmp_path / "one" / "batch.jsonl", tmp_path / "out", demo=True) == tmp_path / "out" / "batch.jsonl"
    (tmp_path / "one").mkdir()
    assert paths.results_path_for(tmp_path / "one" / "batch.jsonl") == tmp_path / "one" / "results" / "batch.jsonl"


def test_demo_submit_then_poll_leaves_the_input_folder_alone(tmp_path: Path, cli: Cli) -> None:
    folder = tmp_path / "real-inputs"
    folder.mkdir()
    src = folder / "batch.jsonl"
    src.write_text(
        "".join(
            json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}}) + "\n"
            for i in range(3)
        )
    )
    sub = cli("--demo", "submit", str(src))
    assert sub.returncode == 0, sub.stdout + sub.stderr
    age_demo_jobs(5.0)  # the job's 5 s have passed: this poll downloads at once
    polled = cli("--demo", "poll", "--interval", "0.25")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    assert not (folder / "results").exists(), list(folder.rglob("*"))
    listed = json.loads(cli("--demo", "list", "--json").stdout)
    results = Path(listed[0]["results_file"])
    assert results.is_file()
    assert paths.inside(paths.fallback_results_dir(True), results), results
