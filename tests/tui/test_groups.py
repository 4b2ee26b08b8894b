"""A split input (a group of part jobs) on the dashboard: one row that expands to its parts, keys that stay put."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.sample_data import GROUP_ID, GROUP_KEYS, FIXED_NOW, fixed_clock, group_records, sample_records, write_store
from tests.tui.sample_data import write_results_files
from tests.tui.tui_helpers import footer_keys, loaded, offline_service, screen_text, wait_for

from gembatch_tui.tui.app import make_app
from gembatch_tui.core.config import Settings
from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.dashboard.screen import DashboardScreen
from gembatch_tui.tui.dashboard.detail import DetailScreen
from gembatch_tui.tui.dashboard.groups import group_key
from gembatch_tui.tui.dashboard.rows import ViewSpec, compute_view
from gembatch_tui.tui.dashboard.table import JobTable

GROUP = group_key(GROUP_ID)


def group_store(tmp_path: Path, *, with_sample: bool = False) -> JobStore:
    write_results_files()
    other = [r for r in sample_records() if r["id"] == "rec0005"]  # one failed job beside the group
    records = (sample_records() if with_sample else other) + group_records()
    return JobStore(write_store(tmp_path / "groups" / "jobs.jsonl", records))


def app_for(store: JobStore) -> Any:
    return make_app(Settings(store_path=store.path, bell=False), store=store, service=offline_service(store),
                    clock=fixed_clock, poll=False)


def table(app: Any) -> JobTable:
    return app.screen.query_one(JobTable)


def row_text(t: JobTable, key: str) -> str:
    return " ".join(cell.plain for cell in t.get_row(key))


def test_the_view_model() -> None:
    write_results_files()
    records = [r for r in sample_records() if r["id"] == "rec0005"] + group_records()
    collapsed = compute_view(records, ViewSpec(), FIXED_NOW)
    assert [r.key for r in collapsed.rows] == [GROUP, "rec0005"]
    group = collapsed.rows[0]
    assert group.is_group and group.state == "JOB_STATE_RUNNING"  # one part running, one queued
    assert group.cells["name"].plain == "▸ big-input.jsonl" and group.cells["name"].tail.plain == " 3 parts"
    assert group.cells["progress"].plain == "142/300 ✖2"  # summed over the parts, of the original's 300
    assert group.cells["results"].plain == "1/3"  # one part's results saved, nothing merged yet
    assert collapsed.total == 2 and collapsed.matched == 2
    # a part cancelled while another still runs: the group runs on, and its row says which part ended how
    queued_part = next(r for r in records if r.get("group_part") == 3)
    queued_part["local_state"] = "cancelled"
    running = compute_view(records, ViewSpec(), FIXED_NOW).rows[0]
    assert running.state == "JOB_STATE_RUNNING" and running.active
    assert running.cells["name"].tail.plain == " 3 parts, 1 cancelled"
    queued_part["local_state"] = "queued"
    expanded = compute_view(records, ViewSpec(), FIXED_NOW, expanded={GROUP_ID})
    assert [r.key for r in expanded.rows] == [GROUP, *GROUP_KEYS, "rec0005"]
    assert [r.cells["name"].plain for r in expanded.rows[1:4]] == [
        "  [1/3] big-input.jsonl", "  [2/3] big-input.jsonl", "  [3/3] big-input.jsonl"]
    assert expanded.rows[3].cells["state"].plain == "⋯ queued"
    assert expanded.shown == 2 and not expanded.capped
    # filters match the group when any part matches, and keep it one entry
    for text, keys in (("state:queued", [GROUP]), ("state:succeeded", [GROUP]), ("state:failed", ["rec0005"]),
                       ("big-input", [GROUP]), ("state:expired", [])):
        assert [r.key for r in compute_view(records, ViewSpec(text), FIXED_NOW).rows] == keys, text
    # the cap counts part rows too
    capped = compute_view(records, ViewSpec(), FIXED_NOW, limit=3, expanded={GROUP_ID})
    assert [r.key for r in capped.rows] == [GROUP, *GROUP_KEYS[:2]] and capped.capped


async def test_expand_collapse_and_open_a_part(tmp_path: Path) -> None:
    app = app_for(group_store(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 2))
        t = table(app)
        assert t.shown_keys == [GROUP, "rec0005"]
        assert t.selected_key == GROUP
        assert "▸ big-input.… 3 parts" in screen_text(app)  # the name is cut, the count stays visible
        # a group row cancels its unfinished parts at once; no delete while a part runs; space expands it
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        assert dash.check_action("cancel_job", ()) is True and dash.check_action("delete_job", ()) is False
        await wait_for(pilot, lambda: "c" in footer_keys(app), what="c in the footer")
        assert "d" not in footer_keys(app) and {"q", "f1"} <= footer_keys(app)  # Quit and Help still fit at 80

        await pilot.press("space")
        await wait_for(pilot, loaded(app, 5), what="the parts")
        assert t.shown_keys == [GROUP, *GROUP_KEYS, "rec0005"]
        assert t.selected_key == GROUP
        text = screen_text(app)
        assert "▾ big-input.… 3 parts" in text
        for i in (1, 2, 3):
            assert f"  [{i}/3] big-input" in text
        assert "⋯ queued" in text and "▶ running" in text and "✔ succeeded" in text

        await pilot.press("space")  # collapse again
        await wait_for(pilot, loaded(app, 2), what="the group collapsed")
        assert t.selected_key == GROUP

        await pilot.press("right")  # → expands, ← collapses even from a part, back onto the group row
        await wait_for(pilot, loaded(app, 5))
        await pilot.press("down", "down")
        assert t.selected_key == GROUP_KEYS[1]
        await pilot.press("left")
        await wait_for(pilot, loaded(app, 2))
        assert t.selected_key == GROUP

        await pilot.press("enter")  # enter on a group toggles it ...
        await wait_for(pilot, loaded(app, 5))
        await pilot.press("down", "down", "down")
        assert t.selected_key == GROUP_KEYS[2]
        await pilot.press("enter")  # ... and opens a part's details
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        text = screen_text(app)
        assert "part 3 of 3 of big-input.jsonl" in text and "waiting for its turn" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert table(app).selected_key == GROUP_KEYS[2]
        assert "space" not in footer_keys(app)  # on a part, space (or ←) collapses without a footer entry
        await pilot.press("space")
        await wait_for(pilot, loaded(app, 2))
        assert t.selected_key == GROUP


async def test_in_place_update_keeps_keys_and_cursor(tmp_path: Path) -> None:
    store = group_store(tmp_path)
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 2))
        t = table(app)
        await pilot.press("space")
        await wait_for(pilot, loaded(app, 5))
        await pilot.press("down", "down")  # the running part
        assert t.selected_key == GROUP_KEYS[1]
        row_before = t.cursor_row

        def progress(rec: dict[str, Any]) -> None:
            rec["batch"]["stats"]["successful_request_count"] = 90

        store.update(GROUP_KEYS[1], progress)
        app.load_jobs()
        await wait_for(pilot, lambda: "92/100 ✖2" in row_text(t, GROUP_KEYS[1]), what="the part's new progress")
        await wait_for(pilot, lambda: "192/300" in row_text(t, GROUP), what="the group's new sum")
        assert t.selected_key == GROUP_KEYS[1] and t.cursor_row == row_before
        assert t.shown_keys == [GROUP, *GROUP_KEYS, "rec0005"]

        # the queued part gets its job: the group row keeps its key, the cursor stays on it
        await pilot.press("up", "up")
        assert t.selected_key == GROUP

        def started(rec: dict[str, Any]) -> None:
            rec.pop("local_state", None)
            rec["batch"] = {"name": "batches/job0023", "state": "JOB_STATE_PENDING",
                            "create_time": FIXED_NOW.isoformat(), "stats": {"request_count": 100}}

        store.update(GROUP_KEYS[2], started)
        app.load_jobs()
        await wait_for(pilot, lambda: "◌ pending" in row_text(t, GROUP_KEYS[2]), what="the part pending")
        assert t.selected_key == GROUP and t.cursor_row == 0


async def test_filter_by_state_matches_the_group(tmp_path: Path) -> None:
    app = app_for(group_store(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 2))
        await pilot.press("slash", *"state:queued", "enter")
        await wait_for(pilot, loaded(app, 1), what="only the group")
        assert table(app).shown_keys == [GROUP]
        assert "1 of 2 jobs match" in screen_text(app)
        await pilot.press("space")  # expanded under a filter: all its parts
        await wait_for(pilot, loaded(app, 4))
        await pilot.press("escape")
        await pilot.press("slash", *"state:failed", "enter")
        await wait_for(pilot, loaded(app, 1))
        assert table(app).shown_keys == ["rec0005"]
        await pilot.press("escape")
        await wait_for(pilot, loaded(app, 5))  # still expanded
        await pilot.press("t")  # active: running, pending, submitting, queued
        await wait_for(pilot, lambda: table(app).shown_keys == [GROUP, *GROUP_KEYS])


async def test_cancel_a_queued_part_from_the_dashboard(tmp_path: Path) -> None:
    store = group_store(tmp_path)
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 2))
        await pilot.press("space")
        await wait_for(pilot, loaded(app, 5), what="the parts")
        t = table(app)
        queued_key = GROUP_KEYS[2]
        t.move_cursor(row=t.get_row_index(queued_key))
        await wait_for(pilot, lambda: t.selected_key == queued_key and "c" in footer_keys(app), what="c on the queued part")
        await pilot.press("c")
        await wait_for(pilot, lambda: "queued part" in screen_text(app) and "never sent" in screen_text(app),
                       what="the queued wording in the dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: store.get(queued_key).get("local_state") == "cancelled", what="record cancelled")
        from gembatch_tui.core.models import record_state

        assert record_state(store.get(queued_key)) == "JOB_STATE_CANCELLED"
        assert record_state(store.get(GROUP_KEYS[0])) == "JOB_STATE_SUCCEEDED"  # the other parts are untouched
