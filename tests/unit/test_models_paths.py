from __future__ import annotations

import os
from pathlib import Path

import pytest

from gembatch_tui.core import paths
from gembatch_tui.core import models


@pytest.mark.parametrize(
    ("state", "final"),
    [
        ("JOB_STATE_SUCCEEDED", True), ("BATCH_STATE_FAILED", True), ("JOB_STATE_CANCELLED", True),
        ("JOB_STATE_EXPIRED", True), ("JOB_STATE_RUNNING", False), ("BATCH_STATE_PENDING", False),
        ("JOB_STATE_PARTIALLY_SUCCEEDED", False), ("something-new", False), (None, False), ("", False),
    ],
)
def test_only_four_states_are_final(state: str | None, final: bool) -> None:
    assert models.is_final(state) is final


def test_stats_default_to_zero_and_accept_strings() -> None:
    rec = {"batch": {"stats": {"request_count": "5", "failed_request_count": 1}}}
    assert models.record_stats(rec) == {
        "request_count": 5, "successful_request_count": 0, "failed_request_count": 1, "pending_request_count": 0,
    }


def test_parse_time_nanoseconds_and_z() -> None:
    t = models.parse_time("2025-12-10T18:27:01.407650525Z")
    assert t is not None and t.microsecond == 407650 and t.utcoffset().total_seconds() == 0
    assert models.parse_time("not a time") is None


def test_data_dir_override_and_demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(tmp_path / "h"))
    assert paths.default_store_path() == tmp_path / "h" / "jobs.jsonl"
    assert paths.default_store_path(demo=True) == tmp_path / "h" / "demo" / "jobs.jsonl"
    assert not (tmp_path / "h").exists(), "paths must be resolved lazily, never created on lookup"


def test_results_path_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(tmp_path / "h"))
    src = tmp_path / "in" / "batch1.jsonl"
    src.parent.mkdir()
    assert paths.results_path_for(src) == tmp_path / "in" / "results" / "batch1.jsonl"
    assert paths.results_path_for(src, tmp_path / "out") == tmp_path / "out" / "batch1.jsonl"
    if os.geteuid() != 0:
        src.parent.chmod(0o500)
        try:
            assert paths.results_path_for(src) == tmp_path / "h" / "results" / "batch1.jsonl"
        finally:
            src.parent.chmod(0o700)


def test_a_file_named_results_beside_the_input_sends_results_to_the_data_dir(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """CONTRACTS.md: when `<input dir>/results/` cannot be made there, results go under `<data dir>/results/`. A
    file called `results` beside the input was taken for a folder that could be made: every poll then failed
    with "cannot create results directory: File exists"."""
    monkeypatch.setenv("GEMBATCH_TUI_HOME", str(tmp_path / "h"))
    src = tmp_path / "in" / "batch1.jsonl"
    src.parent.mkdir()
    (src.parent / "results").write_text("a file, not a folder\n")
    assert paths.results_path_for(src) == tmp_path / "h" / "results" / "batch1.jsonl"
    (src.parent / "results").unlink()
    (src.parent / "results").symlink_to(tmp_path / "nowhere")  # a dangling link: no folder either
    assert paths.results_path_for(src) == tmp_path / "h" / "results" / "batch1.jsonl"


def test_a_part_without_a_job_is_named_as_its_job_will_be() -> None:
    """A part queued here (or retried, its job moved to previous_attempts) was listed by its part file's name."""
    from gembatch_tui.core.models import display_name

    queued = {"id": "p2", "input_file": "/d/parts/g/split.part-002-of-003.jsonl", "display_name": "split.jsonl [2/3]",
              "local_state": "queued", "previous_attempts": [{"batch": {"name": "batches/old"}}]}
    assert display_name(queued) == "split.jsonl [2/3]"
    sent = dict(queued, batch={"name": "batches/new", "display_name": "on the server"})
    assert display_name(sent) == "on the server"
    assert display_name({"input_file": "/d/in.jsonl"}) == "in.jsonl"
