"""The TUI's prepare dialog: an existing batch file is refused in the dialog's own words (its Replace checkbox,
never the CLI's --force), the checkbox gets the focus, and once ticked the request asks to replace."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Checkbox, Input, Static

from gembatch_tui.tui.dialogs.prepare import PrepareDialog
from gembatch_tui.tui.submit.prepare_run import PrepareRequest


class _Host(App[None]):
    def __init__(self, data: Path) -> None:
        super().__init__()
        self.data = data
        self.answers: list[PrepareRequest | None] = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(PrepareDialog(self.data, self.data.name, ["id", "t"]), self.answers.append)


def _error(dialog: PrepareDialog) -> str:
    return str(dialog.query_one("#prepare-error", Static).render())


async def _ask(tmp_path: Path, existing: str) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,t\nA,1\n")
    (tmp_path / existing).write_text("{}\n")
    app = _Host(data)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PrepareDialog)
        dialog.query_one("#prepare-template", Input).value = "Q {t}"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and app.answers == []  # not dismissed: the run would refuse
        error = _error(dialog)
        assert error == (f"{existing} already exists; to replace it, tick \"Replace t.batch.jsonl if it exists\" "
                         "(space) and press ctrl+s")
        assert "--force" not in error
        checkbox = dialog.query_one("#prepare-replace", Checkbox)
        assert app.focused is checkbox
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert len(app.answers) == 1
        answer = app.answers[0]
        assert answer is not None and answer.replace and answer.template == "Q {t}"


async def test_an_existing_batch_file_points_at_the_replace_checkbox(tmp_path: Path) -> None:
    await _ask(tmp_path, "t.batch.jsonl")


async def test_an_existing_key_map_alone_is_refused_the_same_way(tmp_path: Path) -> None:
    await _ask(tmp_path, "t.batch.map.jsonl")


async def test_no_existing_output_dismisses_at_once(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,t\nA,1\n")
    app = _Host(data)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.screen.query_one("#prepare-template", Input).value = "Q {t}"
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.answers) == 1 and app.answers[0] is not None and not app.answers[0].replace
