"""Where the service sits: only `cli/serve.py` imports it, the core and the TUI never do, and it takes nothing
from the CLI or the TUI (it runs on the core, like they do)."""

from __future__ import annotations

from tests.unit.test_import_graph import _graph


def test_only_the_serve_command_imports_the_server_and_the_server_imports_no_front_end() -> None:
    graph = _graph()
    importers = {name for name, targets in graph.items() if not name.startswith("gembatch_tui.server")
                 and any(t.startswith("gembatch_tui.server") for t in targets)}
    assert importers == {"gembatch_tui.cli.serve"}
    server_to_front = {f"{name} -> {t}" for name, targets in graph.items() if name.startswith("gembatch_tui.server")
                       for t in targets if t.startswith(("gembatch_tui.cli", "gembatch_tui.tui", "gembatch_tui.emulator"))}
    assert server_to_front == set()
    web = {name for name, targets in graph.items() if targets & {"starlette", "uvicorn", "python_multipart"}}
    assert web and all(name.startswith("gembatch_tui.server") for name in web)


def test_the_cli_starts_without_the_web_packages() -> None:
    import subprocess
    import sys

    code = ("import sys; from gembatch_tui.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'python_multipart') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout.strip()) == (0, "[]"), run.stderr
