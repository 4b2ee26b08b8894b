"""The submit screen shows a file's name and content as data: an escape sequence in a file name (the tree, the
preview's title) or inside a JSON string of a line (the first lines, the problems and warnings) is spelt out,
never sent to the terminal, where it could set the window title, clear the screen or colour what follows."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, wait_until

from gembatch_tui.tui.submit.confirm import ConfirmSubmit
from gembatch_tui.tui.submit.file_preview import FilePreview
from gembatch_tui.tui.submit.log import SubmitLog

TITLE = "\x1b]2;PWNED\x07"
NAME = "esc\x1b[7mname.jsonl"


def _rendered(app) -> str:  # type: ignore[no-untyped-def]
    """Every character the screen would send, from its compositor (what the terminal gets, before styles)."""
    return "\n".join("".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips())


async def test_escapes_in_names_and_lines_are_spelt_out(tmp_path: Path, emulator, make_host) -> None:  # noqa: ANN001
    folder = tmp_path / "batches"
    folder.mkdir()
    (folder / NAME).write_text(
        json.dumps({"key": f"title{TITLE}x", "request": {"contents": [{"parts": [{"text": "clear\x1b[2J here"}]}]}})
        + "\n"
        + json.dumps({"key": "k2", "request": {"contents": [{"parts": [{"text": "bidi \u202eevil"}]}],
                                                "generationconfig\x1b[31m": {}}}) + "\n",
        encoding="utf-8")
    app = make_host(emulator, folder)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await submit_screen(pilot)
        await wait_until(pilot, lambda: "esc\\x1b[7mname.jsonl" in _rendered(app), what="the name in the tree")
        await highlight(pilot, screen, NAME)
        preview = screen.query_one(FilePreview)
        await wait_until(pilot, lambda: "First lines" in "\n".join(text_of(w) for w in preview.query("Static")),
                         what="the first lines")
        # The preview's text is set before the compositor draws it: wait for the frame that shows it.
        await wait_until(pilot, lambda: "title\\x1b]2;PWNED\\x07x" in _rendered(app), what="the key, drawn")
        shown = _rendered(app)
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
        assert "title\\x1b]2;PWNED\\x07x" in shown  # the key, in the first lines
        assert "clear\\x1b[2J here" in shown
        assert "\\u202e" in shown
        assert "generationconfig\\x1b[31m" in shown  # the warning names the unknown field, spelt out

        await pilot.press("space")  # marks it
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit), what="the confirm dialog")
        assert "esc\\x1b[7mname.jsonl" in _rendered(app) and "\x1b" not in _rendered(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.has_results and not screen.running, timeout=30, what="the run")
        log = "\n".join(text_of(w) for w in screen.query_one(SubmitLog).query("Static"))
        assert "esc\\x1b[7mname.jsonl  submitted as batches/" in log
        shown = _rendered(app)
        assert "esc\\x1b[7mname.jsonl" in shown and "\x1b" not in shown and "\x07" not in shown

