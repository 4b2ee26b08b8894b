"""The headless archive: AGE parsing, only final jobs, a group's parts, one locked write, undo."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest

from gembatch_tui.core import archive
from gembatch_tui.core.models import is_archived
from gembatch_tui.core.store import JobStore
from tests.tui.sample_data import FIXED_NOW, GROUP_ID, group_records, sample_records, write_store


@pytest.mark.parametrize("text, seconds", [("30d", 30 * 86400), ("12h", 43200), ("2w", 14 * 86400),
                                           ("90m", 5400), (" 1.5D ", 1.5 * 86400)])
def test_parse_age(text: str, seconds: float) -> None:
    assert archive.parse_age(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "d", "-3d", "0d", "3y", "3 days"])
def test_parse_age_refuses(text: str) -> None:
    with pytest.raises(archive.AgeError):
        archive.parse_age(text)


def _store(tmp_path: Path, records: list[dict]) -> JobStore:
    return JobStore(write_store(tmp_path / "jobs.jsonl", records))


def test_only_final_jobs_are_archived_and_undo_clears_the_mark(tmp_path: Path) -> None:
    store = _store(tmp_path, sample_records())
    running, succeeded = store.get("rec0001"), store.get("rec0004")
    outcomes = archive.apply(store, [running, succeeded])
    assert [(o.ok, o.line()) for o in outcomes] == [
        (False, "batches/job0001: running: only finished jobs can be archived"),
        (True, "batches/job0004: archived"),
    ]
    assert is_archived(store.get("rec0004")) and not is_archived(store.get("rec0001"))
    assert archive.apply(store, [store.get("rec0004")])[0].line() == "batches/job0004: already archived"
    assert [o.line(True) for o in archive.apply(store, [store.get("rec0004")], undo=True)] == [
        "batches/job0004: unarchived"]
    assert "archived_at" not in store.get("rec0004")
    again = archive.apply(store, [store.get("rec0004")], undo=True)[0]  # a no-op, as archiving twice is
    assert again.ok and again.already and again.line(True) == "batches/job0004: not archived"


def test_a_group_names_all_its_parts(tmp_path: Path) -> None:
    records = group_records()
    store = _store(tmp_path, records)
    outcomes = archive.apply(store, archive.resolve(store, GROUP_ID))
    assert [o.ok for o in outcomes] == [True, False, False]  # part 2 runs, part 3 is queued
    finished = copy.deepcopy(records)
    for rec in finished:
        rec.pop("local_state", None)
        rec.setdefault("batch", {"name": "batches/p3", "state": "JOB_STATE_CANCELLED"})["state"] = "JOB_STATE_CANCELLED"
    store = _store(tmp_path / "b", finished)
    assert all(o.ok for o in archive.apply(store, archive.resolve(store, GROUP_ID)))
    assert all(is_archived(r) for r in store.read_all())


def test_older_than_chooses_finished_jobs_by_their_end(tmp_path: Path) -> None:
    records = sample_records()
    chosen = archive.older_than(records, timedelta(hours=2), FIXED_NOW)
    # catalog (ended 133 min ago), product-descriptions (290), old-backfill (1 day); never a running one
    assert sorted(r["id"] for r in chosen) == ["rec0003", "rec0005", "rec0007"]
    assert archive.older_than(records, timedelta(days=2), FIXED_NOW) == []
