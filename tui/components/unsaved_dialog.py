"""The question asked before a run with unsaved progress is replaced: discard it, save it first, or cancel."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.components.file_dialog import DIALOG_CSS


class UnsavedDialog(ModalScreen[str]):
    """Ask what to do with `steps` unsaved training steps before `action` (e.g. "re-initialise").

    Dismisses with "discard" (d), "save" (s: save first, then go on) or "cancel" (escape or c).
    """

    DEFAULT_CSS = "UnsavedDialog {" + DIALOG_CSS + "}"
    BINDINGS = [
        Binding("d", "choose('discard')", "Discard"),
        Binding("s", "choose('save')", "Save first"),
        Binding("c,escape", "choose('cancel')", "Cancel"),
    ]

    def __init__(self, steps: int, action: str) -> None:
        super().__init__()
        self.steps = steps
        self.what_next = action

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Unsaved progress"
            yield Static(f"The run has {self.steps:,} training step{'s' if self.steps != 1 else ''} "
                         f"not saved in a checkpoint. To {self.what_next}, the network is replaced.")
            with Horizontal():
                yield Button("Discard (d)", id="unsaved-discard", variant="error", compact=True)
                yield Button("Save first (s)", id="unsaved-save", variant="primary", compact=True)
                yield Button("Cancel (c)", id="unsaved-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#unsaved-cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(str(event.button.id).removeprefix("unsaved-"))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
