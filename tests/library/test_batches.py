"""`from gembatch_tui import Batches`: submit, wait, results, cancel, delete and cleanup over the real SDK and the
emulator, in the store the CLI and the app use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui import Batches, BatchesError, Job
from gembatch_tui.core.config import MISSING_KEY_MESSAGE
from gembatch_tui.emulator import Emulator
from tests.manual_clock import ManualClock

from .conftest import KEY, write_input

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def batches(emulator: Emulator) -> Iterator[Batches]:
    b = Batches(api_key=KEY, base_url=emulator.url)
    yield b
    b.close()


def test_submit_wait_and_iterate_joined_results(batches: Batches, tmp_path: Path) -> None:
    path = write_input(tmp_path / "in" / "questions.jsonl", 4)
    [sub] = batches.submit([path], display_name="lib-run")
    assert sub.status == "submitted" and sub.line.startswith("submitted batches/") and sub.line.endswith("(4 requests)")
    [job] = sub.jobs
    assert job.name and job.display_name == "lib-run" and job.request_count == 4 and not job.done
    seen: list[list[str]] = []
    [done] = batches.wait(sub.jobs, timeout=120, interval=0.2, progress=lambda js: seen.append([j.state for j in js]))
    assert seen and seen[-1] == ["SUCCEEDED"] and done.done and done.succeeded_count == 4
    assert done.results_file == str(tmp_path / "in" / "results" / "questions.jsonl")
    rows = list(batches.results(done))
    assert [r["key"] for r in rows] == [f"q-{i}" for i in range(4)]
    assert all(r["status"] == "ok" and r["response_text"] and r["error"] is None for r in rows)
    assert rows[2]["request"] == {"contents": [{"parts": [{"text": "q question 2"}]}]}
    assert rows[0]["total_tokens"] and rows[0]["prompt_tokens"]
    again = batches.submit([path])
    assert again[0].status == "skipped" and again[0].jobs[0].name == job.name  # submitted once


def test_a_job_from_the_library_is_in_the_store_the_cli_and_app_read(batches: Batches, emulator: Emulator,
                                                                     tmp_path: Path) -> None:
    [sub] = batches.submit([write_input(tmp_path / "shared.jsonl", 2)])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    listed = subprocess.run([sys.executable, "-m", "gembatch_tui", "list", "--json"], capture_output=True, text=True,
                            env=env, stdin=subprocess.DEVNULL, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert [r["batch"]["name"] for r in json.loads(listed.stdout)] == [sub.jobs[0].name]
    assert KEY not in batches.store_path.read_text()


def test_any_id_form_the_cli_takes(batches: Batches, tmp_path: Path) -> None:
    path = write_input(tmp_path / "ids.jsonl", 2)
    [job] = batches.submit([path])[0].jobs
    assert job.name is not None
    bare = job.name.split("/", 1)[1]
    for ref in (job, job.name, bare, job.id, job.id[:10], str(path)):
        assert batches.get(ref).id == job.id, ref
    with pytest.raises(BatchesError, match=r"batches/nope: no such job in "):
        batches.get("batches/nope")


def test_bad_input_submits_nothing_and_names_each_line(batches: Batches, emulator: Emulator, tmp_path: Path) -> None:
    good = write_input(tmp_path / "good.jsonl", 2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\nthis is not json\n')
    with pytest.raises(BatchesError) as caught:
        batches.submit([good, bad])
    assert str(caught.value).startswith(f"{bad}:2: ") and "nothing submitted" in str(caught.value)
    assert caught.value.problems and all(p.startswith(f"{bad}:2: ") for p in caught.value.problems)
    assert emulator.batches_snapshot() == [] and batches.list() == []
    with pytest.raises(BatchesError, match=r"^kind: 'zzz' is not one of auto, generate, embed$"):
        batches.submit([good], kind="zzz")
    assert emulator.batches_snapshot() == []
    [sub] = batches.submit([good], kind="auto")  # as the CLI and the REST service take it
    assert sub.status == "submitted" and len(emulator.batches_snapshot()) == 1


def test_split_input_waits_and_reads_back_merged(batches: Batches, tmp_path: Path) -> None:
    path = write_input(tmp_path / "big.jsonl", 5)
    [sub] = batches.submit([path], max_requests_per_job=2)
    assert len(sub.jobs) == 3 and len({j.group_id for j in sub.jobs}) == 1
    group = sub.jobs[0].group_id
    assert group is not None
    done = batches.wait(group, timeout=120, interval=0.2)
    assert [j.state for j in done] == ["SUCCEEDED"] * 3
    assert [r["key"] for r in batches.results(group)] == [f"q-{i}" for i in range(5)]
    assert [j.id for j in batches.jobs(str(path))] == [j.id for j in sub.jobs]


def test_wait_timeout_cancel_delete_and_cleanup(tmp_path: Path) -> None:
    clock = ManualClock()
    with Emulator(api_key=KEY, job_seconds=600, clock=clock) as emu, Batches(api_key=KEY, base_url=emu.url) as b:
        [slow] = b.submit([write_input(tmp_path / "slow.jsonl", 2)])[0].jobs
        [fast] = b.submit([write_input(tmp_path / "fast.jsonl", 2, tag="f")])[0].jobs
        with pytest.raises(BatchesError, match="after the timeout; it keeps running on the server") as caught:
            b.wait(slow, timeout=0.5, interval=0.1)
        assert [j.id for j in caught.value.jobs] == [slow.id]
        with pytest.raises(BatchesError, match="cancel it first"):
            b.delete(slow)
        [cancelled] = b.cancel(slow)
        assert cancelled.state == "CANCELLED"
        with pytest.raises(BatchesError, match="nothing to cancel"):
            b.cancel(slow)
        lines = b.delete(slow)
        assert any(line.startswith(f"deleted remote batch job {slow.name}") for line in lines)
        assert [j.id for j in b.list()] == [fast.id]
        clock.advance(601)
        b.wait(fast, timeout=60, interval=0.1)
        plan = b.cleanup()
        assert len(plan.planned) == 3 and plan.deleted == [] and len(emu.batches_snapshot()) == 1
        done = b.cleanup(dry_run=False)
        assert len([d for d in done.deleted if d.endswith("(fast.jsonl)")]) == 3 and done.failed == []
        assert emu.batches_snapshot() == [] and Path(b.get(fast).results_file or "").is_file()


def test_without_a_key_reading_works_and_the_rest_says_which_key(tmp_path: Path) -> None:
    with Batches() as b:
        assert b.list() == [] and b.list(state="active") == []
        with pytest.raises(BatchesError) as caught:
            b.submit([write_input(tmp_path / "x.jsonl", 1)])
        assert str(caught.value) == MISSING_KEY_MESSAGE
        with pytest.raises(BatchesError, match="--state: |state: "):
            b.list(state="finished")


def test_importing_the_package_stays_light() -> None:
    code = ("import sys, gembatch_tui; assert 'google.genai' not in sys.modules and 'gembatch_tui.core.store' not in "
            "sys.modules; from gembatch_tui import Batches, Job; assert 'google.genai' not in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.stdout.strip() == "ok", done.stderr
    assert isinstance(Job, type)
