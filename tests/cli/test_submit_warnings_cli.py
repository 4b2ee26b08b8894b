"""`submit` names misspelt request fields as warnings on stderr (FILE:LINE: warning: ...) and still goes on."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Cli


def test_check_prints_each_warning_once_and_exits_0(tmp_path: Path, cli: Cli) -> None:
    src = tmp_path / "typo.jsonl"
    src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": "q"}]}],
                                                                    "generationconfig": {"temperature": 0}}}) + "\n"
                           for i in range(3)))
    cli.env.update(GOOGLE_API_KEY="test-key-not-used", GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9")
    out = cli("submit", "--check", str(src))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"[1/1] {src}: ok (3 requests")
    assert out.stderr.splitlines() == [
        f"{src}:1: warning: unknown field 'generationconfig' in the request (did you mean 'generationConfig'?): "
        "the service rejects requests with unknown fields; also on 2 more lines"
    ]
    assert "test-key-not-used" not in out.stdout + out.stderr
