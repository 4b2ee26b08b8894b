"""`gembatch-tui delete` of a split input's records: the part files go with the last one, and say so."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.models import batch_name

from tests.cli.conftest import Cli
from tests.split.support import KEY, MODEL, make_service, poll_until_idle, text_requests, write_lines


def test_delete_lists_and_removes_the_part_files_with_the_last_record(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(20))
    with Emulator(api_key=KEY, job_seconds=0.2) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=MODEL)
        poll_until_idle(service)
        folder = service.parts_root() / (out.group_id or "")
        names = [batch_name(r) or "" for r in sorted(service.store.read_all(), key=lambda r: r["group_part"])]
        cli = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        store = str(service.store.path)

        run = cli("--store", store, "delete", "--yes", names[0])
        assert run.returncode == 0, run.stderr
        assert "part files" not in run.stdout and folder.is_dir()

        run = cli("--store", store, "delete", "--yes", names[1])
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert f"  local part files {folder} (big.jsonl)" in lines  # listed before it goes
        assert f"deleted local part files {folder} (big.jsonl)" in lines
        assert not folder.exists() and service.store.read_all() == []
        assert (src.parent / "results" / "big.jsonl").is_file()
