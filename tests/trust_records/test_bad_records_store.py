"""A store holding records with wrong-typed fields: those are reported with their line and skipped, every other
record works, and the bad lines survive every write byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.store import DuplicateJob, JobStore, RecordNotFound

BAD_LINES = {
    2: ('{"id": "bad-batch", "batch": "oops"}', "batch: expected an object, got a string"),
    4: ('{"id": "bad-results", "batch": {"name": "batches/br", "state": "JOB_STATE_SUCCEEDED"}, "results_file": 123}',
        "results_file: expected a string, got an integer"),
    5: ('{"id":"bad-dest","batch":{"name":"batches/bd","dest":"y"}}   ', "batch.dest: expected an object, got a string"),
}


def good(i: int) -> str:
    return json.dumps({"id": f"g{i}", "input_file": f"/in/{i}.jsonl",
                       "batch": {"name": f"batches/g{i}", "state": "JOB_STATE_RUNNING"}})


def write_store(path: Path) -> list[str]:
    lines = [good(1), BAD_LINES[2][0], good(3), BAD_LINES[4][0], BAD_LINES[5][0], "{not json", good(7)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def test_bad_records_are_reported_with_path_and_line_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    write_store(path)
    store = JobStore(path)
    records, problems = store.read_with_problems()
    assert [r["id"] for r in records] == ["g1", "g3", "g7"]
    assert [r["id"] for r in store.read_all()] == ["g1", "g3", "g7"]
    by_line = {p.line_no: p for p in problems}
    assert sorted(by_line) == [2, 4, 5, 6]
    for line_no, (_raw, reason) in BAD_LINES.items():
        assert by_line[line_no].reason == reason and by_line[line_no].record
        assert str(by_line[line_no]) == f"{path} line {line_no}: {reason}; this record is skipped (kept in the file as it is)"
    assert not by_line[6].record and by_line[6].message.startswith(f"{path} line 6: not valid JSON")
    assert [p.message for p in store.problems()] == [p.message for p in problems]
    assert store.get("bad-batch") is None and store.find_by_batch_name("batches/br") is None


def test_update_and_remove_of_good_records_keep_bad_lines_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    lines = write_store(path)
    store = JobStore(path)
    store.update("g3", lambda r: r["batch"].update(state="JOB_STATE_SUCCEEDED"))
    store.update_many({"g1": lambda r: r.update(seen=1), "g7": lambda r: r.update(seen=7)})
    with pytest.raises(RecordNotFound):  # a skipped record is not there to change
        store.update("bad-batch", lambda r: r.update(batch={"name": "x"}))
    assert store.remove("bad-results") is False and store.remove("batches/bd") is False
    assert store.remove("g1") is True
    store.add({"id": "g8", "batch": {"name": "batches/g8"}})
    text = path.read_text(encoding="utf-8").split("\n")
    for raw in (lines[1], lines[3], lines[4], lines[5]):
        assert raw in text, raw
    fresh = JobStore(path)
    assert [r["id"] for r in fresh.read_all()] == ["g3", "g7", "g8"]
    assert fresh.find_by_batch_name("batches/g3")["batch"]["state"] == "JOB_STATE_SUCCEEDED"
    # Line numbers follow the lines to where they now stand (g1 is gone: every bad line moved up by one).
    assert [(p.line_no, p.reason) for p in fresh.problems() if p.record] == [
        (1, BAD_LINES[2][1]), (3, BAD_LINES[4][1]), (4, BAD_LINES[5][1])]
    assert [p.line_no for p in store.problems()] == [p.line_no for p in fresh.problems()]


def test_a_skipped_record_still_blocks_adding_its_job_again(tmp_path: Path) -> None:
    """Adding the job of a skipped record (an adopt, an import) would leave two records of it once the line is mended."""
    path = tmp_path / "jobs.jsonl"
    write_store(path)
    with pytest.raises(DuplicateJob, match="batches/br"):
        JobStore(path).add({"batch": {"name": "batches/br", "state": "JOB_STATE_RUNNING"}})
    with pytest.raises(DuplicateJob, match="bad-batch"):
        JobStore(path).add({"id": "bad-batch"})


def test_an_update_that_breaks_a_record_is_seen_the_same_by_this_process_and_a_fresh_one(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    store = JobStore(path)
    store.add_many([{"id": "a", "batch": {"name": "batches/a"}}, {"id": "b", "batch": {"name": "batches/b"}}])
    store.update("a", lambda r: r.update(results_file=5))
    assert [r["id"] for r in store.read_all()] == ["b"]
    assert [(p.line_no, p.reason) for p in store.problems()] == [(1, "results_file: expected a string, got an integer")]
    assert [(p.line_no, p.reason) for p in JobStore(path).problems()] == [(1, "results_file: expected a string, got an integer")]
    store.update("b", lambda r: r.update(x=1))
    assert json.loads(path.read_text().splitlines()[0])["results_file"] == 5  # the broken record is still kept


def test_a_file_of_no_job_records_given_as_the_store_is_never_written(tmp_path: Path) -> None:
    """QA: a request file given as --store by a slip was listed as jobs named `input:`, gained a store record on
    submit, and `delete input:` emptied it. Its lines are not records now, and a file with no record at all is
    not written to: every change is refused, naming it, and the file stays byte for byte."""
    import pytest

    from gembatch_tui.core.store import JobStore, StoreError

    path = tmp_path / "requests.jsonl"
    path.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "q"}]}]}}\n{"note": "keep me"}\n')
    before = path.read_bytes()
    store = JobStore(path)
    records, problems = store.read_with_problems()
    assert records == []
    assert [(p.line_no, p.reason) for p in problems] == [
        (1, "not a job record: it has no id, batch name or input file"),
        (2, "not a job record: it has no id, batch name or input file")]
    with pytest.raises(StoreError, match=r"requests\.jsonl: not a job store: none of its 2 lines is a job record "
                                         r"\(line 1: not a job record"):
        store.add({"input_file": str(tmp_path / "in.jsonl")})
    with pytest.raises(StoreError, match="not a job store"):
        store.remove_many(["input:"])
    assert path.read_bytes() == before
