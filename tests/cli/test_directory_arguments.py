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


def test_export_makes_the_folder_of_its_output_as_submit_wait_o_does(tmp_path: Path) -> None:
    import json

    results = tmp_path / "results.jsonl"
    results.write_text('{"key":"a","response":{"candidates":[{"content":{"parts":[{"text":"hi"}]}}]}}\n')
    record = {"id": "local-1", "count": 1, "results_file": str(results), "results_verified": True,
              "results_bytes": results.stat().st_size,
              "batch": {"name": "batches/exportme1", "state": "JOB_STATE_SUCCEEDED", "display_name": "x"}}
    cli = Cli(tmp_path / "home")
    cli.home.mkdir()
    (cli.home / "jobs.jsonl").write_text(json.dumps(record) + "\n")
    target = tmp_path / "new" / "folder" / "out.csv"
    run = cli("export", "exportme1", "-o", str(target))
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert target.read_text().splitlines()[0].startswith("key,")
