"""`gembatch-tui retry` as a real process, on two QA findings:

- the same part named twice (the id `list` prints, again, or its batch name, bare id or part file) is retried
  once and is no "no such job" error: every JOB is looked up in the store as it was before the run;
- a cost cap that refused every part, with none queued, is exit 2 (nothing was done, as `submit` and
  `run --realtime` say for their cap); refused beside queued is 1, and so is a JOB that names nothing.
"""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.models import CANCELLED, LOCAL_QUEUED, batch_id, batch_name, record_key, record_state
from gembatch_tui.core.submit.cost_cap import CostPolicy, estimate_or_why
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.emulator import Emulator
from tests.cli_parity.test_parity_cli import KEY as PARITY_KEY
from tests.cli_parity.test_parity_cli import _cli, _input, _store
from tests.split.support import KEY, MODEL, make_service, text_requests, write_lines


def _listed_ids(cli) -> list[str]:
    return [line.split()[0] for line in cli("list").stdout.splitlines()[1:]]


def test_a_part_named_twice_is_retried_once(tmp_path: Path) -> None:
    with Emulator(api_key=PARITY_KEY, job_seconds=3600) as emu:
        cli = _cli(tmp_path, emu)
        big = _input(tmp_path / "in" / "big.jsonl", n=6)
        assert cli("submit", "--max-requests-per-job", "2", str(big)).returncode == 0
        assert cli("cancel", str(big)).returncode == 0
        ids = _listed_ids(cli)
        assert len(ids) == 3, ids
        records = {batch_id(batch_name(r) or "")[:14]: r for r in _store(cli).read_all()}
        first, second = records[ids[0]], records[ids[1]]
        assert record_state(first) == record_state(second) == CANCELLED

        # The id list printed, twice: one line, exit 0 (it was "error: ID: no such job or group", exit 2).
        run = cli("retry", ids[0], ids[0])
        assert (run.returncode, run.stdout.splitlines()) == (0, [
            f"retried part 1/3 of group {first['group_id']} (queued)"]), run
        # Every other name of one part, in one run: its list id, batch name, bare id and part file.
        name = batch_name(second) or ""
        run = cli("retry", ids[1], name, batch_id(name), second["input_file"])
        assert (run.returncode, run.stdout.splitlines()) == (0, [
            f"retried part 2/3 of group {second['group_id']} (queued)"]), run
        # A group and one of its parts: the part is in the group's run, not retried (or refused) a second time;
        # a JOB that names nothing beside it is 1 (the part was still queued), as README's exit codes say.
        run = cli("retry", str(big), ids[2], "batches/nosuch")
        assert (run.returncode, run.stdout.splitlines()) == (1, [
            f"retried part 3/3 of group {first['group_id']} (queued)",
            f"error: batches/nosuch: no such job or group in {_store(cli).path}"]), run
        states = {record_key(r): record_state(r) for r in _store(cli).read_all()}
        assert set(states.values()) == {LOCAL_QUEUED}, states
        assert all(len(r["previous_attempts"]) == 1 for r in _store(cli).read_all())


def _cancelled_group(tmp_path: Path, n: int, per_job: int) -> tuple[str, str, list[dict]]:
    """A split input whose parts are all cancelled: (group id, store path, parts in order)."""
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(n))
    with Emulator(api_key=KEY, job_seconds=30) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=per_job))
        gid = service.submit(src, model=MODEL).group_id or ""
        parts = sorted((r for r in service.store.read_all() if r.get("group_id")), key=lambda r: r["group_part"])
        for part in parts:
            assert cancel_job(service, part) == CANCELLED
    return gid, str(service.store.path), parts


def test_a_cap_that_refuses_every_part_is_exit_2(cli, tmp_path: Path) -> None:
    gid, store, parts = _cancelled_group(tmp_path, 20, 10)
    run = cli("--store", store, "retry", "--max-cost", "0.0000001", gid)
    assert run.returncode == 2, run  # it was 1: nothing was queued, as `submit` over its cap
    assert [line.split(": ")[:2] for line in run.stdout.splitlines()] == [
        ["error", f"part 1/2 of group {gid}"], ["error", f"part 2/2 of group {gid}"]]
    assert all("is over the cap of <$0.0001" in line for line in run.stdout.splitlines()), run.stdout


def test_a_cap_that_refuses_some_parts_is_exit_1(cli, tmp_path: Path) -> None:
    gid, store, parts = _cancelled_group(tmp_path, 20, 10)
    estimate, why = estimate_or_why(parts[0]["input_file"], MODEL, CostPolicy())
    assert estimate is not None and estimate.high, why
    cap = f"{estimate.high * 1.5:.6f}"  # room for the first part, not for the second on top of it
    run = cli("--store", store, "retry", "--max-cost", cap, gid)
    assert run.returncode == 1, run
    lines = run.stdout.splitlines()
    assert lines[0] == f"retried part 1/2 of group {gid} (queued)" and len(lines) == 2, lines
    assert lines[1].startswith(f"error: part 2/2 of group {gid}: estimated cost ~$") and "over the cap" in lines[1]
