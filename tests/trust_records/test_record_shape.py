"""The shape check of store records (pure logic): each known field with a wrong JSON type is named, once."""

from __future__ import annotations

import json

import pytest

from gembatch_tui.core import models
from gembatch_tui.core.record_shape import problem


def good() -> dict:
    return {
        "id": "r1", "input_file": "/in/a.jsonl", "count": 5, "uploaded_file_name": "files/u1",
        "results_file": "/in/results/a.jsonl", "display_name": "a", "local_state": None,
        "results_check": {"ok": True}, "previous_attempts": [],
        "batch": {"name": "batches/x", "state": "JOB_STATE_SUCCEEDED", "display_name": "a", "model": "models/m",
                  "dest": {"file_name": "files/out"},
                  "stats": {"request_count": 5, "successful_request_count": "5"}},  # the wire's int64 strings
    }


def test_a_good_record_and_a_minimal_one_pass() -> None:
    assert problem(good()) is None
    assert problem({"id": "r2"}) is None
    assert problem({"id": "r3", "batch": None, "results_file": None}) is None  # null reads as absent everywhere
    assert problem({"input_file": "/in/a.jsonl"}) is None and problem({"batch": {"name": "batches/x"}}) is None


@pytest.mark.parametrize("line", [{}, {"note": "keep me"}, {"key": "k1", "request": {"contents": []}},
                                  {"batch": {"state": "JOB_STATE_RUNNING"}}, {"id": "", "input_file": ""}])
def test_a_line_that_names_no_job_is_not_a_record(line: dict) -> None:
    """Every record names its job (our own all have an id; gembatch's a batch or an input file): a line that names
    none, say a request line of a file given as --store, is left out and kept as it is, not read as a job."""
    assert problem(line) == "not a job record: it has no id, batch name or input file"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("batch",), "oops", "batch: expected an object, got a string"),
        (("batch",), [1], "batch: expected an object, got a list"),
        (("results_file",), 123, "results_file: expected a string, got an integer"),
        (("input_file",), {"a": 1}, "input_file: expected a string, got an object"),
        (("uploaded_file_name",), True, "uploaded_file_name: expected a string, got true/false"),
        (("display_name",), 1.5, "display_name: expected a string, got a number"),
        (("count",), "5", "count: expected an integer, got a string"),
        (("count",), True, "count: expected an integer, got true/false"),
        (("results_check",), "ok", "results_check: expected an object, got a string"),
        (("local_state",), 3, "local_state: expected a string, got an integer"),
        (("previous_attempts",), {}, "previous_attempts: expected a list, got an object"),
        (("batch", "name"), 5, "batch.name: expected a string, got an integer"),
        (("batch", "state"), ["x"], "batch.state: expected a string, got a list"),
        (("batch", "display_name"), {}, "batch.display_name: expected a string, got an object"),
        (("batch", "model"), 7, "batch.model: expected a string, got an integer"),
        (("batch", "dest"), "y", "batch.dest: expected an object, got a string"),
        (("batch", "dest", "file_name"), 9, "batch.dest.file_name: expected a string, got an integer"),
        (("batch", "stats"), [1, 2], "batch.stats: expected an object, got a list"),
        (("batch", "stats", "request_count"), "many", "batch.stats.request_count: expected an integer, got a string"),
        (("batch", "stats", "failed_request_count"), 1.5, "batch.stats.failed_request_count: expected an integer, got a number"),
    ],
)
def test_each_wrong_type_is_named(path: tuple[str, ...], value: object, message: str) -> None:
    record = good()
    target = record
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert problem(record) == message


def test_unknown_fields_are_never_judged() -> None:
    record = good()
    record.update(custom=[1, {"x": None}], note=5)
    record["batch"]["something_new"] = {"deep": [1]}
    assert problem(record) is None


def test_accessors_never_raise_on_wrong_types() -> None:
    """A record built elsewhere (not read through the store) may hold anything: every accessor answers."""
    weird_values: list[object] = ["oops", 5, [1], {"dest": "y", "stats": "s", "state": 5, "name": [], "display_name": 3},
                                  {"stats": {"request_count": float("inf"), "failed_request_count": [1]}}, None]
    for batch in weird_values:
        rec = {"batch": batch, "input_file": 5, "local_state": [1], "results_file": 123}
        assert models.batch_name(rec) is None
        assert isinstance(models.record_state(rec), str)
        assert all(isinstance(v, int) for v in models.record_stats(rec).values())
        assert isinstance(models.display_name(rec), str)
        assert models.text_field(rec, "results_file") is None
        assert models.dest_file_name(rec) is None
    assert models.batch_id(5) == "5"  # type: ignore[arg-type]
    assert models.normalise_state({"a": 1}) == models.UNSPECIFIED  # type: ignore[arg-type]
    snap = models.BatchSnapshot(name="batches/x", state=models.RUNNING, dest_file_name="files/o")
    assert snap.to_batch_dict({"dest": "y"})["dest"] == {"file_name": "files/o"}
    assert snap.to_batch_dict("not a dict")["name"] == "batches/x"  # type: ignore[arg-type]


def test_check_is_made_on_json_as_read() -> None:
    raw = '{"batch": {"name": "batches/x", "stats": {"request_count": 3}}, "count": 3}'
    assert problem(json.loads(raw)) is None
