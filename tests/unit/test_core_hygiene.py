"""The core must stay headless: importing it must not pull in Textual or Rich."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_no_textual_or_rich() -> None:
    code = (
        "import sys, pkgutil, importlib, gembatch_tui.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'gembatch_tui.core.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core pulled in: {out.stdout.strip()}"


def test_cli_help_does_not_import_genai_or_textual() -> None:
    code = (
        "import sys\nfrom gembatch_tui.cli import main as cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'textual', 'google'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
