"""Provides the wiring of settings -> store, client, service (and the demo emulator) for the CLI and the app.

One function builds what both entry points need, so `--demo` behaves the same everywhere, and
whatever it started (the emulator) is stopped by `close()`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.config import MISSING_KEY_MESSAGE, Settings
from gembatch_tui.core.errors import MissingKeyError, ServiceError, register_secret
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore

DEMO_JOB_SECONDS = 25.0
DEMO_BUSY_MESSAGE = "the demo emulator is in use by another gembatch-tui process; close it or run without --demo"
@dataclass
class Runtime:
    settings: Settings
    store: JobStore
    service: BatchService | None
    emulator: Any = None
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.emulator is not None:
            self.emulator.stop()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_demo_emulator(job_seconds: float = DEMO_JOB_SECONDS) -> tuple[Any, str]:
    """The demo's emulator: on a free loopback port, with a throwaway key known only to this process (never
    printed; redacted from messages), over the persistent state in `<data dir>/demo/emulator`.

    Jobs submitted in one demo run (`--demo submit`, the demo app) are there in the next (`--demo poll`) and go
    on where the clock says they are; their ids never repeat. Each process runs its own emulator, with its own
    key, and several may share the state dir at once (the demo app open while `--demo poll` runs): each sees
    the others' changes on its next request (see core/emulator/persist.py).
    """
    from gembatch_tui.core import paths
    from gembatch_tui.emulator import Emulator
    from gembatch_tui.emulator.persist import StateDirBusy

    key = "demo-" + secrets.token_hex(12)
    register_secret(key)
    state_dir = demo_emulator_dir()
    try:
        paths.ensure_private_dir(state_dir)
        emulator = Emulator(api_key=key, job_seconds=job_seconds, state_dir=state_dir).start()
    except StateDirBusy:
        raise ServiceError(DEMO_BUSY_MESSAGE) from None
    except OSError as exc:
        raise ServiceError(f"cannot start the demo emulator in {state_dir}: {exc.strerror or exc}") from None
    return emulator, key


def demo_emulator_dir() -> Path:
    from gembatch_tui.core import paths

    return paths.data_dir() / "demo" / "emulator"


def open_runtime(settings: Settings, *, need_service: bool = True, demo_job_seconds: float = DEMO_JOB_SECONDS) -> Runtime:
    store = JobStore(settings.store_path)
    if not need_service:
        return Runtime(settings, store, None)
    emulator = None
    if settings.demo:
        emulator, key = start_demo_emulator(demo_job_seconds)
        scope = "demo-" + hashlib.sha256(str(demo_emulator_dir()).encode()).hexdigest()[:16]
        client = GeminiClient(key, base_url=emulator.url, retry_initial_delay=0.2, retry_max_delay=2.0, scope=scope)
    else:
        if not settings.api_key:
            raise MissingKeyError(MISSING_KEY_MESSAGE)
        client = GeminiClient(
            settings.api_key,
            base_url=settings.base_url,
            retry_attempts=settings.retry_attempts,
            retry_initial_delay=settings.retry_initial_delay,
            retry_max_delay=settings.retry_max_delay,
        )
    service = BatchService(
        store,
        client,
        results_dir=settings.results_dir,
        demo=settings.demo,
        max_parallel_polls=settings.max_parallel_polls,
        media_wait_s=media_wait_seconds(settings.extra),
    )
    if settings.on_finish is not None:  # every poll pass over this service runs it (the app, poll, the library)
        from gembatch_tui.core.poll import finish_hooks

        finish_hooks.install(service, finish_hooks.FinishHook(settings.on_finish, settings.on_finish_timeout))
    return Runtime(settings, store, service, emulator)


def media_wait_seconds(config: dict[str, Any]) -> float:
    """Config `media_wait_seconds` (how long to wait for uploaded media to become ACTIVE); 600 when unset or bad."""
    value = config.get("media_wait_seconds")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf"):
        return float(value)
    return 600.0
