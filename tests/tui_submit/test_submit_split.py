"""An input over the per-job limit: the preview says it will be split, the run makes a group, outcomes say so.

The limit comes from the config file (`limits.max_bytes_per_job`), set small so a few lines are "too big".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, wait_until
from tests.tui_submit.test_submit_flow import confirm, log_text, preview_text

from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.validate import validate_file
from gembatch_tui.tui.messages import JobsSubmitted, StoreChanged
from gembatch_tui.tui.submit.model import split_estimate
from gembatch_tui.tui.submit.run import FileResult
from gembatch_tui.tui.submit.confirm import ConfirmSubmit


def lines_file(folder: Path, name: str, n: int) -> tuple[Path, int]:
    """`n` requests of the same length; returns the path and that length (newline included)."""
    rows = [json.dumps({"key": f"k{i:03d}", "request": {"contents": [{"parts": [{"text": f"question {i:03d}"}]}]}})
            for i in range(n)]
    path = folder / name
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    return path, len(rows[0]) + 1


def small_limit(max_bytes: int) -> None:
    home = Path(os.environ["GEMBATCH_TUI_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps({"limits": {"max_bytes_per_job": max_bytes}}), encoding="utf-8")


def test_split_estimate() -> None:
    report = validate_file(Path("/work/shared/examples/basic.jsonl"))
    assert split_estimate(report, None) is None  # the 2 GiB default
    one = report.size_bytes // 5 + 1
    est = split_estimate(report, JobLimits(max_bytes_per_job=one))
    assert est is not None and est.parts == 5 and est.line().startswith("will be split into 5 parts (")
    est = split_estimate(report, JobLimits(max_requests_per_job=2))
    assert est is not None and est.parts == 3 and "5 requests, over 2 per job" in est.reason
    budget = JobLimits(token_budgets={"gemini-2.5-flash": max(1, report.est_input_tokens // 2)})
    assert split_estimate(report, budget, "gemini-2.5-flash") is not None
    assert split_estimate(report, budget, "gemini-2.5-pro") is None  # the budget is per model


def test_outcome_lines() -> None:
    path = Path("big.jsonl")
    assert FileResult(0, path, "submitted", "batches/a", 10, parts=2, batch_names=["batches/a", "batches/b"]
                      ).summary() == "split into 2 parts: 2 submitted (10 requests)"
    assert FileResult(0, path, "submitted", "batches/a", 10, parts=3, batch_names=["batches/a"], queued=2
                      ).summary() == "split into 3 parts: 1 submitted, 2 queued (10 requests)"
    queued = FileResult(0, path, "queued", None, 10, reasons=["gemini-2.5-flash has 90 of 100 tokens enqueued"],
                        parts=3, queued=3)
    assert queued.summary() == ("split into 3 parts, all queued (10 requests); the poll submits them when it can: "
                                "gemini-2.5-flash has 90 of 100 tokens enqueued")
    assert queued.stored
    single = FileResult(0, path, "queued", None, 4, reasons=["waiting for the budget"], queued=1)
    assert single.summary() == "queued (4 requests); the poll submits it when it can: waiting for the budget"
    failed = FileResult(0, path, "error", None, 10, reasons=["part 2/3: quota"], parts=3, batch_names=["batches/a"],
                        queued=1)
    assert failed.summary() == "error: part 2/3: quota (split into 3 parts: 1 submitted, 1 queued)" and failed.stored
    assert not FileResult(0, path, "error", reasons=["boom"]).stored


async def test_a_big_file_is_split_into_a_group(tmp_path: Path, emulator, make_host) -> None:
    folder = tmp_path / "batches"
    folder.mkdir()
    big, line = lines_file(folder, "big.jsonl", 10)
    small_limit(5 * line)  # five requests per part: two parts
    app = make_host(emulator, folder)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        await wait_until(pilot, lambda: screen.limits is not None, what="the limits")
        await highlight(pilot, screen, "big.jsonl")
        await wait_until(pilot, lambda: "Will be split" in preview_text(screen), what="the split note")
        shown = preview_text(screen)
        assert "✓ Ready to submit" in shown and "✗" not in shown
        assert "Will be split into 2 parts (" in shown and "per job): each part is its own job" in shown
        await pilot.press("space")
        totals = screen.query_one("#totals")
        await wait_until(pilot, lambda: "1 to split" in text_of(totals), what="the totals")

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit))
        dialog = "\n".join(text_of(w) for w in app.screen.query("Static, Label"))
        assert "big.jsonl  10 requests, will be split into 2 parts" in dialog
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)

        await confirm(pilot, screen)
        await wait_until(pilot, lambda: screen.has_results and not screen.running, timeout=30, what="the run")
        assert "big.jsonl  split into 2 parts: 2 submitted (10 requests)" in log_text(screen)
        records = JobStore(app.store.path).read_all()
        assert len(records) == 2 and len({r["group_id"] for r in records}) == 1
        assert sorted(r["group_part"] for r in records) == [1, 2]
        assert all(r["group_input_file"] == str(big.resolve()) for r in records)
        names = sorted(r["batch"]["name"] for r in records)
        submitted = [m for m in app.received if isinstance(m, JobsSubmitted)]
        assert len(submitted) == 1 and sorted(submitted[0].names) == names
        assert any(isinstance(m, StoreChanged) for m in app.received)
        assert not screen.picker.marked
