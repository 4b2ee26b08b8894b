"""Provides the resources screen (`b`): this key's remote files and batch jobs, flagged against the store.

With several API keys (config `profiles`), `p` lists the next profile's key: each key sees only its own files and
jobs, so the screen lists one key at a time, named on its top line.

Thread workers list the server (page by page, with progress), delete, adopt and cancel; they post
past-tense messages and never touch a widget. What is safe to delete comes from `core.resources`, which
reuses the CLI `cleanup` rule. Every deletion is confirmed (y / n / escape), protected rows a second time.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from gembatch_tui.core.cleanup import remote as res
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.core.models import Record
from gembatch_tui.core.cleanup.flags import ACTIVE, PROTECTED, SAFE, BatchRow, Inventory, Row, classify
from gembatch_tui.core.store import StoreError
from gembatch_tui.tui.messages import StoreChanged
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.resources.questions import (
    OutcomeDialog,
    cancel_all_question,
    cancel_outcome_text,
    cancelled_summary,
    delete_question,
    not_cancelled,
    outcome_text,
    protected_question,
)
from gembatch_tui.tui.resources.messages import (
    ActiveJobsCancelled,
    InventoryLoaded,
    JobsAdopted,
    ResourcesDeleted,
    WorkProgressed,
)
from gembatch_tui.tui.resources.table import FILTERS, MAX_ROWS, ResourceTable, summary_texts
from gembatch_tui.tui.widgets.safe_text import safe
from gembatch_tui.tui.worker_failures import WorkerFailures

HINT = "r reload · a all · tab files/jobs · esc back"
ACTING = frozenset({"reload", "delete", "clean_up", "adopt", "cancel_all"})
QUESTION_LIST_MAX = 500
"""Items a question names one by one (the dialog scrolls); past that it says how many more."""


# ----------------------------------------------------------------------------- the screen
class ResourcesScreen(WorkerFailures, Screen[None]):
    """Two tabs (remote files, remote jobs), a summary, multi-select, delete, clean up, adopt, cancel all."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False, tooltip="Back to the dashboard", id="resources.back"),
        Binding("q", "back", "Back", show=False, tooltip="Back to the dashboard", id="resources.back_q"),
        Binding("r", "reload", "Reload", show=False, tooltip="List the server's files and jobs again",
                id="resources.reload"),
        Binding("space", "toggle_select", "Mark", tooltip="Select or unselect the row (for d)", id="resources.select"),
        Binding("a", "select_all", "All", show=False, tooltip="Select every visible row of this tab (again: unselect)",
                id="resources.select_all"),
        Binding("f", "cycle_filter", "Filter", tooltip="Show only active / protected / safe / orphan / expiring rows",
                id="resources.filter"),
        Binding("d", "delete", "Delete", tooltip="Delete the selected rows (or the row under the cursor)",
                id="resources.delete"),
        Binding("u", "clean_up", "Clean up", tooltip="Select exactly the safe set (the rule of `cleanup`)",
                id="resources.clean_up"),
        Binding("A", "adopt", "Adopt", tooltip="Add the job to the store so its results are fetched",
                id="resources.adopt"),
        Binding("C", "cancel_all", "Cancel all", tooltip="Cancel every pending or running job",
                id="resources.cancel_all"),
        Binding("tab,shift+tab", "next_tab", "Files/Jobs", show=False, id="resources.tab"),
        Binding("1", "show_tab('files')", "Files tab", show=False, id="resources.files"),
        Binding("2", "show_tab('batches')", "Jobs tab", show=False, id="resources.batches"),
        Binding("p", "next_profile", "Profile", tooltip="List the files and jobs of the next API key (profile)",
                id="resources.profile"),
    ]

    DEFAULT_CSS = """
    ResourcesScreen {
        & .res-bar { height: 1; background: $panel; }
        & .res-title { width: auto; padding: 0 1; text-style: bold; color: $accent; }
        & #res-usage { width: 1fr; padding: 0 1; }
        & #res-counts { height: 1; padding: 0 1; }
        & #res-tabs { height: 1fr; }
        & TabPane { padding: 0; }
        & ResourceTable { height: 1fr; scrollbar-size-vertical: 1; }
        & ResourceTable:focus { background-tint: $foreground 3%; }
        & #res-status { height: 1; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    }
    """

    def __init__(self, inventory: Inventory | None = None, records: list[Record] | None = None) -> None:
        super().__init__()
        self.inventory: Inventory | None = inventory
        """The remote files and jobs as last listed and flagged; None until the first listing."""
        self.records: list[Record] = list(records or [])
        """The store as read together with `inventory`."""
        self.selected: set[str] = set()
        """Names of the selected rows, across both tabs."""
        self.filter: str | None = None
        """Show only rows with this flag; None shows all."""
        self.failed: dict[str, str] = {}
        """Rows whose last deletion failed, with the reason."""
        self.busy = ""
        """What a worker is doing now ("listing", "deleting", ...); "" when idle."""
        self._message = ""
        self.profile: str | None = None
        """The profile (API key) listed; None: the app's own service (the profile that submits)."""

    @property
    def profiles(self) -> dict[str, Any]:
        """The services of the keys that are set, by profile name (runtime.py); empty with one key."""
        services = getattr(getattr(self.app, "runtime", None), "services", None) or {}
        return dict(services) if len(services) > 1 else {}

    @property
    def service(self) -> Any:
        """The service whose key is listed (and acts: delete, adopt, cancel)."""
        return self.profiles.get(self.profile or "", self.app.service)

    def _title(self) -> str:
        if not self.profiles:
            return "Remote resources"
        name = self.profile or getattr(self.app.service, "profile", "default")
        return f"Remote resources · profile {name}"

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        with Horizontal(classes="res-bar"):
            yield Label(self._title(), classes="res-title", id="res-title", markup=False)
            yield Static("", id="res-usage", markup=False)
        yield Static("", id="res-counts", markup=False)
        with TabbedContent(id="res-tabs", initial="files"):
            with TabPane("Files", id="files"):
                yield ResourceTable("files", id="files-table")
            with TabPane("Jobs", id="batches"):
                yield ResourceTable("batches", id="batches-table")
        yield Static("", id="res-status", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#files-table", ResourceTable).focus()
        signal = getattr(self.app, "jobs_changed", None)  # GembatchApp publishes every new read of the store
        if signal is not None:
            signal.subscribe(self, self._records_changed)
        if self.inventory is not None:
            self._show()
        else:
            self.action_reload()

    def _records_changed(self, records: list[Record]) -> None:
        """The store changed (a poll, a download): flag the same listing again; only `r` asks the server."""
        if self.inventory is None or self.busy:
            return
        inv = self.inventory
        self.records = list(records)
        self.inventory = classify(inv.remote_files, inv.remote_batches, self.records, self.app.clock(),
                                      store_tag=inv.store_tag)
        self._show()

    def table(self, tab: str | None = None) -> ResourceTable:
        return self.query_one(f"#{tab or self.tab}-table", ResourceTable)

    @property
    def tab(self) -> str:
        return self.query_one(TabbedContent).active or "files"

    def _show(self) -> None:
        inv = self.inventory
        if inv is None:
            return
        usage, counts = summary_texts(inv.summary, self.filter)
        self.query_one("#res-usage", Static).update(usage)
        self.query_one("#res-counts", Static).update(counts)
        tabs = self.query_one(TabbedContent)
        for tab, rows, label in (("files", inv.files, "Files"), ("batches", inv.batches, "Jobs")):
            shown = self.visible(rows)
            tabs.get_tab(tab).label = f"{label} {len(shown)}" + (f"/{len(rows)}" if len(shown) != len(rows) else "")
            self.table(tab).show(shown, inv.now, self.selected, self.failed)
        self._status()
        self.refresh_bindings()

    def visible(self, rows: list[Any]) -> list[Row]:
        picked = [r for r in rows if self.filter is None or self.filter in r.flags]
        picked.sort(key=lambda r: (r.created is None, -(r.created.timestamp() if r.created else 0), r.name))
        return picked[:MAX_ROWS]

    def _status(self, message: str | None = None) -> None:
        if message is not None:
            self._message = message
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        if self.busy:
            text.append("⟳ ", style="bold")
        if self.selected:
            text.append(f"{len(self.selected)} selected", style="bold")
            text.append(" · ")
        if self.filter:
            text.append(f"filter: {self.filter}", style="bold")
            text.append(" · ")
        text.append(self._message)
        text.append(("   " if self._message else "") + HINT, style="dim")
        self.query_one("#res-status", Static).update(text, layout=False)

    # ----------------------------------------------------------------- which keys apply
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "adopt" and self.tab != "batches":
            return False
        if action == "next_profile" and not self.profiles:
            return False
        if action in (*ACTING, "next_profile") and (self.busy or self.service is None):
            return None
        if action == "adopt":
            return True if self._adoptable() else False
        if action == "delete":
            return True if self.chosen() else None
        if action == "clean_up":
            return True if self.inventory and self.inventory.summary.counts[SAFE] else None
        if action == "cancel_all":
            return True if self.inventory and any(ACTIVE in b.flags for b in self.inventory.batches) else None
        if action in ("toggle_select", "select_all"):
            return True if self.table().row_count else None
        return True

    def chosen(self) -> list[Row]:
        """The selected rows; with none selected, the row under the cursor."""
        if self.inventory is None:
            return []
        if self.selected:
            return [row for row in self.inventory.rows() if row.name in self.selected]
        row = self.table().cursor_item()
        return [row] if row is not None else []

    def _adoptable(self) -> list[BatchRow]:
        return [r for r in self.chosen() if isinstance(r, BatchRow) and not r.in_store]

    @on(DataTable.RowHighlighted)
    @on(TabbedContent.TabActivated)
    def _moved(self, event: Any) -> None:
        if isinstance(event, TabbedContent.TabActivated):
            self.table().focus()
        self.refresh_bindings()

    # ----------------------------------------------------------------- selecting and filtering
    def action_next_tab(self) -> None:
        self.action_show_tab("batches" if self.tab == "files" else "files")

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.set_focus(self.table(tab))  # at once (not deferred): a key typed right after goes to the new tab

    def action_toggle_select(self) -> None:
        table = self.table()
        row = table.cursor_item()
        if row is None:
            return
        on_now = row.name not in self.selected
        (self.selected.add if on_now else self.selected.discard)(row.name)
        table.set_mark(row.name, on_now)
        table.action_cursor_down()
        self._status()
        self.refresh_bindings()

    def action_select_all(self) -> None:
        names = {row.name for row in self.table().rows_shown}
        if names <= self.selected:
            self.selected -= names
        else:
            self.selected |= names
        self._show()

    def action_cycle_filter(self) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        self._show()

    def action_clean_up(self) -> None:
        if self.inventory is None:
            return
        safe = {a.target for a in res.safe_actions(self.inventory, self.records)}
        if not safe:
            self.notify("Nothing is safe to delete: no finished job has its results verified on disk", markup=False)
            return
        self.selected, self.filter = safe, SAFE
        self._show()
        self._status("marked what `cleanup` would delete: d deletes it")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    # ----------------------------------------------------------------- delete
    def _limit(self) -> int:
        """Items a question lists by name (the rest as "… and N more"): the dialog's body scrolls."""
        return QUESTION_LIST_MAX

    def action_delete(self) -> None:
        rows = self.chosen()
        protected = [r for r in rows if PROTECTED in r.flags and ACTIVE not in r.flags]
        plan = res.actions_for(rows, self.records, allow_protected=[r.name for r in protected])
        if not plan.actions:
            reason = plan.refused[0] if plan.refused else "nothing selected"
            self.notify(f"Nothing to delete: {reason}", severity="warning", markup=False)
            return
        names = [r.name for r in rows]

        def second(yes: bool | None) -> None:
            if yes:
                self._start_delete(names, [r.name for r in protected])
            else:
                self._status("nothing deleted; unselect the protected rows (f shows them) to delete the rest")

        def first(yes: bool | None) -> None:
            if not yes:
                self._status("nothing deleted")
            elif protected:
                self.app.push_screen(ConfirmDialog(*protected_question(protected, self._limit()), danger=True), second)
            else:
                self._start_delete(names, [])

        question = delete_question(plan.actions, protected, plan.refused, self._limit())
        self.app.push_screen(ConfirmDialog(*question, danger=bool(protected)), first)

    def _start_delete(self, names: list[str], allowed: list[str]) -> None:
        self._set_busy("deleting", f"deleting {len(names)} items…")
        self._delete_worker(names, allowed)

    @work(thread=True, group="resources-act", exit_on_error=False, description="delete remote items")
    def _delete_worker(self, names: list[str], allowed: list[str]) -> None:
        assert self.inventory is not None

        def progress(i: int, n: int, target: str) -> None:
            self.post_message(WorkProgressed(f"deleting {i} of {n}: {target}"))

        report = res.delete_rows(self.service, self.inventory, names, self.app.clock,
                                 allow_protected=allowed, progress=progress)
        self.app.post_message(StoreChanged("resources: deleted remote items"))  # even if this screen is gone
        self.post_message(ResourcesDeleted(report.results, report.refused))
        ok = sum(1 for r in report.results if r.ok)
        failed = len(report.results) - ok
        note = f"deleted {ok} of {len(report.results)}" + (f"; {failed} failed (✖ rows)" if failed else "")
        self.post_message(InventoryLoaded(report.inventory, report.records, note))

    def on_resources_deleted(self, message: ResourcesDeleted) -> None:
        ok = {r.action.target for r in message.results if r.ok}
        self.failed = {r.action.target: r.message for r in message.results if not r.ok}
        self.selected -= ok
        if self.failed or message.refused:
            title = f"{len(self.failed)} of {len(message.results)} deletions failed" if self.failed else "Deleted"
            self.app.push_screen(OutcomeDialog(title, outcome_text(message.results, message.refused)))
        else:
            self.notify(f"Deleted {len(ok)} remote item{'s' if len(ok) != 1 else ''}", markup=False)

    # ----------------------------------------------------------------- adopt and cancel all
    def action_adopt(self) -> None:
        rows = self._adoptable()
        if not rows:
            self.notify("Only jobs that are not in the store can be adopted", severity="warning", markup=False)
            return
        self._set_busy("adopting", f"adopting {len(rows)} job{'s' if len(rows) != 1 else ''}…")
        self._adopt_worker([r.operation for r in rows])

    @work(thread=True, group="resources-act", exit_on_error=False, description="adopt remote jobs")
    def _adopt_worker(self, operations: list[dict[str, Any]]) -> None:
        service, inv = self.service, self.inventory
        assert inv is not None
        names, errors = [], []
        for op in operations:
            try:
                record = res.adopt(service, op)
                key_print = getattr(service, "key_fingerprint", None)
                if key_print is not None:  # polled with the key that listed it (core/keys.py)
                    from gembatch_tui.core.keys import FIELD
                    from gembatch_tui.core.models import record_key

                    service.store.update(record_key(record), lambda rec: rec.update({FIELD: key_print}))
                names.append(str(record["batch"]["name"]))
            except (ServiceError, StoreError) as exc:
                errors.append(f"{op.get('name')}: {exc}")
        if names:
            self.app.post_message(StoreChanged("resources: adopted jobs"))
        records = service.store.read_all()
        after = classify(inv.remote_files, inv.remote_batches, records, self.app.clock(), store_tag=inv.store_tag)
        self.post_message(JobsAdopted(names, errors))
        self.post_message(InventoryLoaded(after, records, f"adopted {len(names)}: results are fetched when polled"))

    def on_jobs_adopted(self, message: JobsAdopted) -> None:
        self.selected -= set(message.names)
        if message.names:
            self.notify(f"Adopted {', '.join(message.names)}", markup=False)
        for error in message.errors:
            self.notify(error, title="Could not adopt", severity="error", markup=False)

    def action_cancel_all(self) -> None:
        if self.inventory is None:
            return
        active = [b for b in self.inventory.batches if ACTIVE in b.flags]

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_busy("cancelling", "cancelling every pending or running job…")
                self._cancel_worker(active)

        self.app.push_screen(ConfirmDialog(*cancel_all_question(active, self._limit()), danger=True), answered)

    @work(thread=True, group="resources-act", exit_on_error=False, description="cancel every active job")
    def _cancel_worker(self, promised: list[BatchRow]) -> None:
        """Cancel what is active now; `promised` (what the question listed) is compared with what was tried, so
        a job that finished meanwhile is named with its end state instead of a bare "Cancelled 0 jobs"."""
        outcomes = res.cancel_all_active(self.service)
        self.app.post_message(StoreChanged("resources: cancelled jobs"))
        try:
            inv, records = self._list_now()
        except Exception:
            self.post_message(ActiveJobsCancelled(outcomes, not_cancelled(promised, outcomes, None)))
            raise
        self.post_message(ActiveJobsCancelled(outcomes, not_cancelled(promised, outcomes, inv.batches)))
        done = sum(1 for o in outcomes if o.ok)
        self.post_message(InventoryLoaded(inv, records, f"cancelled {done} of {len(outcomes)} active jobs"))

    def on_active_jobs_cancelled(self, message: ActiveJobsCancelled) -> None:
        if any(not o.ok for o in message.outcomes):
            body = cancel_outcome_text(message.outcomes)
            for line in message.skipped:
                body.append(f"• not tried: {safe(line)}\n", style="dim")
            self.app.push_screen(OutcomeDialog("Some jobs could not be cancelled", body))
        else:
            self.notify(safe(cancelled_summary(message.outcomes, message.skipped)), markup=False)

    # ----------------------------------------------------------------- listing
    def action_next_profile(self) -> None:
        """List the next profile's key (the selection and the last failures were the other key's)."""
        names = list(self.profiles)
        current = self.profile or getattr(self.app.service, "profile", names[0])
        self.profile = names[(names.index(current) + 1) % len(names)] if current in names else names[0]
        self.selected.clear()
        self.failed.clear()
        self.query_one("#res-title", Label).update(self._title())
        self.action_reload()

    def action_reload(self) -> None:
        if self.service is None:
            self._status("no service: the resources of a key cannot be listed in this mode")
            return
        self._set_busy("listing", "listing remote files…")
        self._load_worker()

    @work(thread=True, exclusive=True, group="resources-load", exit_on_error=False,
          description="list remote files and jobs")
    def _load_worker(self) -> None:
        inv, records = self._list_now()
        files, jobs = inv.summary.files, inv.summary.batches
        note = f"listed {files} file{'s' * (files != 1)} and {jobs} job{'s' * (jobs != 1)} at {inv.now:%H:%M:%S} UTC"
        self.post_message(InventoryLoaded(inv, records, note))

    def _list_now(self) -> tuple[Inventory, list[Record]]:
        worker = get_current_worker()

        def progress(what: str, pages: int, items: int) -> None:
            if worker.is_cancelled:
                raise Cancelled("listing cancelled")
            noun = "files" if what == "files" else "jobs"
            self.post_message(WorkProgressed(f"listing {noun}: page {pages}, {items} so far…"))

        return res.list_inventory(self.service, self.app.clock, progress=progress)

    # ----------------------------------------------------------------- worker reports
    def _set_busy(self, what: str, message: str) -> None:
        self.busy = what
        self._status(message)
        self.refresh_bindings()

    def on_work_progressed(self, message: WorkProgressed) -> None:
        if self.busy:
            self._status(message.text)

    def on_inventory_loaded(self, message: InventoryLoaded) -> None:
        self.inventory, self.records = message.inventory, message.records
        names = self.inventory.names()
        self.selected &= names
        self.failed = {k: v for k, v in self.failed.items() if k in names}
        self.busy = ""
        self._message = message.note
        self._show()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker becomes a notification and a status line (worker state messages do not bubble)."""
        if not (event.worker.group or "").startswith("resources"):
            super().on_worker_state_changed(event)  # not ours: the App's one place (WorkerFailures)
            return
        if event.state == WorkerState.ERROR:
            what, error = event.worker.description, safe(str(event.worker.error))
            self.busy = ""
            self._status(f"✖ could not {what}: {error}")
            self.notify(error, title=f"Could not {what}", severity="error", markup=False)
            self.refresh_bindings()
        elif event.state == WorkerState.CANCELLED:
            self.busy = ""
            self.refresh_bindings()


__all__ = ["ResourcesScreen"]
