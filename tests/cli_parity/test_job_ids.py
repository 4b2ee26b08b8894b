"""One job id everywhere: the id `list` prints (or any unique start of it) is accepted by every command."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.models import CANCELLED, batch_name, record_state
from tests.cli_parity.test_parity_cli import KEY, _cli, _input, _store


def _listed_ids(cli) -> list[str]:  # noqa: ANN001
    lines = cli("list").stdout.splitlines()[1:]
    return [line.split()[0] for line in lines]


def test_the_id_list_prints_works_in_export_cancel_and_delete(tmp_path: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        cli = _cli(tmp_path, emu)
        assert cli("submit", str(_input(tmp_path / "in" / "a.jsonl"))).returncode == 0
        assert cli("poll", "--interval", "0.2", "--timeout", "1").returncode == 0
        [done] = _listed_ids(cli)
        assert len(done) == 14
        exported = cli("export", done, "--format", "jsonl")
        assert exported.returncode == 0, exported.stderr
        assert sorted(json.loads(line)["key"] for line in exported.stdout.splitlines()) == ["k0", "k1", "k2"]
        assert cli("export", done[:6]).returncode == 0  # a shorter unique start
        deleted = cli("delete", "--yes", done)
        assert deleted.returncode == 0, deleted.stderr
        assert _listed_ids(cli) == []
    with Emulator(api_key=KEY, job_seconds=3600) as slow:
        (tmp_path / "slow").mkdir()
        cli = _cli(tmp_path / "slow", slow)
        assert cli("submit", str(_input(tmp_path / "in" / "b.jsonl", word="b"))).returncode == 0
        [running] = _listed_ids(cli)
        cancelled = cli("cancel", running)
        assert cancelled.returncode == 0, cancelled.stderr
        assert record_state(_store(cli).read_all()[0]) == CANCELLED


def test_any_unique_start_names_the_job_in_every_command(tmp_path: Path) -> None:
    """CONTRACTS.md: JOB is the id as `list` prints it or any unique prefix of it. Three characters used to be
    refused as "too short" (the rule asked for 6)."""
    with Emulator(api_key=KEY, job_seconds=3600) as emu:
        cli = _cli(tmp_path, emu)
        assert cli("submit", str(_input(tmp_path / "in" / "a.jsonl"))).returncode == 0
        [job] = _listed_ids(cli)
        name = batch_name(_store(cli).read_all()[0])
        start = job[:3]
        run = cli("retry", start)  # names the job: it is refused for what it is, not as "no such job"
        assert run.returncode == 2 and f"{name} is not a part of a split input" in run.stdout, run
        run = cli("cancel", start)
        assert run.returncode == 0 and record_state(_store(cli).read_all()[0]) == CANCELLED, run
        run = cli("export", start)  # found: it has no results to export
        assert run.returncode == 2 and "ended CANCELLED without results" in run.stderr, run
        run = cli("delete", "--yes", start)
        assert run.returncode == 0 and _store(cli).read_all() == [], run
        run = cli("export", start)
        assert run.returncode == 2 and "no such job" in run.stderr, run


def test_a_record_without_a_job_is_listed_by_the_id_every_command_takes(tmp_path: Path) -> None:
    """A submission that failed (nothing reached the server) has no batch id: list prints its record id, and
    delete takes it, so the row can be cleared without digging the id out of list --json."""
    import socket

    from tests.cli.conftest import Cli

    with socket.socket() as sock:  # a port nobody listens on: the submission fails
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    (tmp_path / "home").mkdir()
    cli = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": dead})
    assert cli("submit", str(_input(tmp_path / "in" / "a.jsonl"))).returncode == 1
    [failed] = _listed_ids(cli)
    record = _store(cli).read_all()[0]
    assert failed != "-" and record["id"].startswith(failed)
    deleted = cli("delete", "--yes", failed)
    assert deleted.returncode == 0, deleted.stderr
    assert _store(cli).read_all() == []
