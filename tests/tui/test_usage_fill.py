"""After the first load the app counts the token usage of results saved without it; embeddings show vectors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tui.sample_data import _record, fixed_clock, write_store
from tests.tui.tui_helpers import loaded, screen_text, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.table import JobTable


def _results(path: Path, lines: list[dict]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return str(path)


async def test_usage_of_earlier_downloads_is_filled_in_and_embeddings_are_not_unknown(tmp_path: Path) -> None:
    usage = {"promptTokenCount": 1200, "candidatesTokenCount": 340, "totalTokenCount": 1540}
    answers = _results(tmp_path / "res" / "answers.jsonl", [
        {"key": "a", "response": {"candidates": [{"content": {"parts": [{"text": "hi"}]}}], "usageMetadata": usage}}])
    vectors = _results(tmp_path / "res" / "vectors.jsonl", [
        {"key": f"e{i}", "response": {"embedding": {"values": [0.1] * 8}}} for i in range(3)])
    records = [
        _record(1, "answers.jsonl", "JOB_STATE_SUCCEEDED", total=1, ok=1, created=30, ended=20,
                results_file=answers, results_verified=True),
        _record(2, "vectors.jsonl", "JOB_STATE_SUCCEEDED", total=3, ok=3, created=30, ended=20,
                model="models/gemini-embedding-001", kind="embed", results_file=vectors, results_verified=True,
                results_check={"lines": 3, "ok": 3, "embeddings": 3, "embedding_dims": 8}),
    ]
    store = JobStore(write_store(tmp_path / "s" / "jobs.jsonl", records))
    app = make_app(Settings(store_path=store.path, bell=False), store=store, service=None, clock=fixed_clock,
                   poll=False)
    async with app.run_test(size=(160, 36)) as pilot:  # wide enough for the totals beside the counts
        await wait_for(pilot, loaded(app, 2))
        assert app.usage_settled
        assert (store.get("rec0001") or {})["usage"]["prompt"] == 1200  # cached in the store ...
        assert app.record("rec0001")["usage"]["output"] == 340  # ... and read back by the app
        await wait_for(pilot, lambda: "Σ 1,200 in · 340 out" in screen_text(app), what="the totals")

        table = app.screen.query_one(JobTable)
        table.move_cursor(row=table.get_row_index("rec0001"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert "Tokens" in screen_text(app) and "1,200 in · 340 out" in screen_text(app)
        await pilot.press("escape")

        table = app.screen.query_one(JobTable)
        table.move_cursor(row=table.get_row_index("rec0002"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        text = screen_text(app)
        assert "Embeddings" in text and "3 embeddings of 8 dimensions" in text
        assert "usage unknown" not in text
