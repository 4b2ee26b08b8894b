"""Snapshots of the submit screen (they supplement the behavioural tests, never replace them).

The files live in `<tmp>/batches`; the screen shows paths relative to that folder, so no personal or random
path reaches the picture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, wait_until


def settled(screen) -> bool:  # type: ignore[no-untyped-def]
    """Every marked file checked and its whole cost estimated, the previewed one too (the figures are final)."""
    totals = str(screen.query_one("#totals").content)
    return "checking" not in totals and "estimating" not in totals and "estimating" not in text_of(
        screen.query_one("#preview-body"))


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
@pytest.mark.parametrize("name", ["basic.jsonl", "broken.jsonl"], ids=["valid", "invalid"])
def test_submit_screen_snapshot(data_dir: Path, make_host, snap_compare, name: str, size: tuple[int, int]) -> None:
    app = make_host(None, data_dir)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "structured-output.jsonl")
        await pilot.press("space")  # one marked file, so the totals line has numbers
        await highlight(pilot, screen, name)
        await wait_until(pilot, lambda: screen.preview.report is not None and screen.preview.report.path.name == name)
        await wait_until(pilot, lambda: settled(screen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def _store_duplicate(app, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Record `path` as submitted (a running job) straight in the store, as an earlier run would have."""
    app.store.add({"id": "earlier", "input_file": str(path.resolve()), "display_name": path.name,
                   "batch": {"name": "batches/earlier-run-0001", "state": "JOB_STATE_RUNNING"}})


def test_marked_list_snapshot(data_dir: Path, make_host, snap_compare) -> None:
    """Files marked by glob, one in a folder the tree does not show: all in the Marked list at 80x24."""
    more = data_dir / "more"
    more.mkdir()
    (more / "x.jsonl").write_text((data_dir / "basic.jsonl").read_text())
    app = make_host(None, data_dir)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await submit_screen(pilot)
        await pilot.press("slash", *"more/*.jsonl", "enter")
        await wait_until(pilot, lambda: len(screen.picker.marked) == 1)
        screen.query_one("#path").value = ""
        await pilot.press(*"*.jsonl", "enter")
        await wait_until(pilot, lambda: len(screen.picker.marked) == 4)
        screen.picker.focus()
        await pilot.press("m")
        await wait_until(pilot, lambda: screen.preview.report is not None
                         and screen.preview.report.path.name == "x.jsonl")
        await wait_until(pilot, lambda: settled(screen))
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_confirm_dialog_snapshot(data_dir: Path, make_host, snap_compare) -> None:
    """The confirm dialog at 80x24 with a file to send, a duplicate and a refused file."""
    app = make_host(None, data_dir)
    _store_duplicate(app, data_dir / "basic.jsonl")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        from gembatch_tui.tui.submit.confirm import ConfirmSubmit

        screen = await submit_screen(pilot)
        await pilot.press("slash", *"*.jsonl", "enter")
        await wait_until(pilot, lambda: len(screen.picker.marked) == 3)
        await wait_until(pilot, lambda: settled(screen))
        screen.picker.focus()
        app.clear_notifications()
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmSubmit))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
