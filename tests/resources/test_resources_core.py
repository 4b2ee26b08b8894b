"""core.resources against the emulator: flags, the safe set, protection, adopt, cancel all, per-item failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.resources.res_canned import EXPECTED, FIXED_NOW, canned
from tests.resources.res_scenario import Scenario

from gembatch_tui.core.cleanup.flags import SAFE, BatchRow, Inventory, classify
from gembatch_tui.core.cleanup import remote as res
from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup.plan import plan_cleanup
from gembatch_tui.core.models import CANCELLED, SUCCEEDED, needs_download, record_state
from gembatch_tui.core.poll.poller import poll_once

EXPECTED_FLAGS = {
    "safe_batch": {"safe"}, "safe_input": {"safe"}, "safe_output": {"safe"},
    "prot_batch": {"protected"}, "prot_input": {"protected"}, "prot_output": {"protected"},
    "cancel_batch": {"safe"}, "cancel_input": {"safe"},
    "active_batch": {"active"}, "active_input": {"active"},
    "orphan_batch": {"orphan", "protected"}, "orphan_input": {"orphan"}, "orphan_output": {"orphan", "protected"},
    "loose_file": {"orphan"}, "old_file": {"orphan", "expiring"},
}
SAFE_SET = {"safe_batch", "safe_input", "safe_output", "cancel_batch", "cancel_input"}


def inventory(sc: Scenario) -> Inventory:
    inv, _ = res.list_inventory(sc.service, sc.clock.utc)
    return inv


def test_every_row_has_the_right_flags(scenario: Scenario) -> None:
    inv = inventory(scenario)
    got = {row.name: set(row.flags) for row in inv.rows()}
    assert got == {scenario.names[k]: v for k, v in EXPECTED_FLAGS.items()}
    s = inv.summary
    assert (s.files, s.batches, s.active_jobs) == (10, 5, 1)
    assert s.counts == {"active": 2, "protected": 5, "safe": 5, "orphan": 5, "expiring": 1}
    assert s.bytes_used == sum(f["size_bytes"] for f in scenario.emulator.files_snapshot())
    by_name = inv.by_name()
    assert by_name[scenario.names["prot_output"]].role == "output"
    assert by_name[scenario.names["safe_input"]].job_label == "safe.jsonl"
    assert by_name[scenario.names["orphan_output"]].job_name == scenario.names["orphan_batch"]
    assert not by_name[scenario.names["orphan_batch"]].in_store


def test_the_safe_set_is_the_cleanup_plan_restricted_to_the_server(scenario: Scenario) -> None:
    records = scenario.store.read_all()
    inv = inventory(scenario)
    safe = {a.target for a in res.safe_actions(inv, records)}
    assert safe == {scenario.names[k] for k in SAFE_SET}
    assert safe == {row.name for row in inv.flagged(SAFE)}
    assert safe == {a.target for a in plan_cleanup(records).actions} & inv.names()


def test_protected_and_active_items_survive_an_ordinary_clean_up(scenario: Scenario) -> None:
    records = scenario.store.read_all()
    before = scenario.remote_names()
    results = execute(scenario.service, res.safe_actions(inventory(scenario), records))
    assert all(r.ok for r in results)
    assert before - scenario.remote_names() == {scenario.names[k] for k in SAFE_SET}
    # Ordinary deletion of protected or active rows is refused unless the protected risk was confirmed.
    inv = inventory(scenario)
    rows = [inv.by_name()[scenario.names[k]] for k in ("prot_output", "active_batch", "active_input")]
    plan = res.actions_for(rows, scenario.store.read_all())
    assert plan.actions == [] and len(plan.refused) == 3
    plan = res.actions_for(rows, scenario.store.read_all(), allow_protected=[scenario.names["prot_output"]])
    assert [a.target for a in plan.actions] == [scenario.names["prot_output"]] and len(plan.refused) == 2


def test_delete_rows_reports_each_failure_and_keeps_going(scenario: Scenario) -> None:
    inv = inventory(scenario)
    names = [scenario.names[k] for k in ("safe_batch", "safe_input", "safe_output", "loose_file")]
    failing = scenario.names["safe_input"].split("/")[1]
    # Not a 403: for a file this tool recorded, 403 means "already gone" (the Files API's answer for a deleted file).
    scenario.emulator.fail_next("DELETE", rf"/files/{failing}$", 400, message="delete refused (injected)")
    seen: list[tuple[int, int, str]] = []
    report = res.delete_rows(scenario.service, inv, names, scenario.clock.utc,
                             progress=lambda i, n, t: seen.append((i, n, t)))
    outcome = {r.action.target: r.ok for r in report.results}
    assert outcome == {n: n != scenario.names["safe_input"] for n in names}
    failure = next(r for r in report.results if not r.ok)
    assert "delete refused (injected)" in failure.message and "400" in failure.message
    assert [i for i, _, _ in seen] == [1, 2, 3, 4] and {t for *_, t in seen} == set(names)
    remaining = scenario.remote_names()
    assert scenario.names["safe_input"] in remaining
    assert not ({scenario.names[k] for k in ("safe_batch", "safe_output", "loose_file")} & remaining)
    assert scenario.names["safe_input"] in report.inventory.names()
    assert scenario.names["loose_file"] not in report.inventory.names()
    # The store records what went (so the CLI does not try again) and not what failed.
    rec = scenario.service.resolve(scenario.names["safe_batch"])
    assert rec["remote_deleted"] == {"batch": True, "output": True}


def test_delete_rows_rechecks_against_the_store_as_it_is_now(scenario: Scenario) -> None:
    """A row that became protected after the listing is kept, even though it looked safe on screen."""
    inv = inventory(scenario)
    key = scenario.service.resolve(scenario.names["safe_batch"])["id"]
    scenario.store.update(key, lambda r: r.update(results_verified=False))
    report = res.delete_rows(scenario.service, inv, [scenario.names["safe_output"]], scenario.clock.utc)
    assert report.results == [] and "not downloaded" in report.refused[0]
    assert scenario.names["safe_output"] in scenario.remote_names()


def test_adopt_adds_a_record_that_is_polled_and_downloaded(scenario: Scenario) -> None:
    inv = inventory(scenario)
    row = inv.by_name()[scenario.names["orphan_batch"]]
    assert isinstance(row, BatchRow)
    record = res.adopt(scenario.service, row.operation)
    assert record["adopted"] is True and "input_file" not in record
    assert record["uploaded_file_name"] == scenario.names["orphan_input"]
    assert record["batch"]["name"] == row.name and record["batch"]["state"] == SUCCEEDED
    assert record["batch"]["dest"]["file_name"] == scenario.names["orphan_output"]
    assert record["display_name"] == row.display_name and record["count"] == 2
    flags = {r.name: set(r.flags) for r in inventory(scenario).rows()}
    for key in ("orphan_batch", "orphan_input", "orphan_output"):
        assert flags[scenario.names[key]] == {"protected"}, key
    assert needs_download(scenario.service.resolve(row.name))
    report = poll_once(scenario.service)
    assert all(d.ok for d in report.downloads) and row.name in {d.name for d in report.downloads}
    saved = Path(scenario.service.resolve(row.name)["results_file"])
    assert saved == scenario.service.results_target(record) and saved.is_file()
    flags = {r.name: set(r.flags) for r in inventory(scenario).rows()}
    assert [flags[scenario.names[k]] for k in ("orphan_batch", "orphan_input", "orphan_output")] == [{"safe"}] * 3
    try:
        res.adopt(scenario.service, row.operation)
    except Exception as exc:  # noqa: BLE001 - the store refuses a second copy
        assert "already in the store" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("adopting twice must fail")


def test_cancel_all_active_cancels_every_pending_or_running_job(scenario: Scenario) -> None:
    stranger = scenario.service.client
    upload = stranger.upload(Path(scenario.store.path).parent.parent / "inputs" / "loose.jsonl", display_name="x")
    outside = stranger.create_batch(model="models/gemini-2.5-flash", file_name=upload, display_name="outside").name
    failing = outside.split("/")[1]
    scenario.emulator.fail_next("POST", rf"/batches/{failing}:cancel$", 400, message="no (injected)")
    outcomes = {o.name: o for o in res.cancel_all_active(scenario.service)}
    assert set(outcomes) == {scenario.names["active_batch"], outside}
    assert outcomes[scenario.names["active_batch"]].ok and outcomes[scenario.names["active_batch"]].state == CANCELLED
    assert not outcomes[outside].ok and "no (injected)" in outcomes[outside].message
    assert record_state(scenario.service.resolve(scenario.names["active_batch"])) == CANCELLED
    assert res.cancel_all_active(scenario.service)[0].name == outside  # only the one that failed is left


def test_listing_reports_progress_per_page(scenario: Scenario) -> None:
    calls: list[tuple[str, int, int]] = []
    files = res.fetch_remote(scenario.service.client, "files", progress=lambda *a: calls.append(a), page_size=3)
    assert len(files) == 10
    assert calls[:3] == [("files", 1, 3), ("files", 2, 6), ("files", 3, 9)] and calls[-1] == ("files", 4, 10)


def test_canned_inventory_flags_and_summary() -> None:
    files, batches, records = canned()
    inv = classify(files, batches, records, FIXED_NOW)
    assert {row.name: set(row.flags) for row in inv.rows()} == EXPECTED
    assert inv.summary.bytes_used == sum(int(f["sizeBytes"]) for f in files)
    # r5's resources are in the clean-up plan but not on the server: not part of the safe set.
    safe = [a.target for a in res.safe_actions(inv, records)]
    assert "batches/job0gone" not in safe and len(safe) == 5


def test_core_never_imports_textual_or_rich() -> None:
    code = ("import sys, gembatch_tui.core.cleanup.remote; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
