"""A folder given where a file is wanted is called a folder, whatever the command (not "no such job", not "cannot
tell the format")."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli


def test_run_realtime_and_prepare_say_a_folder_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    cli = Cli(tmp_path / "home", env={"GEMINI_API_KEY": "k-not-used", "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:9"})
    run = cli("run", str(folder), "--realtime")
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert f"{folder}: is a directory; give an input file or a job" in run.stderr
    prep = cli("prepare", str(folder), "--template", "x {a}")
    assert prep.returncode == 2, (prep.stdout, prep.stderr)
    assert f"{folder}: is a directory; give a CSV, TSV, JSON or JSONL file" in prep.stderr + prep.stdout
    assert "Traceback" not in run.stderr + prep.stderr


def test_reading_a_store_whose_folder_is_not_there_makes_no_folder(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    store = tmp_path / "nowhere" / "deeper" / "jobs.jsonl"
    for args in (("list",), ("list", "--json"), ("usage",)):
        run = cli("--store", str(store), *args)
        assert run.returncode == 0, (args, run.stdout, run.stderr)
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "home").exists()
