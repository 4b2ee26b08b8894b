"""The delete dialog says why the remote results are kept: not downloaded yet, or a saved copy that was removed or
changed since it was verified (then the remote copy may be the only good one). It used to say "results not
downloaded yet" for all three."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

from gembatch_tui.tui.dialogs.delete import DeleteDialog
from tests.pilot_support import screen_text, wait_for

CSS = Path(__file__).resolve().parents[2] / "gembatch_tui" / "tui" / "app.tcss"


class Host(App[None]):
    CSS_PATH = str(CSS)

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record

    def on_mount(self) -> None:
        self.push_screen(DeleteDialog(self.record))


def _succeeded(tmp_path: Path, how: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": "j1", "batch": {"name": "batches/j1", "state": "JOB_STATE_SUCCEEDED",
                                                    "display_name": "in.jsonl", "dest": {"file_name": "files/out1"}}}
    if how == "not downloaded":
        return record
    results = tmp_path / "results.jsonl"
    data = b'{"key": "a", "response": {}}\n'
    results.write_bytes(data)
    record.update(results_file=str(results), results_verified=True, results_bytes=len(data),
                  results_sha256=hashlib.sha256(data).hexdigest())
    if how == "removed":
        results.unlink()
    elif how == "changed":
        results.write_bytes(data + b'{"key": "b", "response": {}}\n')
    return record


@pytest.mark.parametrize("how,words,sentence", [
    ("not downloaded", "results not downloaded yet", "The results are not downloaded yet."),
    ("removed", "saved results removed since", "The results file saved here was removed since it was verified."),
    ("changed", "saved results changed since", "The results file saved here changed since it was verified."),
])
async def test_the_dialog_says_why_the_results_are_kept(tmp_path: Path, how: str, words: str, sentence: str) -> None:
    app = Host(_succeeded(tmp_path, how))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), what="the dialog")
        await pilot.press("o")  # tick the remote results file: kept unless a second yes
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert words in text and sentence in text, text
        others = {"results not downloaded yet", "saved results removed since", "saved results changed since"}
        assert not any(other in text for other in others - {words}), text


async def test_saved_results_need_no_reason(tmp_path: Path) -> None:
    app = Host(_succeeded(tmp_path, "saved"))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), what="the dialog")
        text = " ".join(screen_text(app).split())
        assert "remote results file" in text and "since" not in text and "not downloaded" not in text, text
