"""Every path built from server or record data stays inside its directory: a `../` batch name, group id or
file name never leads a write elsewhere, and a record's results_file outside our results directory is never
written to. The downloads run against the emulator over real HTTP."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui.core import paths
from gembatch_tui.core.submit import groups
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.results.export import default_export_path
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.poll.merge import _target as merge_target
from gembatch_tui.core.models import SUCCEEDED, record_state
from gembatch_tui.core.poll.download import download_results
from gembatch_tui.core.poll.poller import poll_once
from gembatch_tui.core.submit.service import BatchService
from gembatch_tui.core.store import JobStore

KEY = "test-key-records-SECRET77"
EVIL_NAMES = ["../../../../escape", "..", ".", "a/../../escape", "..\\..\\escape", "x\x00y", "\x1b]52;c;AAAA\x07",
              "", "   ", "\u202eevil", "é" * 400]


@pytest.mark.parametrize("name", EVIL_NAMES)
def test_safe_component_is_one_harmless_name(name: str, tmp_path: Path) -> None:
    safe = paths.safe_component(name)
    assert safe and "/" not in safe and "\\" not in safe and safe.strip(".")
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in safe) and "\u202e" not in safe
    assert len(safe.encode()) <= paths.MAX_COMPONENT_BYTES
    assert paths.inside(tmp_path, tmp_path / safe) and (tmp_path / safe).parent == tmp_path
    (tmp_path / f".{safe}.12345678.partial").write_text("x")  # the longest name we make from it is still legal


@pytest.mark.parametrize("name", ["batch1.jsonl", "abc123", ".hidden.jsonl", "part-001-of-003.jsonl", "données.jsonl"])
def test_safe_component_leaves_ordinary_names_alone(name: str) -> None:
    assert paths.safe_component(name) == name


def test_inside_resolves_dots_and_links(tmp_path: Path) -> None:
    base = tmp_path / "results"
    base.mkdir()
    (base / "out").symlink_to(tmp_path)
    assert paths.inside(base, base / "a.jsonl") and paths.inside(base, base)
    assert not paths.inside(base, base / ".." / "a.jsonl")
    assert not paths.inside(base, tmp_path / "results2" / "a.jsonl")
    assert not paths.inside(base, base / "out" / "a.jsonl")  # through a link that leads out
    with pytest.raises(paths.UnsafePath, match="outside"):
        paths.ensure_inside(base, base / ".." / "x")


def test_own_results_file_only_where_we_write(tmp_path: Path) -> None:
    target = tmp_path / "results" / "a.jsonl"
    assert paths.own_results_file(str(target), target) == target
    assert paths.own_results_file(str(tmp_path / "results" / "a.abc.jsonl"), target) == tmp_path / "results" / "a.abc.jsonl"
    for other in (str(tmp_path / "etc" / "passwd"), str(tmp_path / "results" / ".." / "a.jsonl"), "results/a.jsonl",
                  123, None, ""):
        assert paths.own_results_file(other, target) is None, other


def test_results_paths_from_record_names_stay_in_their_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for name in ("..", "x/..", "."):
        assert paths.results_path_for(tmp_path / "in" / name, out).parent == out
    service = BatchService(JobStore(tmp_path / "store" / "jobs.jsonl"), GeminiClient(KEY, base_url="http://127.0.0.1:9"),
                           results_dir=out)
    for name in EVIL_NAMES:
        target = service.results_target({"batch": {"name": f"batches/{name}"}})
        assert target.parent == out and paths.inside(out, target), target
    part = service.results_target({"input_file": str(tmp_path / "parts" / "g" / ".."), "group_id": "g"})
    assert part.parent == tmp_path / "parts" / "g" / "results"
    # merge: the group id read from the store names the alternative beside the merged file
    parts = [{"group_input_file": str(tmp_path / "in" / "big.jsonl"), "group_id": "../../x"}]
    merged, alternative, _ours = merge_target(service, parts, "../../../x")
    assert merged.parent == out and alternative.parent == out


@pytest.mark.parametrize("gid", ["../x", "..", "a/b", ".hidden", "x\x00", "x\n", "", 5, None])
def test_parts_dir_refuses_anything_but_one_plain_name(tmp_path: Path, gid: object) -> None:
    assert groups.parts_dir(tmp_path, gid) is None
    assert groups.parts_dir(tmp_path, "0123abcd4567") == tmp_path / "0123abcd4567"


def test_default_export_path_stays_beside_the_results(tmp_path: Path) -> None:
    for name in ("batch.jsonl", "..", "\x1b[31m.jsonl"):
        dest = default_export_path(tmp_path / "results" / name, "csv")
        assert dest.parent == tmp_path / "results" and dest.name.endswith(".export.csv")
    assert default_export_path(tmp_path / "batch.jsonl", "jsonl") == tmp_path / "batch.export.jsonl"


# ----------------------------------------------------------------------------- downloads over real HTTP
@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY, job_seconds=0.3) as emulator:
        yield emulator


def _succeeded_job(emu: Emulator, tmp_path: Path) -> tuple[BatchService, dict]:
    src = tmp_path / "work" / "in" / "batch.jsonl"
    src.parent.mkdir(parents=True)
    src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}}) + "\n"
                           for i in range(3)))
    client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
    service = BatchService(JobStore(tmp_path / "work" / "store" / "jobs.jsonl"), client,
                           results_dir=tmp_path / "work" / "results")
    assert service.submit(src, model="gemini-2.5-flash").status == "submitted"
    deadline = time.monotonic() + 30
    while True:
        poll_once(service, download=False)
        [rec] = service.store.read_all()
        if record_state(rec) == SUCCEEDED:
            return service, rec
        assert time.monotonic() < deadline, rec
        time.sleep(0.05)


def _files_under(root: Path) -> set[Path]:
    return {Path(d) / f for d, _dirs, files in os.walk(root) for f in files}


def test_a_dotdot_batch_name_downloads_inside_the_results_dir(emu: Emulator, tmp_path: Path) -> None:
    """An adopted job: no input file, and the batch name as the server (or a damaged reply) gave it."""
    service, rec = _succeeded_job(emu, tmp_path)

    def adopt(r: dict) -> None:
        r.pop("input_file", None)
        r["batch"]["name"] = "batches/../../../../escape"

    service.store.update(rec["id"], adopt)
    before = _files_under(tmp_path)
    outcome = download_results(service, service.store.get(rec["id"]))
    assert outcome.ok, outcome.message
    results_dir = tmp_path / "work" / "results"
    new = _files_under(tmp_path) - before
    assert new and all(paths.inside(results_dir, f) or paths.inside(tmp_path / "work" / "store", f) for f in new), new
    saved = Path(service.store.get(rec["id"])["results_file"])
    assert saved.parent == results_dir and len(saved.read_text().splitlines()) == 3


def test_a_recorded_results_file_outside_is_never_written(emu: Emulator, tmp_path: Path) -> None:
    """An imported record whose results_file names someone else's file: the download goes to our own target."""
    service, rec = _succeeded_job(emu, tmp_path)
    precious = tmp_path / "elsewhere" / "precious.jsonl"
    precious.parent.mkdir()
    precious.write_text("not yours\n")
    service.store.update(rec["id"], lambda r: r.update(results_file=str(precious), results_verified=False))
    report = poll_once(service)
    assert not report.errors, report.errors
    assert precious.read_text() == "not yours\n" and os.listdir(precious.parent) == ["precious.jsonl"]
    saved = Path(service.store.get(rec["id"])["results_file"])
    assert saved == tmp_path / "work" / "results" / "batch.jsonl" and len(saved.read_text().splitlines()) == 3
