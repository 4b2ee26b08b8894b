"""Bad input never freezes or crashes the submit screen: each case ends in a clear message."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.tui_submit.submit_helpers import highlight, submit_screen, text_of, type_keys, wait_until

from gembatch_tui.core.store import JobStore
from gembatch_tui.tui.submit.file_preview import FilePreview
from gembatch_tui.tui.submit.confirm import ConfirmSubmit

LINE = json.dumps({"key": "k{}", "request": {"contents": [{"parts": [{"text": "x" * 900}]}]}})


def preview_text(screen) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(text_of(w) for w in screen.query_one(FilePreview).query("Static"))


def write_big(path: Path, size: int) -> int:
    """A valid JSONL file of about `size` bytes (unique keys); returns its line count."""
    block_lines = 1000
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        written = 0
        while written < size:
            block = "".join(LINE.replace("k{}", f"k{count + i}") + "\n" for i in range(block_lines))
            f.write(block)
            written += len(block)
            count += block_lines
    return count


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """batches/ with a 100 MB valid file (a-big.jsonl) and a one-line one (b-small.jsonl), made once per module."""
    folder = tmp_path_factory.mktemp("big") / "batches"
    folder.mkdir()
    lines = write_big(folder / "a-big.jsonl", 100 * 1024 * 1024)
    (folder / "b-small.jsonl").write_text(LINE.replace("k{}", "only") + "\n")
    return folder, lines


async def test_100mb_preview_runs_in_a_worker_and_keys_keep_working(big_folder: tuple[Path, int], make_host) -> None:
    folder, lines = big_folder
    app = make_host(None, folder)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        big = folder.resolve() / "a-big.jsonl"
        await highlight(pilot, screen, "a-big.jsonl")
        await wait_until(pilot, lambda: screen.preview.has_class("-checking"), what="the check to start")
        # keys work while the 100 MB check runs: type in the path field, step the model
        await type_keys(pilot, "slash")
        await wait_until(pilot, lambda: screen.focused is screen.query_one("#path"), timeout=1)
        await type_keys(pilot, "a", "b", "c", "tab")  # nothing starts with abc: tab moves on to the model
        await wait_until(pilot, lambda: screen.focused is screen.query_one("#opt-model"), timeout=1)
        await type_keys(pilot, "down")
        await wait_until(pilot, lambda: screen.query_one("#opt-model").value == "gemini-2.5-flash-lite", timeout=1)
        assert screen.query_one("#path").value == "abc"
        assert screen.cache.latest(big) is None, "the check finished before the keys were handled"
        assert "Checking…" in preview_text(screen)
        await wait_until(pilot, lambda: screen.preview.report is not None, timeout=30, what="the 100 MB check")
        assert f"{lines:,} requests" in preview_text(screen)
        assert "✓ Ready to submit" in preview_text(screen)


async def test_new_highlight_cancels_the_running_check(big_folder: tuple[Path, int], make_host) -> None:
    folder, _lines = big_folder
    app = make_host(None, folder)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "a-big.jsonl")
        await wait_until(pilot, lambda: screen.preview.has_class("-checking"))
        first = screen._preview_cancel
        await type_keys(pilot, "down")  # b-small.jsonl: the big check is told to stop
        await wait_until(pilot, first.is_set, timeout=1)
        await wait_until(pilot, lambda: "1 request ·" in preview_text(screen), timeout=5)
        await wait_until(pilot, lambda: not [w for w in app.workers if w.group == "submit-preview" and w.is_running],
                         timeout=3, what="the cancelled check to end")
        assert screen.cache.latest(folder.resolve() / "a-big.jsonl") is None


async def test_empty_loop_huge_and_vanished_files(tmp_path: Path, make_host) -> None:
    folder = tmp_path / "batches"
    folder.mkdir()
    (folder / "empty.jsonl").write_bytes(b"")
    os.symlink("loop.jsonl", folder / "loop.jsonl")
    with open(folder / "huge.jsonl", "wb") as f:
        f.truncate(3 * 1024**3)  # sparse: 3 GiB of zeros without using the disk (no size cap: big inputs are split)
    (folder / "vanishing.jsonl").write_text(LINE.replace("k{}", "a") + "\n")
    app = make_host(None, folder)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        for name, expected in (
            ("empty.jsonl", "file has no requests"),
            ("loop.jsonl", "Too many levels of symbolic links"),
            ("huge.jsonl", "not a text file (NUL byte at byte offset 0)"),
        ):
            await highlight(pilot, screen, name)
            await wait_until(pilot, lambda e=expected: e in preview_text(screen), timeout=5, what=expected)
            assert "✗ Cannot be submitted" in preview_text(screen)
        assert screen.picker.notes[folder.resolve() / "loop.jsonl"] == "symlink loop"  # shown beside its name
        # marked, then deleted before the submit: the confirm dialog says it is refused and why; nothing to send
        await highlight(pilot, screen, "vanishing.jsonl")
        await pilot.press("space")
        await wait_until(pilot, lambda: "checking" not in text_of(screen.query_one("#totals")))
        (folder / "vanishing.jsonl").unlink()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSubmit))
        dialog = "\n".join(text_of(w) for w in app.screen.query("Static"))
        assert "Nothing to submit: 1 marked file skipped or refused" in dialog
        assert "Refused (1)" in dialog
        assert "✗ vanishing.jsonl  file not found" in dialog
        await pilot.press("y")  # nothing would be sent: y does nothing, escape goes back
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmSubmit)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        assert not screen.running and not screen.has_results
        assert JobStore(app.store.path).read_all() == []


@pytest.fixture
def unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that cannot be listed: chmod 000, or (as root, who ignores modes) a listing that fails the same way."""
    folder = tmp_path / "batches" / "secret"
    folder.mkdir(parents=True)
    (folder / "x.jsonl").write_text("{}\n")
    folder.chmod(0)
    if os.geteuid() == 0:
        real_scandir, real_iterdir = os.scandir, Path.iterdir

        def scandir(path: object = ".") -> object:
            if Path(os.fspath(path)).resolve() == folder.resolve():  # type: ignore[arg-type]
                raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
            return real_scandir(path)  # type: ignore[arg-type]

        def iterdir(self: Path) -> object:
            if self.resolve() == folder.resolve():
                raise PermissionError(13, "Permission denied", str(self))
            return real_iterdir(self)

        monkeypatch.setattr(os, "scandir", scandir)
        monkeypatch.setattr(Path, "iterdir", iterdir)
    yield folder
    folder.chmod(0o700)


async def test_unreadable_folder_says_so(unreadable: Path, make_host) -> None:
    app = make_host(None, unreadable.parent)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "secret")
        await wait_until(pilot, lambda: "cannot read this folder: Permission denied" in preview_text(screen),
                         what="the folder message")
        await pilot.press("enter")  # try to open it: a notification, and the app goes on
        await wait_until(pilot, lambda: any("Permission denied" in str(n.message) for n in app._notifications))
        await pilot.press("a")
        await wait_until(pilot, lambda: sum("Permission denied" in str(n.message) for n in app._notifications) >= 2)
        assert not screen.picker.marked


async def test_a_misspelt_field_is_a_warning_and_the_file_stays_ready(tmp_path: Path, make_host) -> None:
    folder = tmp_path / "batches"
    folder.mkdir()
    line = {"key": "k", "request": {"contents": [{"parts": [{"text": "[bold]q"}]}], "generation_config": {"temprature": 1}}}
    (folder / "typo.jsonl").write_text(json.dumps(line) + "\n")
    app = make_host(None, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await submit_screen(pilot)
        await highlight(pilot, screen, "typo.jsonl")
        await wait_until(pilot, lambda: "Warnings" in preview_text(screen), timeout=5, what="the warning")
        text = preview_text(screen)
        assert "line 1: unknown field 'temprature' in generation_config (did you mean 'temperature'?)" in text
        assert "✓ Ready to submit" in text and "✗ Cannot be submitted" not in text
