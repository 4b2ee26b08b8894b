"""Generate the README screenshots from the real app with fixed demo data (no server, no personal paths).

Run: python tests/tools/make_screenshots.py [--out screenshots] [--size 120x32]
Writes dashboard.svg, detail.svg and delete-dialog.svg. Look at them before committing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "tui"))

from sample_data import fixed_clock, sample_records, write_results_files, write_store  # noqa: E402


async def shoot(store_path: Path, out: Path, name: str, size: tuple[int, int], key: str, keys: list[str],
                screen: str | None) -> Path:
    from gembatch_tui.tui.app import make_app
    from gembatch_tui.core.config import Settings
    from gembatch_tui.core.api.gemini import GeminiClient
    from gembatch_tui.core.submit.service import BatchService
    from gembatch_tui.core.store import JobStore
    from gembatch_tui.tui.dashboard.table import JobTable

    store = JobStore(store_path)
    # a service that is never called (the poll timer is off): it only makes cancel/delete available
    service = BatchService(store, GeminiClient("screenshot-key", base_url="http://127.0.0.1:9", retry_attempts=1))
    app = make_app(Settings(store_path=store.path, bell=False), store=store, service=service, clock=fixed_clock,
                   poll=False)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.screen.query_one(JobTable).row_count == len(sample_records()))
        table = app.screen.query_one(JobTable)
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press(*keys)
        if screen:
            await _until(pilot, lambda: type(app.screen).__name__ == screen)
        await _until(pilot, lambda: len(app.screen.query("FooterKey")) > 0)  # the footer is drawn
        await pilot.pause(0.2)
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))


async def _until(pilot: Any, predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the app never got there")
        await pilot.pause(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--size", default="120x32")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    os.environ["TZ"] = "UTC"
    time.tzset()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gembatch-shots-") as tmp:
        os.environ["GEMBATCH_TUI_HOME"] = str(Path(tmp) / "home")
        for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
            os.environ.pop(name, None)
        write_results_files()
        store = write_store(Path(tmp) / "jobs.jsonl", sample_records())
        shots = [
            ("dashboard", "rec0001", [], None),
            ("detail", "rec0003", ["enter"], "DetailScreen"),
            ("delete-dialog", "rec0004", ["d"], "DeleteDialog"),
        ]
        for name, key, keys, screen in shots:
            path = asyncio.run(shoot(store, args.out, name, (cols, rows), key, keys, screen))
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
