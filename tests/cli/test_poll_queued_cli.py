"""`poll --once` says which jobs it left queued, when they are tried again and why: QA pass 4 saw no output and
exit 0 for a job queued after a 429, which read as "nothing to do"."""

from __future__ import annotations

import re
from pathlib import Path

from gembatch_tui.emulator import Emulator
from tests.realtime.conftest import KEY, write_input

from .conftest import Cli


def test_poll_once_names_a_job_it_left_queued(tmp_path: Path) -> None:
    src = write_input(tmp_path / "in.jsonl", 3)
    with Emulator(api_key=KEY) as emu:
        cli = Cli(tmp_path / "home", env={"GOOGLE_GEMINI_BASE_URL": emu.url, "GOOGLE_API_KEY": KEY})
        emu.fail_next("POST", r":batchGenerateContent$", 429, times=50)
        submitted = cli("submit", str(src))
        assert submitted.returncode == 0 and ": queued (3 requests" in submitted.stdout, submitted
        polled = cli("poll", "--once")
    assert polled.returncode == 0, polled.stderr
    (line,) = [x for x in polled.stdout.splitlines() if x.startswith("in.jsonl: queued")]
    assert re.search(r"queued, next attempt after \d\d:\d\d:\d\d \(.*429 RESOURCE_EXHAUSTED", line), line
    assert KEY not in polled.stdout + polled.stderr
