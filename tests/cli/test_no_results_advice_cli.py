"""A job with no results on disk: the advice depends on whether any can still come (QA: `run` and `export` of an
EXPIRED job told the user to poll, which can never help)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli


def _store(cli: Cli, tmp_path: Path) -> Path:
    src = tmp_path / "in.jsonl"
    src.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "q"}]}]}}\n')
    records = [
        {"id": "r1", "input_file": str(src), "count": 1,
         "batch": {"name": "batches/expiredjob1", "state": "JOB_STATE_EXPIRED"}},
        {"id": "r2", "input_file": str(tmp_path / "other.jsonl"), "count": 1,
         "batch": {"name": "batches/finishedjob2", "state": "JOB_STATE_SUCCEEDED",
                   "dest": {"file_name": "files/out2"}}},
    ]
    store = cli.home / "jobs.jsonl"
    store.parent.mkdir(parents=True)
    store.write_text("".join(json.dumps(r) + "\n" for r in records))
    return src


def test_an_ended_job_without_results_is_not_sent_to_poll(cli: Cli, tmp_path: Path) -> None:
    src = _store(cli, tmp_path)
    cli.env.update(GEMINI_API_KEY="k", GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9")  # nothing may be called
    expired = cli("export", "expiredjob1")
    assert expired.returncode == 2
    assert expired.stderr.strip().endswith("expiredjob1: it ended EXPIRED without results"), expired.stderr
    waiting = cli("export", "finishedjob2")
    assert waiting.returncode == 2
    assert "finishedjob2: its results are not downloaded yet (run `gembatch-tui poll`)" in waiting.stderr
    run = cli("run", "expiredjob1", "--realtime")
    assert run.returncode == 2
    assert (f"batches/expiredjob1: it ended EXPIRED without results; `gembatch-tui run {src} --realtime` sends "
            "all its requests") in run.stderr + run.stdout


def test_list_says_every_job_is_archived(cli: Cli, tmp_path: Path) -> None:
    _store(cli, tmp_path)
    assert cli("archive", "expiredjob1", "finishedjob2").returncode == 0
    shown = cli("list")
    assert shown.returncode == 0
    assert shown.stdout.startswith("every job is archived (list --all shows them); 2 jobs in "), shown.stdout


def test_a_results_file_moved_away_names_the_poll_that_brings_it_back(cli: Cli, tmp_path: Path) -> None:
    """QA: `export` said only "results file not found"; `poll JOB` downloads it again while the server has it."""
    gone = tmp_path / "results" / "in.jsonl"
    records = [
        {"id": "r3", "input_file": str(tmp_path / "in.jsonl"), "count": 1, "results_file": str(gone),
         "results_verified": True,
         "batch": {"name": "batches/savedjob3", "state": "JOB_STATE_SUCCEEDED", "dest": {"file_name": "files/o3"}}},
        {"id": "r4", "input_file": str(tmp_path / "in4.jsonl"), "count": 1, "results_file": str(gone) + "4",
         "results_verified": True, "remote_deleted": {"output": True},
         "batch": {"name": "batches/cleanedjob4", "state": "JOB_STATE_SUCCEEDED", "dest": {"file_name": "files/o4"}}},
    ]
    store = cli.home / "jobs.jsonl"
    store.parent.mkdir(parents=True)
    store.write_text("".join(json.dumps(r) + "\n" for r in records))
    back = cli("export", "savedjob3")
    assert back.returncode == 2
    assert (f"{gone}: results file not found (moved or deleted since it was saved); `gembatch-tui poll savedjob3` "
            "downloads it again") in back.stderr, back.stderr
    lost = cli("export", "cleanedjob4")
    assert lost.returncode == 2
    assert "results file not found (moved or deleted since it was saved; the server no longer holds it)" in lost.stderr
