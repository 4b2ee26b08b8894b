"""The CLI `cleanup --yes` and the resources screen's clean-up delete the same set (one rule, one code path)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.resources.res_scenario import build

from gembatch_tui.cli import main as cli
from gembatch_tui.core.cleanup import remote as res


def test_cli_cleanup_deletes_exactly_the_safe_set_the_screen_selects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two identical worlds (same emulator seed, same calls, so the same names): one cleaned by the CLI,
    # one by the screen's code path (safe set -> delete_rows).
    by_cli, by_screen = build(tmp_path / "cli"), build(tmp_path / "screen")
    try:
        assert by_cli.names == by_screen.names
        inv, records = res.list_inventory(by_screen.service, by_screen.clock.utc)
        safe = [a.target for a in res.safe_actions(inv, records)]
        before = by_screen.remote_names()
        report = res.delete_rows(by_screen.service, inv, safe, by_screen.clock.utc)
        assert all(r.ok for r in report.results) and not report.refused
        deleted_by_screen = before - by_screen.remote_names()

        monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", by_cli.emulator.url)
        before = by_cli.remote_names()
        code = cli.main(["--store", str(by_cli.store.path), "--results-dir", str(tmp_path / "cli" / "results"),
                         "cleanup", "--yes"])
        out = capsys.readouterr().out
        assert code == 0, out
        deleted_by_cli = before - by_cli.remote_names()

        assert deleted_by_cli == deleted_by_screen == set(safe)
        assert out.count("deleted ") == len(safe)
        names = by_cli.names
        for kept in ("prot_batch", "prot_input", "prot_output", "active_batch", "active_input", "orphan_batch",
                     "orphan_output", "loose_file", "old_file"):
            assert names[kept] in by_cli.remote_names(), kept
        # The store marks are the same too, so neither tries the same deletions again.
        marks = lambda sc: sorted(sorted(r.get("remote_deleted") or {}) for r in sc.store.read_all())  # noqa: E731
        assert marks(by_cli) == marks(by_screen)
    finally:
        by_cli.emulator.stop()
        by_screen.emulator.stop()
