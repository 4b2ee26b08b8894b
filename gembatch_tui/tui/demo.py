"""Provides the demo's first job: its example requests (`write_demo_requests`) and DemoSeeder, mixed into the App.

Why it is its own module: demo mode (`--demo`, or no key) runs the in-process emulator with jobs of about
DEMO_JOB_SECONDS and a DEMO_POLL_INTERVAL poll. If the demo store is empty at start, the App's seed worker
writes a generated 5-request file to `<data dir>/demo/examples/demo-requests.jsonl` and submits it through
`service.submit`, so there is something to watch. None of this matters outside the demo.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from gembatch_tui.tui.app_messages import DemoSeeded
from gembatch_tui.tui.messages import JobsSubmitted
from gembatch_tui.tui.widgets.safe_text import safe

if TYPE_CHECKING:
    from textual.app import App

    _AppBase = App[int]
else:
    _AppBase = object

DEMO_POLL_INTERVAL = 3.0
DEMO_JOB_SECONDS = 20.0
DEMO_PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about a terminal window.",
    "List three uses of a batch API.",
    "What is the capital of Australia?",
    "Summarise the rules of chess in one paragraph.",
]


def write_demo_requests(directory: Path) -> Path:
    """Write the demo's 5-request JSONL file (replacing an older one) and return its path."""
    from gembatch_tui.core import paths

    paths.ensure_private_dir(directory)
    path = directory / "demo-requests.jsonl"
    lines = [
        json.dumps({"key": f"demo-{i}", "request": {"contents": [{"parts": [{"text": prompt}]}]}})
        for i, prompt in enumerate(DEMO_PROMPTS, start=1)
    ]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


class DemoSeeder(_AppBase):
    """Submits the demo job from a worker and says so; the App starts it (`_seed_worker`) after its first read."""

    service: Any
    store: Any
    settings: Any
    demo_seed_done = False
    """Set once the demo job was submitted or was not needed (the dashboard's empty text stops promising it)."""

    @work(thread=True, group="seed", exit_on_error=False, description="submit the demo example")
    def _seed_worker(self) -> None:
        from gembatch_tui.core import paths

        if self.store.read_all():
            self.demo_seed_done = True
            return
        path = write_demo_requests(paths.data_dir() / "demo" / "examples")
        name = f"demo: {len(DEMO_PROMPTS)} requests"
        outcome = self.service.submit(path, model=self.settings.default_model, display_name=name)
        self.post_message(DemoSeeded(outcome.line(), outcome.status == "submitted"))

    def on_demo_seeded(self, message: DemoSeeded) -> None:
        self.demo_seed_done = True
        text = (
            f"Submitted a demo job of {len(DEMO_PROMPTS)} requests: watch it go pending → running → succeeded"
            if message.ok
            else f"The demo job was not submitted: {safe(message.line)}"
        )
        if message.ok:  # news, not a call to act: the event line (a toast would cover the new row)
            self.record_event(text, title="Demo")
        else:
            self.notify(text, title="Demo", severity="error", markup=False)
        self.post_message(JobsSubmitted([]))


__all__ = ["DEMO_JOB_SECONDS", "DEMO_POLL_INTERVAL", "DEMO_PROMPTS", "DemoSeeder", "write_demo_requests"]
