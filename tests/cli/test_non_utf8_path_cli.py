"""A file whose name is not UTF-8 cannot be named by a store record (UTF-8 JSON): `submit`, `submit --check` and
`run --realtime` refuse it as bad input (exit 2) with a sentence, before anything is uploaded or recorded; before,
`submit` ended in a UnicodeEncodeError traceback from the store after validating it as fine."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .conftest import Cli

LINE = json.dumps({"key": "k1", "request": {"contents": [{"parts": [{"text": "q"}]}]}}) + "\n"


def test_a_name_that_is_not_utf8_is_refused_as_bad_input(tmp_path: Path, cli: Cli) -> None:
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/latin\xe9.jsonl"))
    odd.write_text(LINE)
    fine = tmp_path / "fine.jsonl"
    fine.write_text(LINE)
    cli.env.update(GOOGLE_API_KEY="test-key-not-used", GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9")
    for args in (("submit", "--check", str(odd)), ("submit", str(odd)), ("run", str(odd), "--realtime")):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        said = out.stdout + out.stderr
        assert "latin" in said and "not valid UTF-8" in said and "rename it" in said, said
        assert "Traceback" not in said and "test-key-not-used" not in said
    assert json.loads(cli("list", "--json").stdout) == []
    ok = cli("submit", "--check", str(odd), str(fine))
    assert ok.returncode == 1 and f"[2/2] {fine}: ok (1 request" in ok.stdout, ok.stdout
