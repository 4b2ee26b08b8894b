"""Where `prepare` cannot write, the message names the path the user gave (not atomic_writer's temporary file)
and why, the exit code is 2, and nothing is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "tpl.csv"
    path.write_text("t\nhello\n")
    return path


def test_a_missing_output_folder_is_named_with_the_o_path(cli: Cli, data: Path, tmp_path: Path) -> None:
    out = tmp_path / "nodir" / "x.jsonl"
    run = cli("prepare", str(data), "--template", "Q {t}", "-o", str(out))
    assert run.returncode == 2, run
    assert run.stderr.splitlines() == [f"{out}: cannot write: no such folder {out.parent}",
                                       "gembatch-tui: nothing written (1 problem)"]
    assert ".tmp" not in run.stderr
    assert not (tmp_path / "nodir").exists()


def test_a_file_where_the_folder_should_be_is_said_so(cli: Cli, data: Path) -> None:
    out = data / "x.jsonl"
    run = cli("prepare", str(data), "--template", "Q {t}", "-o", str(out))
    assert run.returncode == 2, run
    assert run.stderr.splitlines()[0] == f"{out}: cannot write: {data} is not a folder"


def test_a_folder_named_like_the_output_leaves_no_half_written(cli: Cli, data: Path, tmp_path: Path) -> None:
    """With --force, the map used to be renamed into place before the batch file's rename failed."""
    out = tmp_path / "out"
    (out / "x.jsonl").mkdir(parents=True)
    run = cli("prepare", str(data), "--template", "Q {t}", "-o", str(out / "x.jsonl"), "--force")
    assert run.returncode == 2, run
    assert run.stderr.splitlines()[0] == f"{out / 'x.jsonl'}: is a folder, not a file; choose another output name"
    assert sorted(p.name for p in out.iterdir()) == ["x.jsonl"]
