"""Provides SubmitOptions: model, display name and what to do with duplicates, on one compact row.

The model field takes free text (new models appear faster than any list) and steps through the catalogue with
up/down, with completion from the catalogue as you type. Text cursors do not blink: a blinking cursor costs
about 1.7 KB/s over ssh for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Select

from gembatch_tui.core.api.models_catalog import find_model, model_ids, next_model

SKIP = "skip"
FORCE = "force"


@dataclass(frozen=True)
class OptionValues:
    """The options as the submit run needs them."""

    model: str
    display_name: str
    force: bool


class ModelInput(Input):
    """The model field: free text, up/down step through the known models."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "step(1)", "Next model", show=False, tooltip="In the model field: the next known model"),
        Binding("up", "step(-1)", "Previous model", show=False, tooltip="In the model field: the previous one"),
    ]

    def action_step(self, step: int) -> None:
        self.value = next_model(self.value, step)
        self.cursor_position = len(self.value)


class SubmitOptions(Horizontal):
    """One row of submit options; posts `SubmitOptions.Changed` whenever a value changes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "to_files", "Files", show=False, tooltip="In the options: back to the files (escape "
                "there leaves the screen)", id="submit.options.leave"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "to_files":  # while a run is in flight, escape is the screen's: it stops the run
            return bool(self.screen.check_action("back", ()))
        return True

    def action_to_files(self) -> None:
        """Escape in the model or name field goes back to the file tree, as in the path field: only escape there
        leaves the screen."""
        picker = self.screen.query("#picker")
        if picker:
            picker.first().focus()
        else:
            self.screen.focus_next()

    DEFAULT_CSS = """
    SubmitOptions {
        height: 1;
        width: 1fr;
        max-width: 110;
        & > Label { padding: 0 1 0 0; color: $text-muted; }
        & > .-gap { padding: 0 1 0 1; }
        & > Input { width: 1fr; min-width: 12; }
        & > #opt-model { width: 24; }
        & > Input:focus { background-tint: $accent 30%; }
        & > Select { width: 17; }
        & > Select:focus > SelectCurrent { background-tint: $accent 30%; }
    }
    """

    class Changed(Message):
        def __init__(self, options: SubmitOptions, values: OptionValues) -> None:
            super().__init__()
            self.options = options
            self.values = values

        @property
        def control(self) -> SubmitOptions:
            return self.options

    def __init__(self, default_model: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.default_model = default_model
        """The model the field starts with (settings.default_model)."""

    def compose(self) -> ComposeResult:
        model = ModelInput(
            self.default_model,
            placeholder="model",
            suggester=SuggestFromList(model_ids(), case_sensitive=False),
            compact=True,
            id="opt-model",
        )
        model.tooltip = "Model: type any id, or up/down for the known ones"
        yield Label("Model", markup=False)
        yield model
        yield Label("Name", classes="-gap", markup=False)
        name = Input(placeholder="(file name)", compact=True, id="opt-name")
        name.tooltip = "Display name of the job; empty = the file name (numbered when several files)"
        yield name
        yield Label("Duplicates", classes="-gap", markup=False)
        yield Select(
            [("skip", SKIP), ("submit again", FORCE)], value=SKIP, allow_blank=False, compact=True, id="opt-dups"
        )

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False

    @property
    def values(self) -> OptionValues:
        model = self.query_one("#opt-model", Input).value.strip()
        return OptionValues(
            model=model,
            display_name=self.query_one("#opt-name", Input).value.strip(),
            force=self.query_one("#opt-dups", Select).value == FORCE,
        )

    def model_note(self) -> str:
        """A few words about the chosen model, or a hint for a model typed freely."""
        model = self.values.model
        if not model:
            return "no model chosen"
        choice = find_model(model)
        return choice.note if choice else "not in the known list: sent as typed"

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self, self.values))


__all__ = ["ModelInput", "OptionValues", "SubmitOptions"]
