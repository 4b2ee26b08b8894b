"""Provides PathInput: the submit screen's path field, where tab completes a path as a shell does.

Tab extends the last part of the path to what every matching entry shares; when they share nothing more, it
lists the matches on the event line, and each further tab puts the next match in the field. With nothing to
complete (an empty field, a glob, no match) tab moves to the next pane as everywhere else, so it never traps the
focus. The folder is read in a thread worker: a slow network mount never blocks a key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from gembatch_tui.tui.submit.paths import Completion, complete_path
from gembatch_tui.tui.widgets.safe_text import safe

SHOWN_MATCHES = 5
"""Matches named on the event line when tab cannot extend the text."""


class PathInput(Input):
    """A path or glob field; `base` gives the folder a relative path starts from."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", tooltip="In the path field: complete the path (again: list, then cycle"
                " the matches); with nothing to complete, the next pane", id="submit.path.complete"),
        Binding("escape", "leave", "Clear / leave", tooltip="In the path field: clear it; when it is empty, back to "
                "the files (escape there leaves the screen)", id="submit.path.leave"),
    ]

    class Completed(Message):
        """A completion came back from the worker (posted to the field itself)."""

        def __init__(self, completion: Completion) -> None:
            super().__init__()
            self.completion = completion

    def __init__(self, base: Callable[[], Path], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.base = base
        """The folder a relative path is read from (the tree's root)."""
        self._cycle: list[str] = []
        self._cycle_at = -1
        self._cycle_value: str | None = None
        """The text tab last put in the field while cycling; any other text starts afresh."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave":  # while a run is in flight (the screen cannot go back), escape is the screen's: it
            return bool(self.screen.check_action("back", ()))  # stops the run
        return True

    def action_leave(self) -> None:
        """Escape in the field never leaves the screen (the marks would go with it): it clears the text, then
        hands the keys back to the file tree."""
        if self.value:
            self.value = ""
            return
        picker = self.screen.query("#picker")
        if picker:
            picker.first().focus()
        else:
            self.screen.focus_next()

    def action_complete(self) -> None:
        if self._cycle and self.value == self._cycle_value:
            self._cycle_at = (self._cycle_at + 1) % len(self._cycle)
            self._put(self._cycle[self._cycle_at])
            self._cycle_value = self.value
            return
        self._cycle, self._cycle_value = [], None
        if not self.value.strip() or any(c in self.value for c in "*?["):
            self.screen.focus_next()  # an empty field or a glob: nothing to complete, at once
            return
        self._complete(self.value, self.base())

    @work(thread=True, exclusive=True, group="submit-complete", exit_on_error=False, description="complete the path")
    def _complete(self, text: str, base: Path) -> None:
        self.post_message(self.Completed(complete_path(text, base)))

    def on_path_input_completed(self, message: PathInput.Completed) -> None:
        message.stop()
        found = message.completion
        if self.value != found.text or not self.has_focus:
            return  # typed on or left meanwhile: this answer is for a text no longer there
        if not found.candidates or (len(found.candidates) == 1 and found.value == found.text):
            self.screen.focus_next()  # nothing to complete: tab is the next pane, as everywhere
            return
        if found.value != found.text:
            self._put(found.value)
            return
        self._cycle = [found.stem + c for c in found.candidates]
        self._cycle_at = -1
        self._cycle_value = self.value
        names = ", ".join(safe(c) for c in found.candidates[:SHOWN_MATCHES])
        more = len(found.candidates) - SHOWN_MATCHES
        tail = f", … {more} more" if more > 0 else ""
        self.notify(f"tab cycles {len(found.candidates)}: {names}{tail}", markup=False, timeout=4)

    def _put(self, value: str) -> None:
        self.value = value
        self.cursor_position = len(value)


__all__ = ["PathInput"]
