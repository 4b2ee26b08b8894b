"""A split input's part files go with the group's last record, and only when nothing still needs them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gembatch_tui.core.cleanup.cancel import cancel_job
from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup import plan as cleanup
from gembatch_tui.core.submit import groups
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.models import CANCELLED
from gembatch_tui.core.submit.service import BatchService

from .support import KEY, MODEL, make_service, poll_until_idle, text_requests, write_lines


def _delete(service: BatchService, records: list[dict]) -> list[cleanup.ActionResult]:
    actions = [a for r in records for a in cleanup.plan_delete(r, local_record=True).actions]
    return execute(service, actions)


def _parts(service: BatchService) -> list[dict]:
    return sorted(service.store.read_all(), key=lambda r: r["group_part"])


def test_deleting_the_last_record_of_a_merged_group_removes_its_parts_dir(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "big.jsonl", text_requests(30))
    with Emulator(api_key=KEY, job_seconds=0.2) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=MODEL)
        poll_until_idle(service)
        folder = service.parts_root() / (out.group_id or "")
        assert all(p["group_results_verified"] for p in _parts(service)) and folder.is_dir()
        stale = service.parts_root() / ".0123abcd.tmp"  # a split that crashed long ago
        stale.mkdir()
        os.utime(stale, (0, 0))

        results = _delete(service, _parts(service)[:2])
        assert all(r.ok for r in results) and not [r for r in results if r.action.kind == "parts"]
        assert folder.is_dir() and len(service.store.read_all()) == 1  # part 3 still has its record

        last = _parts(service)
        actions = cleanup.plan_delete(last[0], local_record=True).actions
        preview = cleanup.freed_parts(service.store.read_all(), actions, service.parts_root())
        assert [(a.kind, a.target) for a in preview] == [("parts", str(folder))]
        assert preview[0].describe() == f"local part files {folder} (big.jsonl)"
        results = execute(service, actions)
        [parts] = [r for r in results if r.action.kind == "parts"]
        assert parts.ok and not parts.warning
        assert not folder.exists() and not stale.exists()
        assert service.store.read_all() == []
        assert (src.parent / "results" / "big.jsonl").is_file()  # the merged results are not part files


def test_unmerged_part_results_are_kept_and_a_removal_error_does_not_fail_the_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_lines(tmp_path / "in" / "half.jsonl", text_requests(20))
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=MODEL)
        assert cancel_job(service, _parts(service)[1]) == CANCELLED
        poll_until_idle(service)  # part 1 succeeds, its results saved in the parts dir; no merge
        folder = service.parts_root() / (out.group_id or "")
        assert _parts(service)[0]["results_verified"] and not _parts(service)[0].get("group_results_file")

        every = [a for r in _parts(service) for a in cleanup.plan_delete(r, local_record=True).actions]
        assert cleanup.freed_parts(service.store.read_all(), every, service.parts_root()) == []
        results = _delete(service, _parts(service))
        [kept] = [r for r in results if r.action.kind == "parts"]
        assert not kept.ok and kept.warning
        assert kept.message == f"kept {folder}: it holds results of parts that were never merged"
        assert folder.is_dir() and service.store.read_all() == []

        # A group without saved part results goes; an OSError is reported, the records are deleted anyway.
        other = service.submit(write_lines(tmp_path / "in" / "other.jsonl", text_requests(20, prefix="o")),
                               model=MODEL)
        for part in _parts(service):
            cancel_job(service, part)
        poll_until_idle(service)

        def broken_rmtree(path: object, **kw: object) -> None:
            handler = kw.get("onexc") or kw.get("onerror")
            error = PermissionError(13, "Permission denied")
            args = error if "onexc" in kw else (PermissionError, error, None)
            handler(None, str(path), args)  # type: ignore[operator]

        monkeypatch.setattr(groups.shutil, "rmtree", broken_rmtree)
        results = _delete(service, _parts(service))
        [failed] = [r for r in results if r.action.kind == "parts"]
        other_dir = service.parts_root() / (other.group_id or "")
        assert not failed.ok and failed.warning
        assert failed.message == f"cannot remove part files: {other_dir}: Permission denied"
        assert service.store.read_all() == [] and all(r.ok for r in results if r.action.kind != "parts")
