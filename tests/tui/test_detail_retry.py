"""R on the job detail screen: retry a failed or cancelled part of a split input (queued again in the store),
and no R for a running part or a job that was never split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.sample_data import fixed_clock, write_store
from tests.tui.tui_helpers import footer_keys, loaded, offline_service, screen_text, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dashboard.detail import DetailScreen

GID = "abcdef012345"


def _part(tmp_path: Path, n: int, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"p{n}", "version": 1, "count": 10, "model": "models/gemini-2.5-flash",
        "display_name": f"big.jsonl [{n}/3]",
        "input_file": str(tmp_path / "parts" / GID / f"big.part-00{n}-of-003.jsonl"),
        "group_id": GID, "group_part": n, "group_parts": 3, "group_input_file": str(tmp_path / "big.jsonl"),
        "group_display_name": "big.jsonl", "group_count": 30, "uploaded_file_name": f"files/up{n}",
        "batch": {"name": f"batches/part{n}", "state": state, "error": {"message": "\x1b[31mboom"}},
        **extra,
    }


def _app(tmp_path: Path) -> tuple[Any, JobStore]:
    records = [
        _part(tmp_path, 1, "JOB_STATE_FAILED"),  # its part file is missing
        _part(tmp_path, 2, "JOB_STATE_CANCELLED"),
        _part(tmp_path, 3, "JOB_STATE_RUNNING"),
        {"id": "plain", "version": 1, "input_file": str(tmp_path / "plain.jsonl"), "display_name": "plain.jsonl",
         "batch": {"name": "batches/plain", "state": "JOB_STATE_FAILED"}},
    ]
    part2 = Path(records[1]["input_file"])
    part2.parent.mkdir(parents=True)
    part2.write_text('{"key": "k1", "request": {}}\n')
    store = JobStore(write_store(tmp_path / "store" / "jobs.jsonl", records))
    app = make_app(Settings(store_path=store.path, bell=False), store=store, service=offline_service(store),
                   clock=fixed_clock, poll=False)
    return app, store


async def _open(pilot: Any, app: Any, key: str) -> None:
    app.push_screen(DetailScreen(key))
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.key == key, what=key)


async def test_r_queues_a_cancelled_part_and_is_hidden_where_it_does_not_apply(tmp_path: Path) -> None:
    app, store = _app(tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, loaded(app))
        await _open(pilot, app, "p2")
        await wait_for(pilot, lambda: "R" in footer_keys(app), what="R in the footer")
        await pilot.press("R")
        await wait_for(pilot, lambda: (store.get("p2") or {}).get("local_state") == "queued", what="queued")
        rec = store.get("p2") or {}
        assert "batch" not in rec and rec["previous_attempts"][0]["batch"]["name"] == "batches/part2"
        await wait_for(pilot, lambda: any(f"retried part 2/3 of group {GID} (queued)" in str(n.message)
                                          for n in app._notifications), what="the notification")
        await wait_for(pilot, lambda: "R" not in footer_keys(app), what="R gone once the part is queued")
        await wait_for(pilot, lambda: "Earlier attempts" in screen_text(app), what="the earlier attempt")
        text = screen_text(app)
        assert "attempt 1" in text and "batches/part2" in text and "boom" in text and "\x1b[31m" not in text
        assert app.screen.check_action("retry_part", ()) is False
        await pilot.press("R")  # nothing happens: the part is queued already
        await pilot.pause()
        assert len((store.get("p2") or {})["previous_attempts"]) == 1

        for key in ("p3", "plain"):  # a running part, a job that was never split
            await pilot.press("escape")
            await _open(pilot, app, key)
            await pilot.pause()
            assert "R" not in footer_keys(app) and app.screen.check_action("retry_part", ()) is False, key

        await pilot.press("escape")
        await _open(pilot, app, "p1")  # retryable by state, but its part file is gone
        await wait_for(pilot, lambda: "R" in footer_keys(app))
        await pilot.press("R")
        await wait_for(pilot, lambda: any("part file" in str(n.message) and "is missing" in str(n.message)
                                          for n in app._notifications), what="the error")
        assert (store.get("p1") or {})["batch"]["state"] == "JOB_STATE_FAILED"
        assert "previous_attempts" not in (store.get("p1") or {})
