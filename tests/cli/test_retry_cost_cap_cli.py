"""`gembatch-tui retry` under a cost cap, as a real process: a part queued again is spent again, so a part whose
estimate is over `--max-cost` (or the config's `max_cost_usd`) is not queued and says why with the figures."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.models import CANCELLED, record_key, record_state
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.emulator import Emulator

from tests.split.support import KEY, MODEL, make_service, text_requests, write_lines


def test_retry_refuses_a_part_over_the_cap(cli, tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(20))
    with Emulator(api_key=KEY, job_seconds=30) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        gid = service.submit(src, model=MODEL).group_id
        parts = sorted((r for r in service.store.read_all() if r.get("group_id")), key=lambda r: r["group_part"])
        for part in parts:
            assert cancel_job(service, part) == CANCELLED
    store = str(service.store.path)

    run = cli("--store", store, "retry", "--max-cost", "0", gid or "")
    assert run.returncode == 2, run  # the cap refused every part: nothing was done, as `submit` over its cap
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"error: part {i}/2 of group {gid}: estimated cost ~$")
                                   for i, line in zip((1, 2), lines)), lines
    assert "is over the cap of $0.00 (--max-cost or max_cost_usd); nothing was submitted (10 requests" in lines[0]
    assert all(record_state(service.store.get(record_key(p)) or {}) == CANCELLED for p in parts)

    # The config's cap is the default; the flag wins; the parts of one run count together.
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "config.json").write_text(json.dumps({"max_cost_usd": 0}))
    run = cli("--store", store, "retry", parts[0]["input_file"])
    assert run.returncode == 2 and "is over the cap of $0.00" in run.stdout, run
    run = cli("--store", store, "retry", "--max-cost", "5", gid or "")
    assert (run.returncode, run.stdout.splitlines()) == (0, [
        f"retried part 1/2 of group {gid} (queued)", f"retried part 2/2 of group {gid} (queued)"]), run
