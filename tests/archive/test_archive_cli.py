"""`gembatch-tui archive` and `list --all` as real processes, on a store written directly (no key, no server)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli
from tests.tui.sample_data import GROUP_ID, group_records, sample_records, write_store

import pytest


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home", env={"GOOGLE_API_KEY": "", "GEMINI_API_KEY": ""})


def _ids(cli: Cli, store: str, *extra: str) -> list[str]:
    run = cli("--store", store, "list", "--json", *extra)
    assert run.returncode == 0, run
    return [r["id"] for r in json.loads(run.stdout)]


def test_archive_jobs_hides_them_from_list_and_list_all_shows_them(cli: Cli, tmp_path: Path) -> None:
    store = str(write_store(tmp_path / "jobs.jsonl", sample_records()))
    run = cli("--store", store, "archive", "batches/job0004", "job0001", "job0010")
    assert run.returncode == 1, run
    assert run.stdout.splitlines() == ["batches/job0004: archived", "batches/job0010: archived"]
    assert run.stderr.splitlines() == ["batches/job0001: running: only finished jobs can be archived"]

    assert "rec0004" not in _ids(cli, store) and "rec0010" not in _ids(cli, store)
    assert {"rec0004", "rec0010"} <= set(_ids(cli, store, "--all"))
    assert _ids(cli, store, "--all", "--state", "succeeded") == ["rec0003", "rec0004", "rec0010"]
    assert _ids(cli, store, "--state", "succeeded") == ["rec0003"]
    table = cli("--store", store, "list").stdout
    assert "eval-prompts" not in table and "faq-answers" not in table
    every = cli("--store", store, "list", "--all").stdout
    assert "eval-prompts" in every
    marked = [line for line in every.splitlines() if "(archived)" in line]  # QA pass 4: which ones are hidden
    assert len(marked) == 2 and all("SUCCEEDED (archived)" in line for line in marked), every

    run = cli("--store", store, "archive", "--undo", "job0004")
    assert (run.returncode, run.stdout) == (0, "batches/job0004: unarchived\n"), run
    assert "rec0004" in _ids(cli, store)


def test_older_than_and_usage_errors(cli: Cli, tmp_path: Path) -> None:
    store = str(write_store(tmp_path / "jobs.jsonl", sample_records()))  # times are in 2026-11: all old by now
    run = cli("--store", store, "archive", "--older-than", "1h")
    assert run.returncode == 0, run
    archived = {line.split(":")[0] for line in run.stdout.splitlines()}
    assert archived == {"batches/job0003", "batches/job0004", "batches/job0005", "batches/job0006",
                        "batches/job0007", "batches/job0010"}
    assert all(r not in _ids(cli, store) for r in ("rec0003", "rec0007"))
    assert "rec0001" in _ids(cli, store)  # running: untouched
    again = cli("--store", store, "archive", "--older-than", "1h")
    assert (again.returncode, again.stdout) == (0, "no finished jobs older than 1h\n")

    for args in (["--older-than", "soon"], [], ["--older-than", "3d", "job0004"]):
        run = cli("--store", store, "archive", *args)
        assert run.returncode == 2 and run.stderr.startswith("gembatch-tui: "), run
    run = cli("--store", store, "archive", "batches/nosuch")
    assert run.returncode == 2 and "no such job" in run.stderr, run  # nothing was done


def test_a_group_archives_all_its_parts(cli: Cli, tmp_path: Path) -> None:
    records = group_records()
    records[1]["batch"]["state"] = "JOB_STATE_FAILED"
    records[2].pop("local_state")
    records[2]["local_state"] = "cancelled"
    store = str(write_store(tmp_path / "jobs.jsonl", records))
    run = cli("--store", store, "archive", GROUP_ID[:8])
    assert run.returncode == 0, run
    assert len(run.stdout.splitlines()) == 3
    assert _ids(cli, store) == [] and len(_ids(cli, store, "--all")) == 3
