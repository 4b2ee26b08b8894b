"""Builds the remote world the resources tests look at: files and jobs in every category, some of them
created outside the store, on an emulator whose clock the test moves by hand.

Categories (name in `Scenario.names`):
  safe_*       a succeeded job whose results are downloaded and verified (batch, input, output)
  prot_*       a succeeded job whose results are NOT downloaded (batch, input, output): protected
  cancel_*     a job cancelled while pending (batch, input): safe, it has no results
  active_*     a pending job (batch, input): in use
  orphan_*     a succeeded job created outside the store (batch, input, output)
  loose_file   an uploaded file no job uses, created outside the store
  old_file     an upload made 43 h ago (expires within 6 h), outside the store
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.poll.download import download_results
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore
from tests.manual_clock import ManualClock

START = datetime(2026, 11, 21, 17, 0, 0, tzinfo=timezone.utc).timestamp()
MODEL = "models/gemini-2.5-flash"
NASTY = "[bold]x[/bold] [@click=app.quit]q[/] \x1b[31mred"


@dataclass
class Scenario:
    emulator: Emulator
    clock: ManualClock
    service: BatchService
    names: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> JobStore:
        return self.service.store

    def remote_names(self) -> set[str]:
        return {f["name"] for f in self.emulator.files_snapshot()} | {b["name"] for b in self.emulator.batches_snapshot()}


def make_client(emu: Emulator) -> GeminiClient:
    return GeminiClient("test-key", base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)


def _jsonl(path: Path, n: int, tag: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"key": f"{tag}-{i}", "request": {"contents": [{"parts": [{"text": f"{tag} question {i}"}]}]}}
             for i in range(n)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def build(tmp: Path, *, seed: int = 7) -> Scenario:
    clock = ManualClock(START)
    emu = Emulator(api_key="test-key", job_seconds=1.0, clock=clock, seed=seed).start()
    client = make_client(emu)
    service = BatchService(JobStore(tmp / "store" / "jobs.jsonl"), client, results_dir=tmp / "results")
    sc = Scenario(emu, clock, service)
    inputs = tmp / "inputs"
    sc.names["old_file"] = client.upload(_jsonl(inputs / "old.jsonl", 2, "old"), display_name="old upload")
    clock.advance(43 * 3600)
    for tag, n in (("safe", 3), ("prot", 4), ("cancel", 2)):
        out = service.submit(_jsonl(inputs / f"{tag}.jsonl", n, tag), model=MODEL)
        assert out.status == "submitted", out
        sc.names[f"{tag}_batch"] = out.batch_name or ""
    cancel_job(service, service.resolve(sc.names["cancel_batch"]))
    orphan_in = client.upload(_jsonl(inputs / "orphan.jsonl", 2, "orphan"), display_name=NASTY)
    sc.names["orphan_input"] = orphan_in
    sc.names["orphan_batch"] = client.create_batch(model=MODEL, file_name=orphan_in, display_name=NASTY).name
    sc.names["loose_file"] = client.upload(_jsonl(inputs / "loose.jsonl", 1, "loose"), display_name="[red]loose[/red]")
    clock.advance(5)
    poll_once(service, download=False)
    for rec in service.store.read_all():
        batch = rec.get("batch") or {}
        tag = next(t for t in ("safe", "prot", "cancel") if batch.get("name") == sc.names[f"{t}_batch"])
        sc.names[f"{tag}_input"] = rec["uploaded_file_name"]
        if (batch.get("dest") or {}).get("file_name"):
            sc.names[f"{tag}_output"] = batch["dest"]["file_name"]
        if tag == "safe":
            assert download_results(service, rec).ok
    sc.names["orphan_output"] = client.get_batch(sc.names["orphan_batch"]).dest_file_name or ""
    out = service.submit(_jsonl(inputs / "active.jsonl", 2, "active"), model=MODEL)
    sc.names["active_batch"] = out.batch_name or ""
    sc.names["active_input"] = service.resolve(out.batch_name or "")["uploaded_file_name"]
    return sc
