"""The id `list` prints is accepted by `retry` too (issue 15, "how to show it": export, cancel, delete and retry):
a split input's part, cancelled by its listed id, is queued again by the same id, against the emulator."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.core.models import CANCELLED, LOCAL_QUEUED, record_state
from gembatch_tui.emulator import Emulator
from tests.cli_parity.test_parity_cli import KEY, _cli, _input, _store


def test_retry_takes_the_id_list_prints(tmp_path: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=3600) as emu:
        cli = _cli(tmp_path, emu)
        big = _input(tmp_path / "in" / "big.jsonl", n=4)
        submitted = cli("submit", "--max-requests-per-job", "2", str(big))
        assert submitted.returncode == 0, submitted
        lines = cli("list").stdout.splitlines()[1:]
        ids = [line.split()[0] for line in lines]
        assert len(ids) == 2 and all(len(i) == 14 for i in ids), lines
        part = ids[0]
        cancelled = cli("cancel", part)
        assert cancelled.returncode == 0, cancelled
        by_id = {str((r.get("batch") or {}).get("name", "")).split("/")[-1][:14]: r for r in _store(cli).read_all()}
        assert record_state(by_id[part]) == CANCELLED
        retried = cli("retry", part)  # the id as list printed it
        assert retried.returncode == 0, retried
        states = sorted(record_state(r) for r in _store(cli).read_all())
        assert LOCAL_QUEUED in states, states
