"""Provides SubmitScreen: choose JSONL files on the box you are logged in to, check them, and submit them.

Layout: the path field and the options on top, the file tree with the list of every marked file under it,
beside (or, when narrow, above) the preview, the totals of the marked files, and the footer. Every file is
checked in a thread worker (`exclusive`, with a cancel Event, so a new highlight stops the last check at once
and a 100 MB file never blocks a key), and the submit run goes through BatchService.submit, the same code path as the `submit` command. Before it, a worker
sorts the marked files into submitted, skipped (the service's duplicate check) and refused (problems, the cost
cap), for the confirm dialog. Mixed in: the totals and their figures (figures.py), a table prepared into a batch
file (prepare_step.py), and the real-time run offered when the Batch API refuses a create (realtime_offer.py).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DirectoryTree, Footer, Input, Label, Static, Tree
from textual.worker import Worker

from gembatch_tui.core.api import pricing
from gembatch_tui.core.submit.cost_cap import CostPolicy
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.validate import ValidationCancelled
from gembatch_tui.tui.messages import JobsSubmitted, StoreChanged
from gembatch_tui.tui.submit import messages as msg
from gembatch_tui.tui.submit.browse import MarksAndFolders
from gembatch_tui.tui.submit.marked_list import MarkedList
from gembatch_tui.tui.submit.estimates import EstimateCache
from gembatch_tui.tui.submit.model import ReportCache, canonical, display_path, throttled
from gembatch_tui.tui.submit.path_input import PathInput
from gembatch_tui.tui.submit.paths import list_folder
from gembatch_tui.tui.submit.plan import build_plan, duplicate_name
from gembatch_tui.tui.submit.figures import Figures
from gembatch_tui.tui.submit.prepare_step import PrepareStep
from gembatch_tui.tui.submit.realtime_offer import RealtimeOffer
from gembatch_tui.tui.submit.run import SubmitRequest
from gembatch_tui.tui.submit.file_picker import FilePicker, is_jsonl_name
from gembatch_tui.tui.submit.file_preview import FilePreview
from gembatch_tui.tui.submit.confirm import ConfirmSubmit
from gembatch_tui.tui.submit.log import SubmitLog
from gembatch_tui.tui.submit.options import SubmitOptions
from gembatch_tui.tui.worker_failures import WorkerFailures


KEPT_MARKS = "submit_marks_kept"
"""The app's attribute that holds the files still marked when the screen was left, for the next visit."""


class SubmitScreen(WorkerFailures, MarksAndFolders, Figures, PrepareStep, RealtimeOffer, Screen[None]):
    """Pick files, see what they hold, submit them; escape goes back (or stops an upload in flight)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "mark_folder", "Mark all", tooltip="Mark every JSONL file in this folder", id="submit.mark_all"),
        Binding("ctrl+s", "submit", "Submit", tooltip="Submit the marked files", id="submit.submit"),
        Binding("escape", "cancel_upload", "Cancel upload", tooltip="Stop the upload in flight", id="submit.cancel"),
        Binding("escape", "stop_work", "Stop", tooltip="Stop the prepare (nothing written) or the real-time run "
                "(answers kept)", id="submit.stop"),
        Binding("escape", "back", "Back", tooltip="Back to the jobs", id="submit.back"),
        Binding("q", "cancel_upload", "Cancel upload", show=False, id="submit.cancel_q"),
        Binding("q", "back", "Back", show=False, id="submit.back_q"),
        Binding("tab", "app.focus_next", "Next pane", show=False, tooltip="Tree, marked list, preview, options, "
                "path", id="submit.next"),  # in help: at 80 columns the footer has no room beside P, o and f1
        Binding("slash", "focus_path", "Path", show=False, tooltip="Type or paste a path or a glob", id="submit.path"),
        Binding("P", "prepare", "Prepare", tooltip="Make a batch file from the highlighted table (CSV, TSV, JSON)",
                id="submit.prepare"),
        Binding("o", "toggle_log", "Outcomes", tooltip="Show the last submit run", id="submit.outcomes"),
        Binding("p", "toggle_preview", "Preview", show=False, id="submit.preview"),
        Binding("u", "unmark_all", "Unmark all", show=False, id="submit.unmark_all"),
        Binding("m", "focus_marked", "Marked", show=False, tooltip="The list of every marked file (space unmarks)",
                id="submit.marked"),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False),
    ]

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (70, "-wide")]  # stacked panes below 70 columns

    DEFAULT_CSS = """
    SubmitScreen {
        #path-row { height: 1; margin: 0 1; }
        #path-row > Label { color: $text-muted; padding: 0 1 0 0; }
        #path { width: 1fr; }
        #path:focus { background-tint: $accent 30%; }
        #options { margin: 0 1; }
        &.-narrow #options { layout: grid; grid-size: 4 2; grid-columns: auto 1fr auto 1fr; height: 2; }
        #panes { height: 1fr; width: 100%; layout: horizontal; }
        &.-narrow #panes { layout: vertical; }
        #picker, #right, #marked { border: round $foreground 30%; }
        #left { width: 2fr; height: 1fr; }
        #picker { height: 1fr; overflow-x: hidden; }
        #marked.-empty { display: none; }
        &.-narrow #marked { max-height: 5; }
        #right { width: 3fr; height: 1fr; }
        #picker:focus-within, #right:focus-within, #marked:focus { border: round $accent; }
        &.-narrow #left, &.-narrow #right { width: 1fr; }
        &.-no-preview #right { display: none; }
        #totals { height: 1; margin: 0 1; color: $text-muted; }
        #totals.-invalid { color: $warning; }
        #realtime { height: 1; margin: 0 1; color: $accent; display: none; }
        #realtime.-on { display: block; }
    }
    """

    running: var[bool] = var(False, bindings=True)
    """A submit run is in flight (escape cancels it instead of leaving)."""
    realtime_running: var[bool] = var(False, bindings=True)
    """Refused requests are being run through the real-time API (escape stops it)."""
    preparing: var[bool] = var(False, bindings=True)
    """A table is being prepared into a batch file (escape stops it)."""
    has_results: var[bool] = var(False, bindings=True)
    """A submit run has ended on this screen (the outcomes can be shown again with o)."""

    def __init__(self, start_dir: Path | None = None, *, marked: list[Path] | None = None) -> None:
        """`marked`: files to mark from the start (R in the results browser marks its retry file)."""
        super().__init__()
        wanted = Path(start_dir) if start_dir is not None else Path.cwd()
        self._start_problem = "" if wanted.is_dir() else f"{wanted}: not a folder; showing the working directory"
        self.root = Path(os.path.realpath(wanted if wanted.is_dir() else Path.cwd()))
        """The folder the tree started in; paths on screen are shown relative to it."""
        self.cache = ReportCache()
        """Validation reports shared by the preview, the totals and the submit run."""
        self.estimates = EstimateCache()
        """Whole-cost estimates (input + output) by file and model, for the preview, the totals and the plan."""
        self.policy: CostPolicy | None = None
        """The cost cap, prices and output assumptions the service submits under; None until read."""
        self._unestimable: set[tuple[Path, str]] = set()
        """Files whose estimate failed for a model (not tried again by the totals)."""
        self.prices: dict[str, pricing.ModelPrice] | None = None
        self.limits: JobLimits | None = None
        """The per-job limits the service splits by (from the config); None until read (defaults apply)."""
        self.current: Path | None = None
        """The file on show in the preview."""
        self._preview_cancel = threading.Event()
        self._totals_cancel = threading.Event()
        self._duplicates: dict[Path, str | None] = {}
        self._queued: set[Path] = set()
        self._premarked = [canonical(p) for p in marked or []]
        self._listing_for: Path | None = None
        """The folder whose listing the preview waits for (an older listing is not shown)."""
        self._plan_cancel = threading.Event()
        self.planning = False
        """The confirm dialog's plan is being built (ctrl+s again waits for it)."""
        self._last_model = ""
        """The model of the last submit run (the real-time fallback runs its refused files with it)."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="path-row"):
            yield Label("Path", markup=False)
            yield PathInput(self._tree_folder, compact=True, id="path",
                            placeholder="/ to type or paste a path, a folder or a glob (*.jsonl), tab completes")
        yield SubmitOptions(self._settings("default_model", "gemini-2.5-flash"), id="options")
        if not self._premarked:  # what was still marked when this screen was last left (action_back)
            self._premarked = [p for p in getattr(self.app, KEPT_MARKS, None) or [] if isinstance(p, Path)]
        with Container(id="panes"):
            with Vertical(id="left"):
                picker = FilePicker(self.root, root_label=self.root.name or str(self.root), id="picker")
                picker.marked = dict.fromkeys(self._premarked)
                if self._premarked and self._premarked[0].parent == self.root:
                    picker.land_on = self._premarked[0]  # before its first load, which may end before on_mount
                yield picker
                yield MarkedList(id="marked")
            with ContentSwitcher(initial="preview", id="right"):
                yield FilePreview(id="preview")
                yield SubmitLog(id="log")
        yield Static("", id="totals", markup=False)
        yield Static("", id="realtime", markup=False)
        yield Footer(compact=True)

    def _settings(self, name: str, default: Any) -> Any:
        return getattr(getattr(self.app, "settings", None), name, default)

    def on_mount(self) -> None:
        self.query_one("#path", Input).cursor_blink = False
        self.query_one("#picker").border_title = "Files"
        self.query_one("#right").border_title = "Preview"
        picker = self.query_one(FilePicker)
        picker.focus()
        self._show_marked()
        self._update_totals()
        self._load_prices(self._settings("config_path", None))
        if self._start_problem:
            self.notify(self._start_problem, severity="warning")

    def on_unmount(self) -> None:
        for event in (self._preview_cancel, self._totals_cancel, self._plan_cancel):
            event.set()  # the thread workers stop reading files for a screen that is gone

    # ------------------------------------------------------------------ helpers
    @property
    def picker(self) -> FilePicker:
        return self.query_one(FilePicker)

    @property
    def preview(self) -> FilePreview:
        return self.query_one(FilePreview)

    @property
    def model(self) -> str:
        return self.query_one(SubmitOptions).values.model

    @property
    def marked_list(self) -> MarkedList:
        return self.query_one(MarkedList)

    def _tree_folder(self) -> Path:
        """The folder the tree shows (a relative path typed in the path field starts there)."""
        return self.picker.path if isinstance(self.picker.path, Path) else self.root

    def label(self, path: Path) -> str:
        """How a path is shown: relative to the start folder (the start folder itself by its name)."""
        if path == self.root:
            return self.root.name or str(self.root)
        return display_path(path, self.root)

    def _show(self, pane: str) -> None:
        self.query_one(ContentSwitcher).current = pane
        self.query_one("#right").border_title = "Outcomes" if pane == "log" else "Preview"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_upload":
            return self.running
        if action == "stop_work":
            return self.preparing or self.realtime_running
        if action == "back":
            return not (self.running or self.preparing or self.realtime_running)
        if action == "submit":
            return None if self.running or self.planning or self.preparing else True
        if action == "prepare":
            return self.is_table(self.current) and not (self.running or self.preparing)
        if action == "toggle_log":
            return self.has_results or self.running
        return True

    # ------------------------------------------------------------------ highlight -> preview
    @on(Tree.NodeHighlighted, "#picker")
    def _highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        self._preview_node(event.node)

    def _preview_node(self, node: Any) -> None:
        """Preview the tree's entry `node`: a folder's listing, or a file's check."""
        entry = node.data if node is not None else None
        if entry is None:
            return
        if not self.running:
            self._show("preview")
        if node.allow_expand:
            self.preview_folder(entry.path)
        else:
            self.preview_file(entry.path)

    def preview_folder(self, path: Path) -> None:
        """Show what the folder `path` holds (listed in a worker)."""
        self.current = None
        self._preview_cancel.set()
        self._update_totals()
        self.preview.show_message(self.label(path) + "/", "Listing…")
        self._listing_for = path
        self._list_folder(path, mark=False)

    def preview_file(self, path: Path) -> None:
        """Show `path` in the preview: at once from the cache, else after a check in a worker."""
        self.current = path
        self._preview_cancel.set()
        self.refresh_bindings()  # P is offered for a table only
        if self.is_table(path):
            self.show_table(path)
            self._update_totals()
            return
        cached = self.cache.latest(path)
        if cached is not None and path in self._duplicates:
            self._show_report(path, cached, self._duplicates[path])
        else:
            self.preview.show_message(self.label(path), "Checking…")
        self._preview_cancel = threading.Event()
        self._check_file(path, self._preview_cancel, getattr(self.app, "service", None), self.model, self.policy)
        self._update_totals()  # a marked file whose preview was just abandoned is checked for the totals

    @work(thread=True, exclusive=True, group="submit-preview", exit_on_error=False, description="check file")
    def _check_file(self, path: Path, cancel: threading.Event, service: Any, model: str,
                    policy: CostPolicy | None) -> None:
        post = throttled(lambda done, total: self.post_message(msg.CheckProgressed(path, done, total)))
        try:
            report = self.cache.validate(path, cancel=cancel, progress=post)
        except ValidationCancelled:
            return
        duplicate = None
        if report.ok and service is not None:
            record = service.duplicate_of(Path(path).absolute(), report.sha256)
            if record is not None:
                duplicate = duplicate_name(record)
        self.post_message(msg.FileChecked(path, report, duplicate, for_preview=True))
        if report.ok and policy is not None and model.strip():  # then the whole cost: one more read of the file
            estimate = self.estimates.estimate(path, model, policy, cancel)
            if estimate is not None and not cancel.is_set():
                self.post_message(msg.FileChecked(path, report, duplicate, for_preview=True, estimate=estimate))

    def on_check_progressed(self, message: msg.CheckProgressed) -> None:
        if message.path == self.current and self.preview.report is None:
            self.preview.show_checking(self.label(message.path), message.done, message.total)

    def on_file_checked(self, message: msg.FileChecked) -> None:
        self._queued.discard(message.path)
        if message.for_preview:
            self._duplicates[message.path] = message.duplicate
        if message.for_preview and message.path == self.current:
            self._show_report(message.path, message.report, message.duplicate)
        self._update_totals()

    def _show_report(self, path: Path, report: Any, duplicate: str | None) -> None:
        """The preview of a checked file, with its whole cost for the model chosen now once estimated."""
        self.preview.show_report(self.label(path), report, self.model, self.prices, duplicate, self.limits,
                                 estimate=self.estimates.latest(path, self.model),
                                 cap=self.policy.cap if self.policy is not None else None)

    @work(thread=True, exclusive=True, group="submit-folder", exit_on_error=False, description="list folder")
    def _list_folder(self, path: Path, mark: bool) -> None:
        self.post_message(msg.FolderListed(list_folder(path, is_jsonl_name), mark, requested=path))

    def on_folder_listed(self, message: msg.FolderListed) -> None:
        listing = message.listing
        if not message.mark:
            if self.current is None and message.requested == self._listing_for:
                self.preview.show_folder(self.label(message.requested) + "/", listing,
                                         root=message.requested == self._tree_folder())
            return
        where = self.label(listing.path) + "/"
        if listing.error:
            self.notify(f"{where}: {listing.error}", severity="error")
        elif not listing.jsonl:
            self.notify(f"No JSONL files in {where}", severity="warning")
        elif all(self.picker.is_marked(p) for p in listing.jsonl):
            self.picker.set_marks(listing.jsonl, marked=False)
            self.notify(f"Unmarked {len(listing.jsonl)} JSONL files in {where}")
        else:
            n = self.picker.set_marks(listing.jsonl)
            self.notify(f"Marked {n} JSONL file{'s' if n != 1 else ''} in {where}")

    def on_file_picker_folder_unreadable(self, message: FilePicker.FolderUnreadable) -> None:
        self.notify(f"{self.label(message.path)}/: {message.reason}", severity="error")

    # ------------------------------------------------------------------ path field
    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._expand(event.value, self._tree_folder())

    @on(Input.Submitted, "#options Input")
    def _option_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    # ------------------------------------------------------------------ keys
    def action_mark_folder(self) -> None:
        node = self.picker.cursor_node
        if node is None or node.data is None:
            folder = self._tree_folder()
        else:
            folder = node.data.path if node.allow_expand else node.data.path.parent
        self._list_folder(folder, mark=True)

    def action_unmark_all(self) -> None:
        self.picker.clear_marks()

    def action_toggle_preview(self) -> None:
        self.toggle_class("-no-preview")

    def action_toggle_log(self) -> None:
        self.remove_class("-no-preview")
        self._show("preview" if self.query_one(ContentSwitcher).current == "log" else "log")

    def action_back(self) -> None:
        app = self.app
        marked = list(self.picker.marked)
        setattr(app, KEPT_MARKS, marked)  # leaving never drops the marks: the next `s` shows them again
        if marked:
            app.notify(f"{len(marked)} marked file{'s' if len(marked) != 1 else ''} kept: s shows "
                       f"{'them' if len(marked) != 1 else 'it'} again", timeout=4, markup=False)
        if len(app.screen_stack) > 1 and app.screen is self:
            app.pop_screen()
        elif "dashboard" in getattr(app, "MODES", {}):
            app.switch_mode("dashboard")

    @on(DirectoryTree.FileSelected, "#picker")
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        if self.is_table(event.path):  # a table is prepared first, then its batch file submitted
            self.current = event.path
            self.action_prepare()
            return
        self.action_submit()

    # ------------------------------------------------------------------ submit
    def action_submit(self) -> None:
        if self.running or self.planning or self.preparing:
            return
        paths = list(self.picker.marked) or ([self.current] if self.current is not None else [])
        if not paths:
            self.notify("Nothing to submit: mark files with space (or a for a whole folder)", severity="warning")
            return
        values = self.query_one(SubmitOptions).values
        if not values.model:
            self.notify("Choose a model first", severity="warning")
            self.query_one("#opt-model", Input).focus()
            return
        request = SubmitRequest(paths, values.model, values.display_name, values.force)
        self._totals_cancel.set()  # the plan checks what the totals worker had left
        self._queued = set()
        self._plan_cancel = threading.Event()
        self.planning = True
        unchecked = sum(self.cache.latest(p) is None for p in paths)
        if unchecked:
            self.notify(f"Checking {unchecked} marked file{'s' if unchecked != 1 else ''} before asking…", timeout=3)
        self._plan(request, self._plan_cancel, getattr(self.app, "service", None))

    @work(thread=True, exclusive=True, group="submit-plan", exit_on_error=False, description="check the marked files")
    def _plan(self, request: SubmitRequest, cancel: threading.Event, service: Any) -> None:
        plan = build_plan(service, request, self.cache, self.prices, self.limits, cancel,
                          checked=lambda p, r: self.post_message(msg.FileChecked(p, r, None, for_preview=False)),
                          estimates=self.estimates, policy=self.policy)
        self.post_message(msg.PlanBuilt(plan))

    def on_plan_built(self, message: msg.PlanBuilt) -> None:
        self.planning = False
        plan = message.plan
        if plan is None or not self.is_attached or self.app.screen is not self:
            return
        self.app.push_screen(ConfirmSubmit(plan, self.label),
                             lambda yes: self._start(plan.request) if yes else None)

    def _start(self, request: SubmitRequest) -> None:
        service = getattr(self.app, "service", None)
        if service is None:
            self.notify("No service: set an API key or start with --demo", severity="error")
            return
        self.running = True
        self.remove_class("-no-preview")
        self._show("log")
        self._last_model = request.model
        self.query_one(SubmitLog).run(service, request, self.cache, [self.label(p) for p in request.paths])

    def action_stop_work(self) -> None:
        if self.cancel_prepare():
            self.notify("Stopping the prepare: nothing is written")
        else:
            self.cancel_realtime()

    def action_cancel_upload(self) -> None:
        if self.query_one(SubmitLog).cancel():
            self.notify("Cancelling: the upload in flight stops and is removed (a job already being created is "
                        "not: its line will say so)")

    def on_file_submitted(self, message: msg.FileSubmitted) -> None:
        result = message.result
        if result.status in ("submitted", "queued", "error", "refused"):  # the session's log keeps what was sent
            self.app.record_event(f"{self.label(result.path)}: {result.summary()}",
                                  severity="information" if result.stored else "warning")
        if message.result.stored:
            self.app.post_message(StoreChanged("submitted"))  # the dashboard shows the job (or group) at once
            self._duplicates.pop(message.result.path, None)

    def on_submit_finished(self, message: msg.SubmitFinished) -> None:
        self.running = False
        self.has_results = True
        self.picker.clear_marks([r.path for r in message.results if r.stored or r.status == "skipped"])
        names = [n for r in message.results if r.status == "submitted" for n in (r.batch_names or [r.batch_name]) if n]
        self.app.post_message(JobsSubmitted(names))
        self.app.post_message(StoreChanged("submit run finished"))
        self.offer_realtime(message.results, self._last_model or self.model)  # refused for quota or access

    def handle_worker_failure(self, event: Worker.StateChanged) -> bool:
        """This screen's own workers; any other goes to the App (WorkerFailures)."""
        error = event.worker.error
        group = event.worker.group or ""
        if not group.startswith("submit-"):
            return False
        if group == "submit-plan":
            self.planning = False
        if group == "submit-prepare":
            self.preparing = False
        if group == "submit-realtime":
            self.realtime_running = False
            self._show_realtime("")
        if group == "submit-preview" and self.current is not None:
            self.preview.show_message(self.label(self.current), f"Could not check this file: {error}", kind="error")
        else:
            self.notify(f"{event.worker.description}: {error}", severity="error", markup=False)
        return True
