"""The question asked before a run with unsaved progress is replaced: discard it, save it first, or cancel."""

from __future__ import annotations

from tui.components.file_dialog import ChoiceDialog


class UnsavedDialog(ChoiceDialog):
    """Ask what to do with `steps` unsaved training steps before `action` (e.g. "re-initialise").

    Answers "discard" (d), "save" (s: save first, then go on) or "cancel" (c or escape).
    """

    def __init__(self, steps: int, action: str) -> None:
        question = (f"The run has {steps:,} training step{'s' if steps != 1 else ''} not saved in a "
                    f"checkpoint. To {action}, the network is replaced.")
        choices = [("d", "Discard", "discard"), ("s", "Save first", "save"), ("c", "Cancel", "cancel")]
        super().__init__("Unsaved progress", question, choices, cancel="cancel", focus=2, primary=1)
