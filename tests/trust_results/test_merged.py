"""Point 2 for split inputs: the merged results file gets its own fingerprint, and a part's remote output is kept
unless its results are intact on disk (its own part results, or the merged file that holds them)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gembatch_tui.core.cleanup import plan as cleanup
from gembatch_tui.core.results import fingerprint as results_fingerprint
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.poll.poller import poll_once
from tests.manual_clock import ManualClock

from .conftest import JOB_SECONDS, KEY, MODEL, make_service, write_input


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_merged_results_are_fingerprinted_and_part_outputs_protected(tmp_path: Path) -> None:
    clock = ManualClock()
    with Emulator(api_key=KEY, job_seconds=JOB_SECONDS, clock=clock) as emu:
        service = make_service(emu, tmp_path / "store" / "jobs.jsonl", limits=JobLimits(max_requests_per_job=4))
        out = service.submit(write_input(tmp_path / "in" / "big.jsonl", 8), model=MODEL)
        assert out.status == "submitted", out.message
        for _ in range(3):
            clock.advance(JOB_SECONDS * 3)
            assert not poll_once(service).failed
        parts = sorted(service.store.read_all(), key=lambda r: r["group_part"])
        assert len(parts) == 2 and all(p.get("group_results_verified") for p in parts)
        merged = Path(parts[0]["group_results_file"])
        data = merged.read_bytes()
        for part in parts:
            assert (part["group_results_bytes"], part["group_results_sha256"]) == (
                len(data), hashlib.sha256(data).hexdigest())
            assert results_fingerprint.group_problem(part) is None
            assert part["results_sha256"] == hashlib.sha256(Path(part["results_file"]).read_bytes()).hexdigest()

        first, second = parts
        _truncate(Path(first["results_file"]))  # the part's own copy damaged, the merged file intact: still safe
        assert cleanup.results_problem(service.store.get(first["id"])) is None

        _truncate(merged)  # now neither copy of part 1's results is what was verified
        first = service.store.get(first["id"])
        problem = cleanup.results_problem(first)
        assert problem is not None and problem.startswith(f"{first['results_file']} changed since it was verified")
        assert results_fingerprint.group_problem(first).startswith(f"{merged} changed since it was verified")
        assert cleanup.results_problem(service.store.get(second["id"])) is None  # part 2's own file is intact
        plan = cleanup.plan_cleanup(service.store.read_all())
        dest = first["batch"]["dest"]["file_name"]
        assert dest not in {a.target for a in plan.actions}
        assert second["batch"]["dest"]["file_name"] in {a.target for a in plan.actions}
        assert [r for r in plan.refused if r.startswith(f"{dest}: ")]
