"""`gembatch-tui usage` names each job by the id `list` prints, for a batch job and a real-time run alike, so the
JOB column can be pasted into `export` (QA: a real-time run showed as `realtime/61410`, which no command takes);
`usage --json` carries the same id as `job` beside its other fields."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli
from tests.realtime.conftest import KEY, write_input


def test_usage_job_column_is_the_listed_id(tmp_path: Path) -> None:
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        cli = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        realtime = write_input(tmp_path / "rt.jsonl", 3)
        batch = write_input(tmp_path / "batch.jsonl", 2)
        assert cli("run", str(realtime), "--realtime").returncode == 0
        assert cli("submit", str(batch)).returncode == 0
        assert cli("poll", "--interval", "0.2", "--timeout", "2").returncode == 0

        listed = {line.split()[1]: line.split()[0] for line in cli("list").stdout.splitlines()[1:]}
        assert set(listed) == {"rt.jsonl", "batch.jsonl"}, listed

        usage = cli("usage")
        assert usage.returncode == 0, usage
        rows = {line.split()[1]: line.split()[0] for line in usage.stdout.splitlines()[1:]
                if line.split()[1:2] in (["rt.jsonl"], ["batch.jsonl"])}
        assert rows == listed, usage.stdout  # the real-time run was `realtime/<id>`
        assert not any(job.startswith("realtime/") for job in rows.values())

        data = json.loads(cli("usage", "--json").stdout)
        by_name = {job["display_name"]: job for job in data["jobs"]}
        assert {name: job["job"] for name, job in by_name.items()} == listed
        assert by_name["rt.jsonl"]["batch"].startswith("realtime/") and by_name["rt.jsonl"]["prices"] == "interactive"

        exported = cli("export", rows["rt.jsonl"])  # what the column shows is a JOB every command takes
        assert exported.returncode == 0, exported
        assert len(exported.stdout.splitlines()) == 3
