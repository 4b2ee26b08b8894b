"""The layout is the map: no import cycles, and the arrows point down (tui and cli -> core; emulator beside core).

Read from the source with `ast` (nothing is imported), every import counted, those inside functions and
`if TYPE_CHECKING:` too: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "gembatch_tui"
EMULATOR_MAY_USE = {"gembatch_tui.core.fsutil", "gembatch_tui.core.submit.request_fields"}
"""What the emulator takes from the core (README, Architecture): atomic writes and the request field table."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of ours, and every third-party top-level package, that `name` imports anywhere."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                       for alias in node.names]
        for target in targets:
            while target and target not in modules and target.startswith("gembatch_tui."):
                target = target.rsplit(".", 1)[0]
            if target != name:
                found.add(target if target in modules else target.split(".")[0])
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_core_imports_neither_the_ui_nor_the_emulator() -> None:
    bad = {
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if name.startswith("gembatch_tui.core")
        for target in targets
        if target in ("textual", "rich") or target.startswith(("gembatch_tui.tui", "gembatch_tui.cli", "gembatch_tui.emulator"))
    }
    assert bad == set()


def test_the_emulator_takes_from_the_core_only_what_the_readme_says() -> None:
    bad = {
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if name.startswith("gembatch_tui.emulator")
        for target in targets
        if target.startswith("gembatch_tui.") and not target.startswith("gembatch_tui.emulator")
        and target not in EMULATOR_MAY_USE
    }
    assert bad == set()


def test_cli_and_tui_do_not_import_each_other() -> None:
    """The CLI starts the app through one door (tui.app.run... is the CLI's: cli.app_command); the TUI never
    imports the CLI."""
    graph = _graph()
    tui_to_cli = {f"{n} -> {t}" for n, ts in graph.items() if n.startswith("gembatch_tui.tui")
                  for t in ts if t.startswith("gembatch_tui.cli")}
    assert tui_to_cli == set()


def test_the_library_and_the_service_do_not_import_the_cli() -> None:
    """lib and server are front ends beside the CLI: they share its wiring (gembatch_tui.runtime), not its modules;
    only cli.serve starts the service."""
    graph = _graph()
    into_cli = {f"{n} -> {t}" for n, ts in graph.items() if n.startswith(("gembatch_tui.lib", "gembatch_tui.server"))
                for t in ts if t.startswith("gembatch_tui.cli")}
    assert into_cli == set()


def test_every_folder_says_what_it_holds() -> None:
    """Each package's __init__ has a docstring: the map's legend."""
    for init in PACKAGE.rglob("__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), init
