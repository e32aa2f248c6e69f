"""Small modal dialogs: a path prompt (save, open, screenshot) and questions with a few answers (quit,
replace a file, open an autosaved run).

The path prompt checks what is typed with a `check(text, overwrite)` function before it closes:
every problem (an empty name, a folder, a device or FIFO, a missing file, a file that is not a
checkpoint, a name too long, a NUL byte...) shows inside the dialog; an existing file that is not
ours is replaced only once the user has said yes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from core.checkpoint import is_checkpoint
from core.config import memory_limit
from core.files import PathError, check_output, expand, open_input

class Dialog(ModalScreen[object]):
    """A modal screen that answers once. Keys that land while it closes (y then escape, q then q)
    would dismiss it again, and the second dismiss would pop the screen beneath it."""

    def __init__(self) -> None:
        super().__init__()
        self._answered = False

    def answer(self, value: object) -> None:
        if self._answered:
            return
        self._answered = True
        self.dismiss(value)


DIALOG_CSS = """
    align: center middle;
    & > Vertical {
        width: 64;
        max-width: 100%;
        height: auto;
        border: round $accent;
        border-title-color: $accent;
        background: $surface;
        padding: 0 1;
    }
    & .dialog-hint { color: $text-muted; }
    & .dialog-error { color: $error; height: auto; }
    & Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    & Button { margin-left: 1; min-width: 10; }
"""

#: check(text, overwrite) -> the Path to use, or PathError saying what is wrong with `text`.
PathCheck = Callable[[str, bool], Path]


def _no_nul(text: str, what: str) -> None:
    if "\x00" in text:
        raise PathError(f"the {what} name contains a NUL character, which no file name can hold")


def checkpoint_output(text: str, overwrite: bool = False) -> Path:
    """Where a checkpoint may be saved (core.files.check_output: a checkpoint of ours may be replaced)."""
    _no_nul(text, "checkpoint")
    return check_output(text, "checkpoint", is_ours=is_checkpoint, overwrite=overwrite)


def screenshot_output(text: str, overwrite: bool = False) -> Path:
    """Where a screenshot may be saved: any existing file is replaced only when asked."""
    _no_nul(text, "screenshot")
    return check_output(text, "screenshot", overwrite=overwrite)


def checkpoint_input(text: str, overwrite: bool = False) -> Path:
    """A checkpoint to open: an existing regular file, small enough, that is a ScratchNet checkpoint.
    (`overwrite` is unused: nothing is written.)"""
    _no_nul(text, "checkpoint")
    path = expand(text, "checkpoint")
    try:
        os.lstat(path)
    except FileNotFoundError:
        raise PathError(f"{text} does not exist") from None
    except OSError as error:  # e.g. a name too long for the filesystem
        raise PathError(f"checkpoint {text}: {error.strerror or error}") from None
    with open_input(path, "checkpoint", max_bytes=memory_limit()):
        pass  # a regular file within bounds: a FIFO or device is refused without blocking
    if not is_checkpoint(path):
        raise PathError(f"{text} is not a ScratchNet checkpoint (a .npz file saved by ScratchNet)")
    return path


class PathDialog(Dialog):
    """Ask for a file path, checked by `check`; dismisses with the Path, or None when cancelled (escape).

    An existing file that `check` refuses only because it is not ours (PathError.overwritable) is
    replaced once the user confirms it in a second dialog.
    """

    DEFAULT_CSS = "PathDialog {" + DIALOG_CSS + "}"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: str, *, check: PathCheck, hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.check = check
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            if self.hint:
                yield Static(self.hint, classes="dialog-hint")
            yield Input(self.default, id="path-input", select_on_focus=False)
            yield Static("", id="path-error", classes="dialog-error")
            with Horizontal():
                yield Button("OK", id="path-ok", variant="primary", compact=True)
                yield Button("Cancel", id="path-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#path-input", Input).focus()

    def show_error(self, reason: str) -> None:
        self.query_one("#path-error", Static).update(reason)

    def _checked(self, text: str, overwrite: bool) -> Path | None:
        """check(text), or None after showing why not (PathError passes through when overwritable)."""
        try:
            return self.check(text, overwrite)
        except PathError as error:
            if error.overwritable and not overwrite:
                raise
            self.show_error(str(error))
        except (ValueError, OSError) as error:  # e.g. a name the filesystem's encoding cannot hold
            self.show_error(f"cannot use {text!r} as a file name: {error}")
        return None

    @on(Input.Submitted)
    @on(Button.Pressed, "#path-ok")
    def submit(self) -> None:
        text = self.query_one("#path-input", Input).value
        try:
            path = self._checked(text, overwrite=False)
        except PathError as error:  # a file that is not ours: replace it only if the user says so
            self.show_error(str(error))
            question = ConfirmDialog("Replace the file?", f"{error}.\nReplace it?")
            self.app.push_screen(question, lambda yes: self._replace(text) if yes else None)
            return
        if path is not None:
            self.answer(path)

    def _replace(self, text: str) -> None:
        if not self.is_active:
            return  # another screen is on top (or this one is gone): leave the stack alone
        path = self._checked(text, overwrite=True)
        if path is not None:
            self.answer(path)

    @on(Button.Pressed, "#path-cancel")
    def action_cancel(self) -> None:
        self.answer(None)


Choice = tuple[str, str, object]  # (key, label, the value the dialog dismisses with)


class ChoiceDialog(Dialog):
    """A question with a few answers, each a button and a key; escape answers `cancel`. The button
    of `focus` (an index into `choices`) has the focus, that of `primary` stands out."""

    DEFAULT_CSS = "ChoiceDialog {" + DIALOG_CSS + "}"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, question: str, choices: Sequence[Choice], *, cancel: object = None,
                 focus: int = 0, primary: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.choices = list(choices)
        self.cancel = cancel
        self.focus_index = focus
        self.primary = primary
        for index, (key, label, _) in enumerate(self.choices):
            # bindings, not a key handler: a key that comes right after the one that opened the
            # dialog reaches it through them even before it is mounted and focused
            self._bindings.bind(key, f"choose({index})", label)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.question)
            with Horizontal():
                for index, (key, label, _) in enumerate(self.choices):
                    yield Button(f"{label} ({key})", id=f"choice-{index}", compact=True,
                                 variant="primary" if index == self.primary else "default")

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.focus_index % len(self.choices)}", Button).focus()

    @on(Button.Pressed)
    def chosen(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_choose(int((event.button.id or "choice-0").removeprefix("choice-")))

    def action_choose(self, index: int) -> None:
        self.answer(self.choices[index][2])

    def action_cancel(self) -> None:
        self.answer(self.cancel)


class ConfirmDialog(ChoiceDialog):
    """A yes/no question: y says yes (True), n or escape says no (False); `also`, a third answer
    (key, label, value), e.g. "save first"."""

    DEFAULT_CSS = "ConfirmDialog {" + DIALOG_CSS + "}"

    def __init__(self, title: str, question: str, *, also: Choice | None = None) -> None:
        choices = [("y", "Yes", True), *([also] if also else []), ("n", "No", False)]
        super().__init__(title, question, choices, cancel=False, focus=-1)
