"""The y/n question every destructive action asks: however long its list, at 80x24 its y/n line shows and every
item can be scrolled to, by keys, before answering."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import App

from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from tests.pilot_support import screen_text, wait_for

CSS = Path(__file__).resolve().parents[2] / "gembatch_tui" / "tui" / "app.tcss"


class Host(App[None]):
    CSS_PATH = str(CSS)

    def __init__(self, body: Text) -> None:
        super().__init__()
        self.body = body
        self.answers: list[bool] = []

    def on_mount(self) -> None:
        self.push_screen(ConfirmDialog("Delete these remote items?", self.body, "delete 41 items", danger=True),
                         self.answers.append)


def _items(n: int) -> Text:
    body = Text(f"Will delete {n} remote items:\n", end="")
    for i in range(1, n + 1):
        body.append(f"  • remote batch job batches/item-{i:03d}\n    (seven.jsonl [{i}/{n}])\n")
    body.append("\nLocal results files are never touched.")
    return body


async def test_a_long_list_scrolls_and_its_answer_line_stays() -> None:
    app = Host(_items(41))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await wait_for(pilot, lambda: "↑↓ scroll" in screen_text(app), what="the scroll hint")
        text = screen_text(app)
        assert "delete 41 items" in text and "no, change nothing" in text
        assert "batches/item-001" in text and "batches/item-041" not in text
        await pilot.press("end")
        await wait_for(pilot, lambda: "batches/item-041" in screen_text(app), what="the last item")
        assert "Local results files are never touched." in screen_text(app)
        assert "no, change nothing" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.answers == [True], what="the answer")


async def test_a_short_question_says_nothing_of_scrolling() -> None:
    app = Host(_items(2))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "no, change nothing" in screen_text(app), what="the dialog")
        await pilot.pause(0.1)
        assert "scroll" not in screen_text(app) and "batches/item-002" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.answers == [False], what="the answer")
