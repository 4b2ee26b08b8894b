"""Helpers for the app-shell tests: an app on the sample store, with or without a (never called) service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.sample_data import fixed_clock, sample_records, write_store

from gembatch_tui.tui.app import GembatchApp, make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.models import is_final, record_state
from gembatch_tui.core.store import JobStore
from tests.tui.tui_helpers import offline_service


def sample_app(tmp_path: Path, *, service: bool = True, missing_key: bool = False, final_only: bool = False,
               **kw: Any) -> GembatchApp:
    records = sample_records()
    if final_only:
        records = [r for r in records if is_final(record_state(r))]
    store = JobStore(write_store(tmp_path / "store" / "jobs.jsonl", records))
    settings = Settings(store_path=store.path, bell=False)
    svc = offline_service(store) if service else None
    return make_app(settings, store=store, service=svc, clock=fixed_clock, poll=False, missing_key=missing_key, **kw)
