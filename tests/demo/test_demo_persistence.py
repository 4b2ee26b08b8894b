"""`--demo` across processes: each subcommand starts its own emulator over the same persistent demo state."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from gembatch_tui.core import paths
from gembatch_tui import runtime
from gembatch_tui.core.config import build_settings
from gembatch_tui.emulator import persist
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import SUCCEEDED, record_state
from tests.cli.conftest import Cli
from tests.demo.demo_state import age_demo_jobs

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "examples"
KEY_RE = re.compile(r"demo-[0-9a-f]{24}")


def _input(tmp_path: Path, name: str = "basic.jsonl", n: int = 5) -> Path:
    d = tmp_path / "inputs"
    d.mkdir(exist_ok=True)
    if (EXAMPLES / name).is_file():
        shutil.copy(EXAMPLES / name, d / name)
    else:  # pragma: no cover - shared/ missing
        line = '{{"key": "k{i}", "request": {{"contents": [{{"parts": [{{"text": "q{i} {name}"}}]}}]}}}}\n'
        (d / name).write_text("".join(line.format(i=i, name=name) for i in range(n)))
    return d / name


@pytest.fixture
def cli() -> Cli:
    """The same GEMBATCH_TUI_HOME as this process (set by the autouse fixture), and no key anywhere."""
    home = Path(os.environ["GEMBATCH_TUI_HOME"])
    c = Cli(home)
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        c.env.pop(name, None)
    return c


def _no_key(*outputs: str) -> None:
    for text in outputs:
        assert not KEY_RE.search(text), text


def test_submit_then_poll_in_separate_runs(tmp_path: Path, cli: Cli) -> None:
    src = _input(tmp_path)
    sub = cli("--demo", "submit", str(src))
    assert sub.returncode == 0, sub.stderr
    name = re.search(r"submitted (batches/\S+)", sub.stdout).group(1)
    age_demo_jobs(4.0)  # of its 5 s: the next run finds it running, near its end

    # A later run, with a new emulator, still knows the job, and carries it on to the end.
    polled = cli("--demo", "poll", "--interval", "0.25")
    assert polled.returncode == 0, polled.stdout + polled.stderr
    assert re.search(rf"^{name} \(basic\.jsonl\): (PENDING|RUNNING) -> ", polled.stdout, re.M), polled.stdout
    assert "-> SUCCEEDED" in polled.stdout and "404" not in polled.stderr
    results = paths.results_path_for(src, demo=True)  # under the demo data dir, never beside the real input
    assert not (src.parent / "results").exists()
    assert f"{name}: results saved to {results}" in polled.stdout
    assert len(results.read_text().splitlines()) == len(src.read_text().splitlines())

    [rec] = json.loads(cli("--demo", "list", "--json").stdout)
    assert rec["batch"]["name"] == name and record_state(rec) == SUCCEEDED and rec["results_verified"]
    _no_key(sub.stdout, sub.stderr, polled.stdout, polled.stderr)
    state_dir = paths.data_dir() / "demo" / "emulator"
    saved = (state_dir / persist.STATE_FILE).read_text()
    assert name.removeprefix("batches/") in saved and not KEY_RE.search(saved)
    assert oct((state_dir).stat().st_mode & 0o777) == oct(0o700)


def test_a_restarted_demo_never_hands_out_the_same_ids(tmp_path: Path, cli: Cli) -> None:
    first = cli("--demo", "submit", str(_input(tmp_path, "basic.jsonl")))
    second = cli("--demo", "submit", str(_input(tmp_path, "structured-output.jsonl")))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    names = [re.search(r"submitted (batches/\S+)", out.stdout).group(1) for out in (first, second)]
    assert names[0] != names[1]
    age_demo_jobs(-600)  # the jobs' 5 s must not run out while a loaded machine starts the next processes
    # Cancel in a third run: it finds the job, created by the first.
    cancelled = cli("--demo", "cancel", names[0])
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"{names[0]}: cancel requested, now CANCELLED"
    listed = {r["batch"]["name"]: record_state(r) for r in json.loads(cli("--demo", "list", "--json").stdout)}
    assert listed == {names[0]: "JOB_STATE_CANCELLED", names[1]: "JOB_STATE_PENDING"}


def test_demo_poll_while_another_process_serves_the_same_state(tmp_path: Path, cli: Cli) -> None:
    """The demo app open (here: its runtime, in this process) while `gembatch-tui --demo poll` runs."""
    settings = build_settings(store=None, results_dir=None, api_key=None, demo=True)
    with runtime.open_runtime(settings, demo_job_seconds=1.0) as rt:
        assert rt.service is not None and rt.emulator is not None
        out = rt.service.submit(_input(tmp_path), model="gemini-2.5-flash")
        assert out.status == "submitted"
        polled = cli("--demo", "poll", "--interval", "0.25")
        assert polled.returncode == 0, polled.stdout + polled.stderr
        assert f"{out.batch_name}: results saved to" in polled.stdout
        # This process's emulator sees what the other one did (results generated there, or here: the same file).
        snap = rt.service.client.get_batch(out.batch_name)
        assert snap.state == SUCCEEDED and snap.dest_file_name
        assert rt.emulator.server_errors == []


def test_a_stuck_demo_state_gives_a_one_line_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persist, "LOCK_TIMEOUT", 0.2)
    state_dir = runtime.demo_emulator_dir()
    state_dir.mkdir(parents=True)
    with FileLock(str(state_dir / persist.LOCK_FILE), thread_local=False):
        with pytest.raises(ServiceError) as info:
            runtime.start_demo_emulator()
    assert str(info.value) == runtime.DEMO_BUSY_MESSAGE


def test_media_uploaded_in_one_demo_run_is_reused_by_the_next(tmp_path: Path, cli: Cli) -> None:
    # Each run's emulator has a new port and key, but the same files: the URI cache must still apply.
    d = tmp_path / "media"
    d.mkdir()
    (d / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    src = d / "ask.jsonl"
    src.write_text('{"key": "p1", "request": {"contents": [{"parts": [{"text": "What is in [[FILE:pic.png]]?"}]}]}}\n')
    first = cli("--demo", "submit", str(src))
    again = cli("--demo", "submit", "--force", str(src))
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    old, new = json.loads(cli("--demo", "list", "--json").stdout)
    assert (old["media_uploaded"], old["media_reused"]) == (1, 0)
    assert (new["media_uploaded"], new["media_reused"]) == (0, 1)
    assert new["media_file_names"] == old["media_file_names"]
    _no_key(first.stdout, first.stderr, again.stdout, again.stderr)
