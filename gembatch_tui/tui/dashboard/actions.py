"""Provides the dashboard's actions on the selected row: cancel, delete, retry and results, for one job or for
every part of a split input's group row at once (a mixin of DashboardScreen, kept apart so the screen file
holds the table, the view and the filter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from gembatch_tui.core.counts import counted
from gembatch_tui.core.models import Record, is_archived, is_realtime, record_key
from gembatch_tui.core.submit.retry_parts import can_retry
from gembatch_tui.tui.dashboard.groups import group_of_key
from gembatch_tui.tui.widgets.safe_text import safe

if TYPE_CHECKING:
    from textual.screen import Screen

    from gembatch_tui.tui.host import AppHost
    from gembatch_tui.tui.dashboard.table import JobTable

    _Base = Screen[None]
else:
    _Base = object


class PartsRetried(Message):
    """The outcome of `R`: one (line, ok) per part tried."""

    def __init__(self, lines: list[tuple[str, bool]]) -> None:
        super().__init__()
        self.lines = lines


class JobsArchived(Message):
    """The outcome of `A`: one (line, ok) per job, and whether it was an unarchive."""

    def __init__(self, lines: list[tuple[str, bool]], undo: bool) -> None:
        super().__init__()
        self.lines, self.undo = lines, undo


class RowActions(_Base):
    """Needs the screen's `table`, `gapp` and `selected()`."""

    if TYPE_CHECKING:
        table: JobTable
        gapp: AppHost

        def selected(self) -> Record | None: ...

    def _group_parts(self) -> list[Record] | None:
        """The part records of the selected group row, in part order; None when the row is not a group."""
        gid = group_of_key(self.table.selected_key)
        if gid is None:
            return None
        parts = [r for r in self.gapp.records if r.get("group_id") == gid]
        return sorted(parts, key=lambda r: int(r.get("group_part") or 0))

    def _group_label(self, parts: list[Record]) -> str:
        first = parts[0]
        return str(first.get("group_display_name") or first.get("group_input_file") or first.get("group_id"))

    def action_cancel_job(self) -> None:
        parts = self._group_parts()
        if parts:
            self.gapp.request_cancel_group([record_key(p) for p in parts], self._group_label(parts))
        elif (key := self.table.selected_key) and parts is None:
            record = self.selected()
            if record is not None and is_realtime(record):  # no batch job: its run is stopped, in its own words
                from gembatch_tui.tui.dashboard.realtime_cancel import ask_cancel

                ask_cancel(self, record)
                return
            self.gapp.request_cancel(key)

    def action_delete_job(self) -> None:
        parts = self._group_parts()
        if parts:
            self.gapp.request_delete_group([record_key(p) for p in parts], self._group_label(parts))
        elif (key := self.table.selected_key) and parts is None:
            self.gapp.request_delete(key)

    def action_view_results(self) -> None:
        """The results browser for the selected job, or for a split input's merged results."""
        from gembatch_tui.core.submit import groups
        from gembatch_tui.tui.results.screen import ResultsScreen

        parts = self._group_parts()
        if parts:
            view = groups.merged_view(parts)
            if not view["results_file"]:
                self.notify(safe(groups.merged_pending(parts)), markup=False)
                return
            self.app.push_screen(ResultsScreen(view))
        elif (rec := self.selected()) is not None:
            self.app.push_screen(ResultsScreen(rec))

    # ----------------------------------------------------------------- palette-only commands (no key of their own)
    def open_clean_up(self) -> None:
        """Remote resources, with clean-up's safe set selected as soon as the server's lists are in."""
        from gembatch_tui.tui.optional_screens import optional_screen

        screen_cls = optional_screen("resources")
        if screen_cls is None or self.gapp.service is None:
            self.gapp.record_event("remote resources are not available here", title="Clean up", severity="warning")
            return
        screen = screen_cls()
        self.app.push_screen(screen)
        self.gapp.record_event("u selects the safe set (what `cleanup` deletes), d deletes it after a question",
                               title="Clean up")

    def open_export(self) -> None:
        """The results browser of the row; x there writes JSONL, X CSV."""
        self.action_view_results()
        self.gapp.record_event("x exports the results as JSONL, X as CSV", title="Export")

    def _retryable_parts(self) -> list[Record]:
        """The parts `R` would queue again: the selected part, or every retryable part of the selected group."""
        parts = self._group_parts()
        if parts is None:
            rec = self.selected()
            return [rec] if rec is not None and can_retry(rec) else []
        return [r for r in parts if can_retry(r)]

    def action_retry_parts(self) -> None:
        keys = [record_key(r) for r in self._retryable_parts()]
        if keys:
            self._retry_worker(keys)

    @work(thread=True, exclusive=True, group="dashboard-retry", exit_on_error=False, description="retry parts")
    def _retry_worker(self, keys: list[str]) -> None:
        """Reset each part to queued (store and part files only) when its cost fits the cap; the app's next poll
        submits them."""
        from gembatch_tui.tui.dashboard.part_retry import retry_under_cap
        from gembatch_tui.tui.messages import JobsSubmitted

        outcomes = retry_under_cap(self.gapp.store, self.gapp.service, keys)
        self.post_message(PartsRetried([(o.line() if o.ok else o.message, o.ok) for o in outcomes]))
        if any(o.ok for o in outcomes):
            self.app.post_message(JobsSubmitted([]))  # reload, and poll soon: that submits the queued parts

    # ----------------------------------------------------------------- archive (A)
    def _archivable(self) -> list[Record]:
        """What `A` would change: the selected job, or every part of the selected group, when all of them are final
        (archive) or all archived (unarchive); empty when A does not apply."""
        from gembatch_tui.core.archive import refusal

        parts = self._group_parts()
        records = parts if parts is not None else [r for r in [self.selected()] if r is not None]
        if not records:
            return []
        undo = all(is_archived(r) for r in records)
        return records if all(refusal(r, undo) is None for r in records) else []

    def action_archive_job(self) -> None:
        records = self._archivable()
        if records:
            self._archive_worker([record_key(r) for r in records], all(is_archived(r) for r in records))

    @work(thread=True, exclusive=True, group="dashboard-archive", exit_on_error=False, description="archive jobs")
    def _archive_worker(self, keys: list[str], undo: bool) -> None:
        """One locked store write (core.archive); nothing remote. The app reloads and the row goes (or comes back)."""
        from gembatch_tui.core import archive
        from gembatch_tui.tui.messages import StoreChanged

        records = [rec for key in keys if (rec := self.gapp.store.get(key)) is not None]
        outcomes = archive.apply(self.gapp.store, records, undo=undo)
        self.post_message(JobsArchived([(o.line(undo), o.ok) for o in outcomes], undo))
        if any(o.ok for o in outcomes):
            self.app.post_message(StoreChanged("archived"))

    def on_jobs_archived(self, message: JobsArchived) -> None:
        done = [text for text, ok in message.lines if ok]
        failed = [text for text, ok in message.lines if not ok]
        title = "Unarchived" if message.undo else "Archived"
        if done:
            more = "" if message.undo else " (H shows archived jobs)"
            summary = done[0] if len(done) == 1 else counted(len(done), "job")
            self.gapp.record_event(f"{summary}{more}", title=title)
        for text in failed:
            self.gapp.record_event(text, title=f"Not {title.lower()}", severity="warning")
        if not message.lines:
            self.gapp.record_event("the job is no longer in the store", title=title, severity="warning")

    def on_parts_retried(self, message: PartsRetried) -> None:
        done = [text for text, ok in message.lines if ok]
        if done:
            self.notify(safe("\n".join(done[:6])), title="Retry parts", markup=False)
        for text, ok in message.lines:
            if not ok:
                self.notify(safe(text), title="Cannot retry part", severity="error", markup=False)
        if not message.lines:
            self.notify("Nothing to retry: the parts are no longer in the store", severity="warning", markup=False)


__all__ = ["JobsArchived", "PartsRetried", "RowActions"]
