"""Point 10 of issue 13: clean-up removes uploads that are provably this store's (the display name's token has this
store's tag) and that nothing uses; a file without our token is never touched (it may be someone else's)."""

from __future__ import annotations

import io
from pathlib import Path

from google import genai

from gembatch_tui.core.cleanup.execute import execute
from gembatch_tui.core.cleanup import plan as cleanup
from gembatch_tui.core.api import upload_tokens
from gembatch_tui.core.cleanup import flags
from gembatch_tui.core.cleanup import remote as res

from .conftest import KEY, MODEL, World


def _upload(world: World, display_name: str) -> str:
    client = genai.Client(api_key=KEY, http_options={"base_url": world.emu.url})
    body = io.BytesIO(b'{"key": "k0", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
    return str(client.files.upload(file=body, config={"mime_type": "application/jsonl",
                                                       "display_name": display_name}).name)


def _ours(world: World, name: str = "input.jsonl") -> tuple[str, str]:
    token = upload_tokens.new_token(world.service.store.path)
    return _upload(world, upload_tokens.tagged_display_name(name, token)), token


def _orphans(plan: cleanup.DeletePlan) -> list[str]:
    return [a.target for a in plan.actions if a.kind == "orphan"]


def test_cleanup_removes_our_unused_uploads_and_nothing_else(world: World, tmp_path: Path) -> None:
    done = world.downloaded()
    orphan, _ = _ours(world)
    failed_orphan, failed_token = _ours(world, "failed.jsonl")
    world.service.store.add({"input_file": str(world.inputs / "failed.jsonl"), "display_name": "failed.jsonl",
                             "local_state": "submit_failed", "upload_token": failed_token})
    busy, busy_token = _ours(world, "busy.jsonl")  # a submission in progress: its upload may be taken any moment
    world.service.store.add({"input_file": str(world.inputs / "busy.jsonl"), "display_name": "busy.jsonl",
                             "local_state": "submitting", "upload_token": busy_token})
    waiting, waiting_token = _ours(world, "waiting.jsonl")
    world.service.store.add({"input_file": str(world.inputs / "waiting.jsonl"), "display_name": "waiting.jsonl",
                             "local_state": "queued", "upload_token": waiting_token})
    foreign = _upload(world, upload_tokens.tagged_display_name(
        "input.jsonl", upload_tokens.new_token(tmp_path / "another" / "jobs.jsonl")))
    plain = _upload(world, "input.jsonl")
    untitled = _upload(world, "")

    plan = res.cleanup_plan(world.service)
    assert sorted(_orphans(plan)) == sorted([orphan, failed_orphan])
    shown = {a.target: a.describe() for a in plan.actions if a.kind == "orphan"}
    assert shown[orphan] == f"orphan upload {orphan} (input.jsonl)"
    assert shown[failed_orphan] == f"orphan upload {failed_orphan} (failed.jsonl)"
    assert {a.target for a in plan.actions if a.kind != "orphan"} == {
        done["batch"]["name"], done["uploaded_file_name"], done["batch"]["dest"]["file_name"]}

    results = execute(world.service, plan.actions)
    assert [r.message for r in results if not r.ok] == []
    left = world.remote_files()
    assert {orphan, failed_orphan, done["uploaded_file_name"]}.isdisjoint(left)
    assert {busy, waiting, foreign, plain, untitled} <= left
    again = res.cleanup_plan(world.service)
    assert _orphans(again) == []


def test_a_file_a_record_names_or_an_unfinished_job_reads_is_not_an_orphan(world: World) -> None:
    named, _ = _ours(world, "named.jsonl")
    world.service.store.add({"input_file": "/x/named.jsonl", "display_name": "named.jsonl", "local_state": "queued",
                             "uploaded_file_name": named})
    media, _ = _ours(world, "photo.png")
    world.service.store.add({"input_file": "/x/m.jsonl", "display_name": "m.jsonl", "local_state": "submit_failed",
                             "media_file_names": [media]})
    earlier, _ = _ours(world, "retried.jsonl")
    world.service.store.add({"input_file": "/x/r.jsonl", "display_name": "r.jsonl", "local_state": "submit_failed",
                             "previous_attempts": [{"uploaded_file_name": earlier,
                                                    "batch": {"name": "batches/old1", "state": "JOB_STATE_FAILED"}}]})
    running, _ = _ours(world, "running.jsonl")  # a job someone created from it (say after a lost answer)
    client = genai.Client(api_key=KEY, http_options={"base_url": world.emu.url})
    client.batches.create(model=MODEL, src=running)
    plan = res.cleanup_plan(world.service)
    assert named not in _orphans(plan) and media not in _orphans(plan) and running not in _orphans(plan)
    assert earlier not in _orphans(plan)  # the earlier attempt's own action deletes it, as an input
    assert ("input", earlier) in {(a.kind, a.target) for a in plan.actions}


def test_a_file_claimed_after_the_plan_is_kept(world: World) -> None:
    orphan, token = _ours(world)
    plan = res.cleanup_plan(world.service)
    assert _orphans(plan) == [orphan]
    # between the listing and the delete, a submission (say a recovery that found it by its token) claims it
    world.service.store.add({"input_file": "/x/input.jsonl", "display_name": "input.jsonl",
                             "local_state": "submitting", "upload_token": token})
    [result] = execute(world.service, plan.actions)
    assert not result.ok and result.warning and "may still use it" in result.message
    assert orphan in world.remote_files()


def test_the_resources_screen_offers_the_same_orphans_in_its_safe_set(world: World) -> None:
    orphan, _ = _ours(world)
    plain = _upload(world, "input.jsonl")
    inv, records = res.list_inventory(world.service, world.clock.utc)
    rows = inv.by_name()
    assert {flags.ORPHAN, flags.SAFE} <= rows[orphan].flags
    assert flags.SAFE not in rows[plain].flags and flags.ORPHAN in rows[plain].flags
    safe = res.safe_actions(inv, records)
    assert [(a.kind, a.target) for a in safe] == [("orphan", orphan)]
    report = res.delete_rows(world.service, inv, [orphan], world.clock.utc)
    assert [(r.action.kind, r.ok) for r in report.results] == [("orphan", True)]
    assert orphan not in world.remote_files() and plain in world.remote_files()


def test_re_flagging_without_the_store_tag_uses_the_tags_the_records_hold(world: World) -> None:
    """A screen re-flags its old listing after each poll without naming the store: our tokens in the records
    still say which uploads are ours; with no token in any record, no upload is taken for ours."""
    orphan, _ = _ours(world)
    inv, records = res.list_inventory(world.service, world.clock.utc)
    assert flags.SAFE not in flags.classify(inv.remote_files, inv.remote_batches, records, world.clock.utc()).by_name()[
        orphan].flags
    _, token = _ours(world, "other.jsonl")
    world.service.store.add({"input_file": "/x/o.jsonl", "display_name": "o.jsonl", "local_state": "submit_failed",
                             "upload_token": token})
    records = world.service.store.read_all()
    again = flags.classify(inv.remote_files, inv.remote_batches, records, world.clock.utc())
    assert {flags.ORPHAN, flags.SAFE} <= again.by_name()[orphan].flags


def test_orphans_are_only_looked_for_when_the_listing_works(world: World) -> None:
    _ours(world)
    world.emu.fail_next("GET", r"/files$", 403, message="listing refused (injected)")
    plan = res.cleanup_plan(world.service)
    assert _orphans(plan) == []
    assert len(plan.refused) == 1 and "could not list remote files" in plan.refused[0]
    assert "listing refused (injected)" in plan.refused[0]


def test_media_uploads_are_never_a_stores_orphans(world: World) -> None:
    """Media carry a token of their own (tag `mediaupl`): the URI cache shares them between stores and jobs."""
    media = _upload(world, upload_tokens.tagged_display_name("photo.png", upload_tokens.new_token(None, tag="mediaupl")))
    world.service.store.add({"input_file": "/x/m.jsonl", "display_name": "m.jsonl", "local_state": "submit_failed",
                             "upload_token": upload_tokens.new_token(None, tag="mediaupl")})
    assert media not in _orphans(res.cleanup_plan(world.service))
    inv, records = res.list_inventory(world.service, world.clock.utc)
    again = flags.classify(inv.remote_files, inv.remote_batches, records, world.clock.utc())  # tags from records
    assert flags.SAFE not in again.by_name()[media].flags
