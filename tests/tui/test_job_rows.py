"""The dashboard's view model without a terminal: filter syntax, sorting, the row cap, cells."""

from __future__ import annotations

from rich.console import Console
from tests.tui.sample_data import FIXED_NOW, many_records, sample_records

from gembatch_tui.tui.dashboard.cells import format_running
from gembatch_tui.tui.dashboard.rows import (
    ViewSpec,
    build_row,
    compute_view,
    format_duration,
    parse_filter,
    results_status,
)


def keys(spec: ViewSpec, records: list | None = None) -> list[str]:
    return [row.key for row in compute_view(records or sample_records(), spec, FIXED_NOW).rows]


def test_filter_words_and_states() -> None:
    assert keys(ViewSpec("digest")) == ["rec0006"]
    assert keys(ViewSpec("WEEKLY jsonl")) == ["rec0006"]  # every word, any case
    assert set(keys(ViewSpec("state:failed"))) == {"rec0005", "rec0009"}  # failed includes not sent
    assert set(keys(ViewSpec("state:run,pend"))) == {"rec0001", "rec0002"}
    assert set(keys(ViewSpec("state:active"))) == {"rec0001", "rec0002", "rec0008"}
    assert keys(ViewSpec("state:nonsense")) == []  # a typo shows nothing, not everything
    assert len(keys(ViewSpec("state:"))) == 11  # still being typed: no filter yet
    assert keys(ViewSpec("state:succ eval")) == ["rec0004"]
    assert parse_filter("  ").active is False


def test_presets_and_sorting() -> None:
    assert set(keys(ViewSpec(preset=2))) == {"rec0003", "rec0004", "rec0010"}  # succeeded
    by_name = keys(ViewSpec(sort=1))
    names = [r["display_name"] for r in sorted(sample_records(), key=lambda r: r["display_name"].lower())]
    assert by_name == [r["id"] for r in sorted(sample_records(), key=lambda r: r["display_name"].lower())]
    assert names[0] == "broken-upload.jsonl"
    assert keys(ViewSpec(sort=1, reverse=True)) == by_name[::-1]
    assert keys(ViewSpec())[0] == "rec0008"  # newest first by default


def test_cap_keeps_the_newest() -> None:
    view = compute_view(many_records(1500), ViewSpec(), FIXED_NOW, limit=1000)
    assert len(view.rows) == 1000 and view.matched == 1500 and view.total == 1500 and view.capped
    assert view.rows[0].key == "rec101499"
    assert sum(view.counts.values()) == 1500


def test_cells() -> None:
    running = next(r for r in sample_records() if r["id"] == "rec0001")
    row = build_row(running, FIXED_NOW)
    assert row.cells["state"].plain == "▶ running"
    assert row.cells["progress"].plain == "320/500 ✖3"
    assert row.cells["requests"].plain == "500"
    assert row.cells["created"].plain == "11:38" and row.cells["created_wide"].plain == "2026-11-23 11:38"
    assert row.cells["duration"].plain == "20m" and row.active  # 22 min, in the running jobs' coarse steps
    assert [format_duration(s) for s in (5, 125, 3 * 3600 + 120, 2 * 86400 + 3600)] == ["5s", "2m", "3h02m", "2d01h"]
    # A running job's time changes rarely (every cell repaint costs bytes on the wire): issue 18.
    assert [format_running(s) for s in (5, 299, 300, 22 * 60, 3599, 3 * 3600 + 19 * 60, 2 * 86400 + 3600)] == [
        "<5m", "<5m", "5m", "20m", "55m", "3h10m", "2d01h"]
    assert results_status({"batch": {"state": "JOB_STATE_SUCCEEDED"}}) == ("pending", "yellow")
    assert results_status({"results_file": "/nonexistent/x", "results_verified": True})[0] == "missing"
    assert results_status({"results_error": "boom"})[0] == "error"
    assert results_status({"batch": {"state": "JOB_STATE_RUNNING"}})[0] == "—"


def test_eta_of_a_running_job_at_its_rate_so_far() -> None:
    from datetime import datetime, timezone

    from gembatch_tui.tui.dashboard.detail_sections import render_record
    from gembatch_tui.tui.dashboard.cells import eta_seconds

    now = datetime(2026, 11, 23, 12, 10, tzinfo=timezone.utc)
    rec = {"id": "r", "count": 1000, "batch": {"name": "batches/r", "state": "JOB_STATE_RUNNING",
           "create_time": "2026-11-23T12:00:00Z", "stats": {"request_count": 1000, "successful_request_count": 190,
                                                           "failed_request_count": 10, "pending_request_count": 800}}}
    assert eta_seconds(rec, now) == 2400.0  # 200 done in 10 min: 800 left take 40 min
    console = Console(width=120, record=True)
    console.print(render_record(rec, now))
    assert "about 40m left at the rate so far" in console.export_text()
    assert eta_seconds({**rec, "batch": {**rec["batch"], "state": "JOB_STATE_SUCCEEDED"}}, now) is None
    none_done = {**rec, "batch": {**rec["batch"], "stats": {"request_count": 1000}}}
    assert eta_seconds(none_done, now) is None  # no rate yet


def test_a_results_check_of_one_reads_in_the_singular() -> None:
    from datetime import datetime, timezone

    from gembatch_tui.tui.dashboard.detail_sections import render_record

    rec = {"id": "r", "count": 1, "results_file": "/r.jsonl", "batch": {"name": "batches/r",
           "state": "JOB_STATE_SUCCEEDED"},
           "results_check": {"lines": 1, "ok": 0, "errors": 1, "missing": 0, "duplicates": 2}}
    console = Console(width=120, record=True)
    console.print(render_record(rec, datetime(2026, 11, 23, 12, 10, tzinfo=timezone.utc)))
    assert "1 line, 0 ok, 1 error, 0 missing, 2 duplicates" in console.export_text()


def test_progress_never_cuts_a_number() -> None:
    from gembatch_tui.tui.dashboard.cells import PROGRESS_FIT, progress_cell, short_count

    cases = {
        (320, 500, 3): "320/500 ✖3",
        (1234, 5000, 0): "1,234/5,000",
        (12345, 20000, 0): "12345/20000",
        (200000, 200000, 0): "200k/200k",  # was cut to "200000/20000": ten times what was sent
        (47633, 200000, 0): "47633/200000",
        (147633, 200000, 0): "147k/200k",
        (47633, 1200000, 0): "47.6k/1.2M",
        (199999, 200000, 0): "199k/200k",  # rounded down: not all of it yet
        (47633, 200000, 1234): "23% ✖1.2k",
        (2_000_000, 2_000_000, 12): "2M/2M ✖12",
    }
    for (done, total, failed), shown in cases.items():
        cell = progress_cell(done, total, failed)
        assert cell.plain == shown and len(cell.plain) <= PROGRESS_FIT, (done, total, failed, cell.plain)
    assert [short_count(n) for n in (999, 1000, 1999, 99_999, 100_000, 1_250_000)] == [
        "999", "1k", "1.9k", "99.9k", "100k", "1.2M"]


def test_results_cell_says_changed_when_the_file_is_not_the_size_verified(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"key": "a"}\n{"key": "b"}\n')
    record = {"results_file": str(path), "results_verified": True, "results_bytes": path.stat().st_size}
    assert results_status(record) == ("saved", "green")
    path.write_bytes(b'{"key": "a"}\n')  # cut short after it was verified
    assert results_status(record) == ("changed", "bold red")
    assert results_status({**record, "results_bytes": None})[0] == "saved"  # verified before sizes were kept


def test_an_unknown_state_in_the_filter_is_named_on_the_view_line() -> None:
    described = ViewSpec("state:sucess").describe()
    assert "no state sucess (f1 lists them)" in described and len(described) <= 78
    assert "no state" not in ViewSpec("state:succ").describe() and "no state" not in ViewSpec("state:").describe()
