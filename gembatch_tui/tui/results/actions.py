"""Provides ResultsActions, mixed into ResultsScreen: export the join, build a retry file, resubmit it, link it.

Why it is its own module: these are the screen's writes (files, jobs, the store), each a thread worker that
reports by ResultsActionFinished; results.py keeps browsing (index, filters, pages, detail) and the keys.
The bindings that call these actions stay on ResultsScreen, so the help screen and keymaps see them there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work

from gembatch_tui.core.results import ledger
from gembatch_tui.core.models import Record, batch_name
from gembatch_tui.tui.results.messages import ResultsActionFinished
from gembatch_tui.core.counts import counted
from gembatch_tui.tui.widgets.safe_text import safe

if TYPE_CHECKING:
    from textual.screen import Screen

    from gembatch_tui.core.results.index import ResultsIndex

    _ScreenBase = Screen[None]
else:
    _ScreenBase = object


class ResultsActions(_ScreenBase):
    """Export, retry and resubmit for a results screen with `record`, `index` and `_pending_link`."""

    record: Record
    index: ResultsIndex | None
    _pending_link: Path | None

    def export_filter(self) -> str:
        """What the current filters select, in words (empty when every row is shown)."""
        what = []
        if getattr(self, "errors_only", False):
            what.append("errors only")
        if getattr(self, "filter_text", ""):
            what.append(f"matching “{safe(self.filter_text)}”")  # type: ignore[attr-defined]
        return ", ".join(what)

    def action_export(self, fmt: str) -> None:
        """x/X: every row, or with a filter on only the rows it selects (said in the toast and the file's name)."""
        filtered = self.export_filter()
        rows: Sequence[int] | None = None
        if filtered:
            rows = list(self.view)  # type: ignore[attr-defined]
            if not rows:  # an empty file named like an export would only mislead
                self.notify(f"Nothing to export: no row matches ({filtered}); esc or e clears the filter",
                            severity="warning", timeout=4, markup=False)
                return
            capped = " (the first matches only)" if getattr(self, "capped", False) else ""
            self.notify(f"Exporting the {counted(len(rows), 'filtered row')} ({filtered}){capped} "
                        f"as {fmt.upper()}…", timeout=3, markup=False)
        else:
            self.notify(f"Exporting all rows as {fmt.upper()}…", timeout=2)
        self._export_worker(fmt, rows, filtered)

    @work(thread=True, group="results-action", exit_on_error=False, description="export the results")
    def _export_worker(self, fmt: str, rows: Sequence[int] | None = None, filtered: str = "") -> None:
        from gembatch_tui.core.results.export import default_export_path, export_to_file
        from gembatch_tui.core.results.export_names import claim_export_path, release

        index = self.index
        assert index is not None
        preferred = default_export_path(index.results_path, fmt)
        if rows is not None:  # a filtered export is named so, and never takes the full export's name
            preferred = preferred.with_name(preferred.name.replace(".export.", ".filtered.export.", 1))
        try:
            dest = claim_export_path(preferred)
        except OSError as exc:
            self.post_message(ResultsActionFinished(f"{preferred}: cannot write: {exc.strerror or exc}", ok=False))
            return
        try:
            count = export_to_file(index, dest, fmt, rows=rows)
        except OSError as exc:
            release(dest)
            self.post_message(ResultsActionFinished(f"{dest}: cannot write: {exc.strerror or exc}", ok=False))
            return
        what = f"{counted(count, 'filtered row')} ({filtered})" if rows is not None else counted(count, "row")
        text = f"{what} written to {dest}"
        if dest != preferred:
            text += f" ({preferred.name} exists and was kept)"
        self.post_message(ResultsActionFinished(text))

    def action_resubmit(self) -> None:
        self._retry_worker()

    @work(thread=True, group="results-action", exit_on_error=False, description="build the retry file")
    def _retry_worker(self) -> None:
        from gembatch_tui.core.results.resubmit import ResubmitError, build_retry_file

        assert self.index is not None
        try:
            built = build_retry_file(self.index)
        except (ResubmitError, OSError) as exc:
            self.post_message(ResultsActionFinished(str(exc), ok=False))
            return
        text = f"{counted(built.count, 'failed or missing request')} written to {built.path}"
        if built.note():
            text += f"; {built.note()}"
        self.post_message(ResultsActionFinished(text, retry_file=built.path, count=built.count))

    def on_results_action_finished(self, message: ResultsActionFinished) -> None:
        self.notify(safe(message.text), title="Results" if message.ok else "Not done",
                    severity="information" if message.ok else "error", markup=False)
        if message.retry_file is not None:
            self._submit_retry(message.retry_file, message.count)

    def _submit_retry(self, path: Path, count: int) -> None:
        """Show the retry file in the submit flow if there is one, else ask and submit it here."""
        if getattr(self.app, "service", None) is None:
            self.notify("No service to submit to; submit the file later with `gembatch-tui submit`", markup=False)
            return
        try:
            from gembatch_tui.tui.submit.screen import SubmitScreen
        except ImportError:
            SubmitScreen = None  # type: ignore[assignment,misc]  # noqa: N806
        if SubmitScreen is not None:
            self._pending_link = path
            self.notify(f"{safe(path.name)} is marked: ctrl+s submits it", markup=False, timeout=8)
            self.app.push_screen(SubmitScreen(start_dir=path.parent, marked=[path]))
            return
        from gembatch_tui.tui.dialogs.confirm import ConfirmDialog

        body = Text(f"Submit {counted(count, 'request')} from {safe(path)} as a new job, "
                    f"linked to {safe(batch_name(self.record))}?",
                    end="")

        def answered(yes: bool | None) -> None:
            if yes:
                self._resubmit_worker(path)

        self.app.push_screen(ConfirmDialog("Resubmit failures?", body, "submit"), answered)

    @work(thread=True, group="results-action", exit_on_error=False, description="resubmit the failures")
    def _resubmit_worker(self, path: Path) -> None:
        from gembatch_tui.core.results.resubmit import resubmit_extra
        from gembatch_tui.tui.messages import JobsSubmitted

        model = ledger.record_model(self.record) or getattr(self.app.settings, "default_model", "gemini-2.5-flash")
        outcome = self.app.service.submit(  # type: ignore[attr-defined]
            path, model=model, display_name=path.name, extra=resubmit_extra(self.record))
        self.post_message(ResultsActionFinished(f"{path.name}: {outcome.line()}", ok=outcome.status != "error"))
        self.app.post_message(JobsSubmitted([outcome.batch_name] if outcome.batch_name else []))

    def on_screen_resume(self) -> None:
        """Back from the submit screen: link whatever was submitted from the retry file to this job."""
        if self._pending_link is not None:
            path, self._pending_link = self._pending_link, None
            self._link_worker(path)

    @work(thread=True, group="results-action", exit_on_error=False, description="link the resubmitted job")
    def _link_worker(self, path: Path) -> None:
        from gembatch_tui.core.results.resubmit import link_resubmits
        from gembatch_tui.tui.messages import StoreChanged

        linked = link_resubmits(self.app.store, path, self.record)  # type: ignore[attr-defined]
        if linked:
            self.app.post_message(StoreChanged("resubmit linked"))
            self.post_message(ResultsActionFinished(f"{path.name}: the new job is linked to this one"))


__all__ = ["ResultsActions"]
