"""Plain tests of what the confirm dialog is built from (plan.py) and of the path field's tab completion."""

from __future__ import annotations

from pathlib import Path

from gembatch_tui.core.submit.validate import validate_file
from gembatch_tui.tui.submit.paths import complete_path
from gembatch_tui.tui.submit.plan import REFUSE, SKIP, SUBMIT, plan_entry
from gembatch_tui.tui.submit.run import SubmitRequest

GOOD = '{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n'
EMBED = '{"key": "e", "request": {"content": {"parts": [{"text": "embed me"}]}}}\n'


def test_complete_path(tmp_path: Path) -> None:
    for name in ("basic.jsonl", "broken.jsonl", ".hidden.jsonl"):
        (tmp_path / name).write_text(GOOD)
    (tmp_path / "batches").mkdir()
    one = complete_path("bat", tmp_path)
    assert one.candidates == ["batches/"] and one.value == "batches/"
    two = complete_path("b", tmp_path)
    assert two.candidates == ["basic.jsonl", "batches/", "broken.jsonl"] and two.value == "b"
    assert complete_path("ba", tmp_path).value == "ba"  # basic and batches share only "ba"
    assert complete_path("bas", tmp_path).value == "basic.jsonl"
    assert complete_path(str(tmp_path) + "/bro", Path("/")).value == str(tmp_path) + "/broken.jsonl"
    assert ".hidden.jsonl" not in complete_path("", tmp_path).candidates
    assert complete_path(".h", tmp_path).value == ".hidden.jsonl"  # hidden entries when a dot is typed
    for nothing in ("", "   ", "*.jsonl", "zzz", "no-such-folder/x"):
        assert complete_path(nothing, tmp_path).candidates == [], nothing


def test_plan_entry_sorts_files(tmp_path: Path) -> None:
    good, copy, bad, embed = (tmp_path / n for n in ("good.jsonl", "copy.jsonl", "bad.jsonl", "embed.jsonl"))
    good.write_text(GOOD)
    copy.write_text(GOOD)
    bad.write_text("{oops}\n{}\n")
    embed.write_text(EMBED)
    request = SubmitRequest([good, copy, bad, embed], "gemini-2.5-flash")
    reports = {p: validate_file(p) for p in request.paths}
    seen: dict[str, Path] = {}
    first = plan_entry(good, reports[good], None, request, None, seen)
    assert (first.action, first.note) == (SUBMIT, "1 request")
    second = plan_entry(copy, reports[copy], None, request, None, seen)
    assert (second.action, second.note) == (SKIP, "same content as good.jsonl, also marked")
    refused = plan_entry(bad, reports[bad], None, request, None, seen)
    assert refused.action == REFUSE and refused.note.startswith("line 1: not valid JSON")
    assert "(+1 more)" in refused.note
    wrong_kind = plan_entry(embed, reports[embed], None, request, None, seen)
    assert wrong_kind.action == REFUSE and "embed" in wrong_kind.note.lower()
    earlier = {"id": "r", "batch": {"name": "batches/b1", "state": "JOB_STATE_SUCCEEDED"}}
    dup = plan_entry(good, reports[good], earlier, request, None, {})
    assert (dup.action, dup.note) == (SKIP, "as batches/b1")
    forced = SubmitRequest(request.paths, request.model, force=True)
    again = plan_entry(good, reports[good], earlier, forced, None, {})
    assert (again.action, again.note) == (SUBMIT, "1 request, again (already batches/b1)")
    interrupted = {"id": "r", "local_state": "submitting"}
    resumed = plan_entry(good, reports[good], interrupted, request, None, {})
    assert resumed.action == SUBMIT and resumed.note.startswith("an interrupted submission: resumed")
    unchecked = plan_entry(good, None, None, request, None, {})
    assert unchecked.action == SUBMIT and "checked again" in unchecked.note


def test_build_plan_asks_the_service_once_over_the_store(tmp_path: Path) -> None:
    import threading

    from gembatch_tui.core.store import JobStore
    from gembatch_tui.core.submit.service import BatchService
    from gembatch_tui.tui.submit.model import ReportCache
    from gembatch_tui.tui.submit.plan import build_plan

    moved, failed_before, fresh = (tmp_path / n for n in ("moved.jsonl", "failed.jsonl", "fresh.jsonl"))
    moved.write_text(GOOD)
    failed_before.write_text(GOOD.replace('"a"', '"f"'))
    fresh.write_text(GOOD.replace('"a"', '"n"'))
    cache = ReportCache()
    store = JobStore(tmp_path / "store" / "jobs.jsonl")
    store.add_many([
        {"id": f"other{i}", "input_file": f"/elsewhere/{i}.jsonl", "batch": {"name": f"batches/o{i}"}} for i in range(50)
    ] + [
        # the same content under another path: a duplicate by sha256
        {"id": "m", "input_file": "/old/place.jsonl", "input_sha256": cache.validate(moved).sha256,
         "batch": {"name": "batches/moved-1", "state": "JOB_STATE_RUNNING"}},
        # a failed job of the same path: submitting again is allowed (the service's RESUBMITTABLE)
        {"id": "f", "input_file": str(failed_before), "batch": {"name": "batches/f1", "state": "JOB_STATE_FAILED"}},
    ])
    request = SubmitRequest([moved, failed_before, fresh], "gemini-2.5-flash")
    reads = []
    real_read = store.read_all
    store.read_all = lambda: reads.append(1) or real_read()  # type: ignore[method-assign]
    plan = build_plan(BatchService(store, client=None), request, cache, None, None, threading.Event())
    assert plan is not None and len(reads) == 1
    assert [(e.path.name, e.action, e.note) for e in plan.entries] == [
        ("moved.jsonl", SKIP, "as batches/moved-1"),
        ("failed.jsonl", SUBMIT, "1 request"),
        ("fresh.jsonl", SUBMIT, "1 request"),
    ]
    assert plan.counts_line() == "2 to submit · 1 duplicate skipped"
    assert build_plan(None, request, cache, None, None, threading.Event()) is not None  # no service: no check
    cancelled = threading.Event()
    cancelled.set()
    assert build_plan(None, request, cache, None, None, cancelled) is None
