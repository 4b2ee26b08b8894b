"""The cost side of the submit screen against the real emulator and service: the preview shows the whole cost
(input + output, thinking where the model thinks), the totals add it up, and under a cap (the config's
`max_cost_usd`, held by BatchService.submit) the preview says a file is over it, the confirm dialog refuses it
naming the figures, and nothing is uploaded or created."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, wait_until
from tests.tui_submit.test_submit_flow import dialog_text, log_text, preview_text

from gembatch_tui.core.submit.cost_cap import CostCap, CostPolicy, estimate_file
from gembatch_tui.tui.submit.confirm import ConfirmSubmit
from gembatch_tui.tui.submit.file_preview import FilePreview
from gembatch_tui.tui.submit.model import ReportCache
from gembatch_tui.tui.submit.run import REFUSED, SubmitRequest, submit_files


async def test_preview_and_totals_show_the_whole_cost(data_dir: Path, make_host) -> None:
    app = make_host(None, data_dir)
    app.service.cost_policy = CostPolicy()
    whole = estimate_file(data_dir / "basic.jsonl", "gemini-2.5-flash")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "basic.jsonl")
        await wait_until(pilot, lambda: "gemini-2.5-flash: input + output + thinking" in preview_text(screen), what="the range")
        shown = preview_text(screen)
        assert whole.cost_text().split(" at ")[0].removeprefix("cost ") in shown  # ~$low-$high, as the CLI says
        assert f"~{whole.tokens.billed_output_low:,}-{whole.tokens.billed_output_high:,} output tokens" in shown
        assert "cost cap" not in shown  # no cap set
        # at 80 columns each line of the estimate fits the pane: none wraps mid-phrase
        pane = screen.query_one(FilePreview).content_size.width
        estimate_lines = [line for line in shown.splitlines() if "$" in line or "output" in line or "thinking" in line]
        assert len(estimate_lines) >= 3 and all(len(line) <= pane for line in estimate_lines), (pane, estimate_lines)
        await pilot.press("space")
        totals = screen.query_one("#totals")
        await wait_until(pilot, lambda: "estimating" not in text_of(totals) and "checking" not in text_of(totals))
        assert text_of(totals).endswith(whole.cost_text().split(" at ")[0].removeprefix("cost "))


async def test_over_the_cap_the_dialog_refuses_and_nothing_is_created(data_dir: Path, emulator, make_host) -> None:
    app = make_host(emulator, data_dir)
    app.service.cost_policy = CostPolicy(cap=0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "basic.jsonl")
        await wait_until(pilot, lambda: "Over the cost cap of $0.00" in preview_text(screen), what="the verdict")
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog")
        shown = dialog_text(app)
        assert "Nothing to submit" in shown and "Cost cap: $0.00 (max_cost_usd)" in shown
        assert "is over the cap of $0.00 (--max-cost or max_cost_usd); nothing was submitted (5 requests" in shown
        await pilot.press("y")  # not offered: nothing would be sent
        await pilot.pause()
        assert isinstance(app.screen, ConfirmSubmit)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
    assert app.store.read_all() == [] and emulator.files_snapshot() == [] and emulator.batches_snapshot() == []


async def test_the_files_of_a_run_count_together(data_dir: Path, emulator, make_host) -> None:
    app = make_host(emulator, data_dir)
    one = estimate_file(data_dir / "basic.jsonl", "gemini-2.5-flash")
    app.service.cost_policy = CostPolicy(cap=one.high * 1.5)  # room for one of the two files, not both
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "basic.jsonl")
        await pilot.press("space")
        await highlight(pilot, screen, "structured-output.jsonl")
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog")
        shown = dialog_text(app)
        assert "Submit 1 of 2 files?" in shown and "already accepted in this run" in shown
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.has_results and not screen.running, timeout=30, what="the run")
        assert "Done: 1 submitted, 1 refused" in log_text(screen)
    assert len(app.store.read_all()) == 1 and len(emulator.batches_snapshot()) == 1


def test_the_run_is_held_to_the_cap_without_the_dialog(data_dir: Path, emulator, make_host) -> None:
    """The service refuses even when the plan said otherwise (the cap lowered in between): refused, not error."""
    app = make_host(emulator, data_dir)
    app.service.cost_policy = CostPolicy(cap=0.0)
    request = SubmitRequest([data_dir / "basic.jsonl"], "gemini-2.5-flash")
    [result] = submit_files(app.service, request, ReportCache(), threading.Event())
    assert result.status == REFUSED and "is over the cap of $0.00" in result.summary()
    assert app.store.read_all() == [] and emulator.files_snapshot() == []
    assert CostCap(None).refusal(estimate_file(data_dir / "basic.jsonl", "gemini-2.5-flash")) is None
