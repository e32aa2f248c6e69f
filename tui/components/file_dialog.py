"""Small modal dialogs: a path prompt (for ctrl+s / ctrl+o) and a yes/no question (quit while training)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

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


def check_path(text: str, must_exist: bool) -> tuple[Path | None, str]:
    """(path, "") when `text` names a usable checkpoint file, else (None, the reason)."""
    text = text.strip()
    if not text:
        return None, "type a file name"
    path = Path(text).expanduser()
    if path.is_dir():
        return None, f"{path} is a directory; name a file in it"
    if must_exist:
        if not path.exists():
            return None, f"{path} does not exist"
    else:
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            return None, f"the folder {parent} does not exist"
    return path, ""


class PathDialog(ModalScreen["Path | None"]):
    """Ask for a file path; dismisses with the Path, or None when cancelled (escape)."""

    DEFAULT_CSS = "PathDialog {" + DIALOG_CSS + "}"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: str, *, must_exist: bool, hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.must_exist = must_exist
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

    @on(Input.Submitted)
    @on(Button.Pressed, "#path-ok")
    def submit(self) -> None:
        path, reason = check_path(self.query_one("#path-input", Input).value, self.must_exist)
        if path is None:
            self.query_one("#path-error", Static).update(reason)
            return
        self.dismiss(path)

    @on(Button.Pressed, "#path-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y or enter says yes, n or escape says no."""

    DEFAULT_CSS = "ConfirmDialog {" + DIALOG_CSS + "}"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.question)
            with Horizontal():
                yield Button("Yes (y)", id="confirm-yes", variant="error", compact=True)
                yield Button("No (n)", id="confirm-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
