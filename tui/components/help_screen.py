"""The `?` help screen: every key of the app, in a modal that any of escape, q or ? closes."""

from __future__ import annotations

from typing import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.components.file_dialog import Dialog

INTRO = (
    "ScratchNet trains a NumPy network written from scratch, live. Edit the configuration on "
    "the left (tab moves between fields, escape leaves the form), then press space."
)


class HelpScreen(Dialog):
    """A table of (keys, what they do) rows, grouped under headings (rows whose keys are '')."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        border-title-color: $accent;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-intro {
        color: $text-muted;
        margin-bottom: 1;
    }
    """

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss_help", "Close", show=True),
    ]

    def __init__(self, rows: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "ScratchNet keys"
            scroll.border_subtitle = "↑↓ scroll · escape closes"
            scroll.can_focus = True
            yield Static(INTRO, id="help-intro")
            yield Static(self._table(), id="help-keys")

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True, min_width=12)
        table.add_column()
        for i, (keys, description) in enumerate(self.rows):
            if not keys:
                if i:
                    table.add_row("", "")
                table.add_row(Text(description, style="bold underline"), "")
            else:
                table.add_row(Text(keys, style="bold"), description)
        return table

    def action_dismiss_help(self) -> None:
        self.answer(None)
