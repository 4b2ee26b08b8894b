"""The resources inventory links media files to the jobs that name them: role "media", never an orphan, active
while the job runs, and never part of the clean-up set (later jobs reuse them; they expire on their own)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from gembatch_tui.core.cleanup import flags
from gembatch_tui.core.cleanup import remote as res
from gembatch_tui.emulator import Emulator
from tests.split.support import KEY, MODEL, make_service, poll_until_idle, write_lines


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.now, timezone.utc)


def test_media_files_belong_to_their_job(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"\x89PNG a" * 10)
    (tmp_path / "in" / "b.jpg").write_bytes(b"\xff\xd8 b" * 10)
    src = write_lines(tmp_path / "in" / "pics.jsonl", [
        {"key": "k1", "request": {"contents": [{"parts": [{"text": "[[FILE:a.png]] and [[FILE:b.jpg]]"}]}]}}])
    clock = Clock()
    with Emulator(api_key=KEY, job_seconds=100, clock=clock) as emu:
        service = make_service(emu, tmp_path)
        out = service.submit(src, model=MODEL)
        assert out.status == "submitted", out.line()
        media = {f["name"] for f in emu.files_snapshot() if f["mime_type"] != "jsonl"}
        assert len(media) == 2

        inv, _records = res.list_inventory(service, clock.utc)
        rows = [r for r in inv.files if r.name in media]
        assert [(r.role, r.job_name, r.job_label) for r in rows] == [("media", out.batch_name, "pics.jsonl")] * 2
        assert all(r.flags == {flags.ACTIVE} for r in rows)  # not an orphan; in use while the job runs
        plan = res.actions_for(rows, service.store.read_all())
        assert plan.actions == [] and len(plan.refused) == 2

        clock.now += 200
        poll_until_idle(service)
        inv, records = res.list_inventory(service, clock.utc)
        rows = [r for r in inv.files if r.name in media]
        assert [(r.role, r.flags, r.record_key) for r in rows] == [("media", frozenset(), None)] * 2
        assert media.isdisjoint(a.target for a in res.safe_actions(inv, records))  # clean-up leaves them
        assert inv.summary.counts[flags.ORPHAN] == 0
        # Deleting one by hand is allowed, and does not mark the job's own input file as deleted.
        [action, _] = res.actions_for(rows, records).actions
        assert (action.kind, action.record_key) == ("input", "")
        assert emu.server_errors == []
