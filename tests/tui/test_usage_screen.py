"""The usage and cost view (issue 15, point 13): `u` on the dashboard and "Usage and cost" in the palette open it,
the store's total is readable at 80 columns (on the dashboard's top line too), against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.tui_helpers import flat, loaded, screen_text, wait_for

from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.tui.app import make_app
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.usage import UsageScreen


async def finished_job(pilot: Any, app: Any, store: JobStore, emu_clock: Any) -> dict[str, Any]:
    emu_clock.advance(5.0)  # past the job's 1.5 s: succeeded
    await pilot.press("r")
    await wait_for(pilot, lambda: any(r.get("results_verified") and r.get("usage") for r in store.read_all()),
                   timeout=20, what="results saved with their usage")
    await wait_for(pilot, lambda: any(r.get("usage") for r in app.records), what="the app reads the usage back")
    return next(r for r in store.read_all() if r.get("usage"))


async def test_u_opens_the_usage_view_and_the_total_fits_80_columns(
    service: BatchService, store: JobStore, settings: Settings, batch_file: Path, emu_clock: Any
) -> None:
    service.submit(batch_file, model="gemini-2.5-flash")
    app = make_app(settings, store=store, service=service)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 1))
        record = await finished_job(pilot, app, store, emu_clock)
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        # the dashboard's top line: the counts, then the store's cost, at 80 columns
        await wait_for(pilot, lambda: "Σ $" in screen_text(app).splitlines()[0], what="Σ on the top line")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, UsageScreen) and app.screen.totals is not None)
        text = flat(screen_text(app))
        usage = record["usage"]
        assert "Usage and cost" in text and "1 job:" in text
        assert f"{usage['prompt']:,} in" in text and "$" in text and "batch prices" in text
        assert "small.jsonl" in text and "gemini-2.5-flash" in text
        row = next(line for line in screen_text(app).splitlines() if "small.jsonl" in line).split()
        # Out and Think apart, as on the summary line above them (a thinking model's output was shown as their sum)
        assert row[-4:-1] == [f"{usage['prompt']:,}", f"{usage['output']:,}", f"{usage['thinking']:,}"], row
        assert usage["thinking"] > 0
        await pilot.press("f1")  # help: this screen's keys first
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        helped = flat(screen_text(app))
        assert "Usage and cost (u)" in helped and helped.index("Usage and cost (u)") < helped.find("Dashboard")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, UsageScreen))
        await pilot.press("enter")  # the job in full
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.screen is dash)
        # the palette finds it by name
        await pilot.press("ctrl+p")
        await pilot.press(*"usage")
        await wait_for(pilot, lambda: "Usage and cost" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UsageScreen))
        # a job whose results are expected but carry no recorded usage is "unknown", never zero
        screen = app.screen
        store.update(record["id"], lambda r: {k: v for k, v in r.items() if k != "usage"})
        app.load_jobs()
        await wait_for(pilot, lambda: "1 job without usage" in flat(screen_text(app)), what="unknown usage")
        assert "≥ $0.00" in flat(screen_text(app)) and "unknown" in flat(screen_text(app)).split("Cost", 1)[1]
        assert screen.totals is not None and screen.totals.jobs == 0
        await pilot.press("q")
        await wait_for(pilot, lambda: app.screen is dash)
