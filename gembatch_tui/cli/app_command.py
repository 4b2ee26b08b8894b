"""Provides the start of the full-screen app from the command line: open the runtime (the demo emulator too),
run the app, close what was started, and come back round when the user picks the demo on the no-key screen.

Why in the CLI: starting the app is where a bad store or an unreachable emulator becomes a usage error (exit 2),
and the app itself never imports the CLI.
"""

from __future__ import annotations

from gembatch_tui.cli.output import UsageError
from gembatch_tui.core.config import Settings


def run(settings: Settings, *, missing_key: bool = False) -> int:
    """Open the runtime (starting the demo emulator if asked), run the app, and close what was started.

    `missing_key`: no key and no --demo. The app opens on the real store with no service and asks; if the user
    chooses the demo, the app ends and is started again here in demo mode (its own store and emulator)."""
    import sys

    if not (sys.stdin and sys.stdin.isatty() and sys.stdout and sys.stdout.isatty()):
        # Redirected, the app wrote terminal codes into the file and waited for keys that never come.
        no_key = ("; and no API key is set: set GEMINI_API_KEY or GOOGLE_API_KEY, or try --demo" if missing_key
                  else "")
        raise UsageError("the full-screen app needs a terminal for its input and output; in a script or a pipe, "
                         f"use a command (`gembatch-tui --help` lists them: list, submit, poll, export...){no_key}")
    from gembatch_tui.core import paths
    from gembatch_tui.tui.app import make_app
    from gembatch_tui.core.errors import ServiceError
    from gembatch_tui.core.store import JobStore, StoreError
    from gembatch_tui.tui.demo import DEMO_JOB_SECONDS, DEMO_POLL_INTERVAL
    from gembatch_tui.tui.io_shutdown import exit_now_if_io_pending
    from gembatch_tui.runtime import open_runtime

    while True:
        if settings.demo:
            settings.poll_interval = DEMO_POLL_INTERVAL
        try:
            runtime = open_runtime(settings, need_service=not missing_key, demo_job_seconds=DEMO_JOB_SECONDS)
        except (ServiceError, OSError) as exc:
            raise UsageError(str(exc)) from None
        try:
            app = make_app(settings, store=runtime.store, service=runtime.service, runtime=runtime,
                           poll=not missing_key, missing_key=missing_key)
            result = app.run()
        finally:
            runtime.close()
        if app.next_step.startswith("profile:"):  # the palette's profile switcher: start again with that key
            from gembatch_tui.core.config import ConfigFileError, choose_profile

            try:
                choose_profile(settings, app.next_step.split(":", 1)[1])
            except ConfigFileError as exc:
                raise UsageError(str(exc)) from None
            continue
        if not (missing_key and app.next_step == "demo"):
            break
        missing_key = False
        settings.demo = True
        settings.store_path = paths.default_store_path(demo=True)
        try:
            JobStore(settings.store_path).ensure()
        except StoreError as exc:
            raise UsageError(str(exc)) from None
    code = result if isinstance(result, int) else 0
    exit_now_if_io_pending(code)
    return code


# Re-exported: tests and older callers import these from gembatch_tui.tui.app.
