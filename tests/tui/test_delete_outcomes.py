"""How the outcome of a delete is told: deleted items, failures, and best-effort extras that were kept."""

from __future__ import annotations

from pathlib import Path

from tests.tui.sample_data import fixed_clock, write_store
from tests.tui.tui_helpers import loaded, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.cleanup.plan import Action, ActionResult
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.job_actions import JobsDeleted


async def test_kept_part_files_are_a_warning_and_a_failed_delete_an_error(tmp_path: Path) -> None:
    record = {"id": "p1", "input_file": "/data/a.jsonl", "batch": {"name": "batches/a", "state": "JOB_STATE_CANCELLED"}}
    store = JobStore(write_store(tmp_path / "jobs.jsonl", [record]))
    app = make_app(Settings(store_path=store.path, bell=False), store=store, service=None, clock=fixed_clock, poll=False)
    results = [
        ActionResult(Action("batch", "batches/a", "p1", "a.jsonl"), True),
        ActionResult(Action("input", "files/in-a", "p1", "a.jsonl"), False, "403 permission denied"),
        ActionResult(Action("parts", "/data/parts/g1", "p1", "group g1"), False, "kept: holds unmerged results", warning=True),
    ]
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, loaded(app, 1))
        app.post_message(JobsDeleted("p1", results, []))
        await wait_for(pilot, lambda: len(app._notifications) >= 2, what="two notifications")
        by_title = {n.title: n for n in app._notifications}
        assert "Deleted" not in by_title  # done as asked: on the event line, not a toast over the table
        assert any(e.title == "Deleted" and "batches/a" in e.message for e in app.events)
        assert by_title["Not deleted"].severity == "error" and "files/in-a" in str(by_title["Not deleted"].message)
        assert by_title["Kept"].severity == "warning" and "/data/parts/g1" in str(by_title["Kept"].message)
