"""Provides PrepareStep, mixed into SubmitScreen: a table picked on the submit screen is prepared into a batch file.

Why its own module: the people this serves start from data (a CSV of articles, a JSON list of records), not from
a finished JSONL file. Picking such a table (enter, or P) opens PrepareDialog; the prepare (`gembatch-tui
prepare`'s one pass, tui/submit/prepare_run.py) runs in a thread worker with its rows as progress, escape stops
it (nothing is written), and the `<name>.batch.jsonl` it wrote is marked and previewed, so ctrl+s submits it.
Problems (a row without a column, a bad schema, the cost cap) show in the preview, one line each. Handlers go by
name (`on_prepare_finished`), since `@on` is only collected on Textual classes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from gembatch_tui.core.errors import Cancelled
from gembatch_tui.tui.dialogs.prepare import PrepareDialog
from gembatch_tui.tui.submit import messages as msg
from gembatch_tui.tui.submit.model import throttled
from gembatch_tui.tui.submit.prepare_run import PrepareRequest, data_columns, is_data_name, run_prepare

if TYPE_CHECKING:
    from textual.screen import Screen

    from gembatch_tui.core.submit.cost_cap import CostPolicy
    from gembatch_tui.tui.submit.file_picker import FilePicker
    from gembatch_tui.tui.submit.file_preview import FilePreview

    _ScreenBase = Screen[None]
else:
    _ScreenBase = object


class PrepareStep(_ScreenBase):
    """Offer, run and finish the prepare of a table, for a screen with a picker, a preview and options."""

    picker: FilePicker
    preview: FilePreview
    policy: CostPolicy | None
    current: Path | None
    preparing: bool
    running: bool
    model: str

    if TYPE_CHECKING:
        def label(self, path: Path) -> str: ...
        def _show(self, pane: str) -> None: ...
        def preview_file(self, path: Path) -> None: ...

    _prepare_cancel: threading.Event | None = None
    _prepare_last: dict[Path, PrepareRequest] | None = None

    def is_table(self, path: Path | None) -> bool:
        """Whether `path` is a table the screen offers to prepare."""
        return path is not None and is_data_name(path.name)

    def show_table(self, path: Path) -> None:
        """The preview of a table: what enter does with it (it is not a batch file, so it is not checked)."""
        self.preview.show_message(
            self.label(path),
            "A table, not a batch file.\nenter or P prepares it: a prompt template with {column} fields, the id "
            "column, an optional system instruction and JSON Schema; the batch file it writes is marked to submit.")

    def action_prepare(self) -> None:
        path = self.current
        if self.running or self.preparing or path is None or not self.is_table(path):
            return
        self._read_columns(path)

    @work(thread=True, exclusive=True, group="submit-prepare-columns", exit_on_error=False,
          description="read the table's columns")
    def _read_columns(self, path: Path) -> None:
        columns, problem = data_columns(path)
        self.post_message(msg.PrepareColumnsRead(path, columns, problem))

    def on_prepare_columns_read(self, message: msg.PrepareColumnsRead) -> None:
        if not self.is_attached or self.app.screen is not self:
            return
        last = (self._prepare_last or {}).get(message.path)
        self.app.push_screen(PrepareDialog(message.path, self.label(message.path), message.columns, message.problem,
                                           last), self._prepare_answered)

    def _prepare_answered(self, request: PrepareRequest | None) -> None:
        if request is None:
            return
        if self._prepare_last is None:
            self._prepare_last = {}
        self._prepare_last[request.data] = request  # the dialog opens with these again (after a problem)
        self.preparing = True
        self._prepare_cancel = threading.Event()
        self._show("preview")
        self.preview.show_message(self.label(request.data), "Preparing… (esc stops; nothing is written then)")
        self._prepare_worker(request, self.model, self.policy, self._prepare_cancel)

    @work(thread=True, exclusive=True, group="submit-prepare", exit_on_error=False, description="prepare the table")
    def _prepare_worker(self, request: PrepareRequest, model: str, policy: Any, cancel: threading.Event) -> None:
        from gembatch_tui.core.prepare.build import PrepareError
        from gembatch_tui.tui.submit.prepare_run import PrepareInputError

        post = throttled(lambda rows: self.post_message(msg.PrepareProgressed(request.data, rows)))
        try:
            result = run_prepare(request, model, policy, progress=post, cancel=cancel)
        except Cancelled:
            self.post_message(msg.PrepareFinished(request, cancelled=True))
        except PrepareError as exc:
            self.post_message(msg.PrepareFinished(request, problems=exc.lines()))
        except PrepareInputError as exc:
            self.post_message(msg.PrepareFinished(request, problems=[str(exc)]))
        except OSError as exc:
            where = getattr(exc, "filename", None) or request.batch
            self.post_message(msg.PrepareFinished(request, problems=[f"{where}: cannot write: {exc.strerror or exc}"]))
        else:
            self.post_message(msg.PrepareFinished(request, result=result))

    def on_prepare_progressed(self, message: msg.PrepareProgressed) -> None:
        if self.preparing:
            self.preview.show_message(self.label(message.path),
                                      f"Preparing… {message.rows:,} rows (esc stops; nothing is written then)")

    def cancel_prepare(self) -> bool:
        """Stop the prepare in flight (escape); False when there is none."""
        if not self.preparing or self._prepare_cancel is None:
            return False
        self._prepare_cancel.set()
        return True

    async def on_prepare_finished(self, message: msg.PrepareFinished) -> None:
        self.preparing = False
        label = self.label(message.request.data)
        if message.cancelled:
            self.preview.show_message(label, "Prepare stopped: nothing was written")
            return
        if message.result is None:
            self.preview.show_message(label, "Not prepared (nothing was written):\n" + "\n".join(message.problems)
                                      + "\nenter or P opens the dialog again", kind="error")
            self.notify(f"{label}: not prepared: {message.problems[0] if message.problems else 'failed'}",
                        severity="error", markup=False)
            return
        result = message.result
        batch = Path(result.batch)
        self.picker.set_marks([Path(message.request.data)], marked=False)  # the table itself cannot be sent
        self.picker.set_marks([batch])
        await self.picker.reload()  # the new file shows in the tree, under the cursor (the preview follows it)
        node = _node_of(self.picker.root, batch)
        if node is not None:
            self.picker.move_cursor(node, animate=False)
        if self.current != batch:
            self.preview_file(batch)
        self.notify(f"Prepared {result.rows:,} requests: {self.label(batch)} is marked; ctrl+s submits it",
                    markup=False)


def _node_of(root: Any, path: Path) -> Any:
    """The tree node of `path` among the loaded (expanded) nodes, or None."""
    stack = [root]
    while stack:
        node = stack.pop()
        data = node.data
        if data is not None and data.path == path:
            return node
        stack.extend(node.children)
    return None


__all__ = ["PrepareStep"]
