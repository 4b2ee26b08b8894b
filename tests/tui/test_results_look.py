"""A saved results file removed or edited by hand is said on the dashboard (`missing`, `changed`) at the next
poll pass or 30 s tick, as `list` and the detail screen say it: the row used to keep `saved` until the store
changed, since nothing in the store had (tui/dashboard/results_look.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gembatch_tui.core.config import Settings
from gembatch_tui.core.results import ledger
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.table import JobTable
from tests.pilot_support import wait_for
from tests.tui.tui_helpers import loaded, offline_service


def _saved_job(tmp_path: Path, name: str) -> dict[str, Any]:
    results = tmp_path / "results" / f"{name}.jsonl"
    results.parent.mkdir(exist_ok=True)
    results.write_text('{"key": "k", "response": {"usageMetadata": {"promptTokenCount": 1}}}\n')
    usage = ledger.usage_from_file(results).to_dict()  # fresh: the app's first read has nothing to count
    return {"id": name, "usage": usage, "batch": {"name": f"batches/{name}", "state": "JOB_STATE_SUCCEEDED",
                                  "model": "models/gemini-2.5-flash", "display_name": f"{name}.jsonl"},
            "results_file": str(results), "results_verified": True, "results_bytes": results.stat().st_size}


def _word(app: Any, key: str) -> str:
    table = app.screen.query_one(JobTable)
    return table.get_row(key)[table.get_column_index("results")].plain


async def _poll_pass(pilot: Any, app: Any) -> None:
    """`r`, and wait until that pass has ended."""
    before = app.schedule.last_poll
    await pilot.press("r")
    await wait_for(pilot, lambda: app.schedule.last_poll != before and not app.schedule.running, what="a poll pass")


# A removed file is also looked for again by the poll (and that write redraws the rows): the tick below shows the
# dashboard says it without any write.


async def test_an_edited_results_file_is_said_after_a_poll(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.add_many([_saved_job(tmp_path, "edited"), _saved_job(tmp_path, "kept")])
    app = make_app(Settings(store_path=store.path, poll_interval=600.0, bell=False), store=store,
                   service=offline_service(store))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, loaded(app, rows=2), what="the two jobs")
        await wait_for(pilot, lambda: app.schedule.last_poll is not None and not app.schedule.running,
                       what="the first poll pass to end")
        await _poll_pass(pilot, app)  # the first pass may write the store (the key's fingerprint); this one does not
        await wait_for(pilot, loaded(app, rows=2), what="the store as those passes left it")
        assert [_word(app, k) for k in ("edited", "kept")] == ["saved"] * 2
        version = store.path.stat().st_mtime_ns
        with open(store.get("edited")["results_file"], "a") as f:
            f.write('{"key": "x", "response": {}}\n')
        await _poll_pass(pilot, app)  # nothing in the store changes
        await wait_for(pilot, lambda: _word(app, "edited") == "changed", timeout=20,
                       what="the row to say changed")
        assert _word(app, "kept") == "saved" and store.path.stat().st_mtime_ns == version  # not a store change


async def test_the_30_s_tick_says_it_without_a_poll(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.add_many([_saved_job(tmp_path, "gone")])
    app = make_app(Settings(store_path=store.path, poll_interval=600.0, bell=False), store=store, service=None,
                   poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, loaded(app, rows=1), what="the job")
        assert _word(app, "gone") == "saved"
        Path(store.get("gone")["results_file"]).unlink()
        app.jobs_tick()  # what the app's timer does every 30 s
        await wait_for(pilot, lambda: _word(app, "gone") == "missing", timeout=20, what="the row to say missing")
