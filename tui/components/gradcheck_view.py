"""The gradient-check view: core.gradcheck's table, its progress while it runs, its notes.

Each verdict is written out and marked with a sign as well as coloured, so the table reads the
same without colour: ✓ good (green), ~ acceptable (yellow), ? inconclusive (blue),
! suspicious (orange), ✗ wrong (red).

The table fits the pane rather than scroll sideways: in a narrow pane (beside the form at 80x24)
the headers are shortened and, if that is not enough, the last columns are left out; the notes
say which.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, ProgressBar, Static

from tui.components.pacing import Paced, Run

VERDICT_STYLES = {
    "good": "bold #3fb950",
    "acceptable": "bold #d4a72c",
    "inconclusive": "bold #58a6ff",
    "suspicious": "bold #f0883e",
    "wrong": "bold #f85149",
}
VERDICT_SIGNS = {"good": "✓", "acceptable": "~", "inconclusive": "?", "suspicious": "!", "wrong": "✗"}
VERDICT_MEANINGS = {
    "good": "backprop agrees with the numerical gradient",
    "acceptable": "close; differences of this size are typical of kinks or rounding",
    "inconclusive": "every checked entry crossed a ReLU kink, so nothing can be judged; try another batch",
    "suspicious": "the differences are larger than expected; read the notes below",
    "wrong": "backprop disagrees with the numerical gradient",
}

#: The most telling first: in a narrow pane the last columns are left out.
COLUMNS = ("param", "verdict", "max rel err", "kinks", "max |diff|", "checked", "shape")
SMOOTH_COLUMN = "unexplained"
#: The headers of a narrow pane (the others stay as they are).
SHORT_HEADERS = {"max rel err": "rel err", SMOOTH_COLUMN: "unexpl", "max |diff|": "|diff|"}
#: Columns never left out.
KEPT_COLUMNS = 2
#: The cells DataTable pads each column with.
CELL_PADDING = 2
#: The summary before any check ran.
NOT_RUN = "Gradient check: not run yet. It compares backprop with central differences on a small batch."


def verdict_text(verdict: str, upper: bool = False) -> Text:
    word = verdict.upper() if upper else verdict
    return Text(f"{VERDICT_SIGNS.get(verdict, '')} {word}", style=VERDICT_STYLES.get(verdict, "bold"))


def _sci(value: float) -> str:
    return f"{value:.1e}"


class GradCheckView(Paced, VerticalScroll):
    """The gradient check: summary line, progress bar (while running), table, notes.

    `set_running(total=None)` clears the last result and shows the progress bar;
    `set_progress(done, total)` advances it; `set_result(result)` shows a core
    `GradCheckResult`; `set_error(message)` shows why the check did not finish.
    """

    DEFAULT_CSS = """
    GradCheckView {
        height: 1fr;
        width: 1fr;
    }
    GradCheckView #gc-summary {
        height: auto;
        width: 1fr;
    }
    GradCheckView #gc-progress {
        display: none;
        height: 1;
    }
    GradCheckView.-running #gc-progress {
        display: block;
    }
    GradCheckView #gc-table {
        height: auto;
        max-height: 12;
    }
    GradCheckView:focus {
        background-tint: $foreground 4%;
    }
    GradCheckView.-empty #gc-table, GradCheckView.-running #gc-table {
        display: none;
    }
    GradCheckView #gc-notes {
        height: auto;
        width: 1fr;
        color: $text-muted;
        margin-top: 1;
    }
    GradCheckView.-error #gc-summary {
        color: $text-error;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.result = None
        self.state = "empty"  # empty, running, done, error
        self.add_class("-empty")
        self.shown_columns: tuple[tuple[str, str], ...] = ()  # (column, header) of the table as shown

    def compose(self) -> ComposeResult:
        yield Static(NOT_RUN, id="gc-summary")
        # a total from the start: without one, the bar animates (and wakes the app 15 times a second)
        # even while hidden, which the training thread pays for in waits for the interpreter lock
        yield ProgressBar(id="gc-progress", show_eta=False, total=1)
        # focusable (tab) to scroll sideways in a narrow pane; the view itself scrolls up and down
        yield DataTable(id="gc-table", cursor_type="none", zebra_stripes=True)
        yield Static("", id="gc-notes")

    @property
    def table(self) -> DataTable:
        return self.query_one("#gc-table", DataTable)

    def _set_state(self, state: str) -> None:
        self.state = state
        for name in ("empty", "running", "done", "error"):
            self.set_class(name == state, f"-{name}")

    def show(self, snap, run: Run, force: bool = False) -> None:
        """Nothing to draw from a snapshot (so nothing to pace): the check's own messages fill the table."""

    def clear(self) -> None:
        """Not run yet, for a fresh network (the app cancels a running check first)."""
        self.result = None
        self._stop_progress()
        self._set_state("empty")
        self.query_one("#gc-summary", Static).update(NOT_RUN)
        self.table.clear(columns=True)
        self.shown_columns = ()
        self.query_one("#gc-notes", Static).update("")

    def set_running(self, total: int | None = None) -> None:
        """The check started: clear the last result, show progress."""
        self.result = None
        self._set_state("running")
        self.query_one("#gc-summary", Static).update("Gradient check running: numerical gradient, "
                                                     "two forward passes per checked entry...")
        bar = self.query_one("#gc-progress", ProgressBar)
        bar.update(total=total, progress=0)
        self.table.clear(columns=True)
        self.shown_columns = ()
        self.query_one("#gc-notes", Static).update("")

    def set_progress(self, done: int, total: int) -> None:
        bar = self.query_one("#gc-progress", ProgressBar)
        bar.update(total=max(total, 1), progress=min(done, total))

    def _stop_progress(self) -> None:
        self.query_one("#gc-progress", ProgressBar).update(total=1, progress=0)

    def set_error(self, message: str) -> None:
        """The check failed or was cancelled."""
        self._stop_progress()
        self._set_state("error")
        self.query_one("#gc-summary", Static).update(Text(f"Gradient check did not finish: {message}"))

    def set_result(self, result) -> None:
        """Show a core.gradcheck.GradCheckResult."""
        self.result = result
        self._stop_progress()
        self._set_state("done")
        verdict = result.verdict
        summary = Text.assemble(
            ("Gradient check: ", "bold"), verdict_text(verdict, upper=True),
            f" - {VERDICT_MEANINGS.get(verdict, '')}",
            (f"  (batch of {result.batch_size}, h = {result.h:g})", "dim"),
        )
        self.query_one("#gc-summary", Static).update(summary)
        self.shown_columns = ()  # a new table
        self._fill_table()

    def on_resize(self) -> None:
        if self.result is not None:
            self._fill_table()

    def _cells(self) -> dict[str, list]:
        """Every column's cells, by column name, in the order of the result's rows."""
        rows = self.result.rows
        cells = {
            "param": [Text(row.name, style="bold") for row in rows],
            "verdict": [verdict_text(row.verdict) for row in rows],
            "max rel err": [Text(_sci(row.max_rel_error), justify="right") for row in rows],
            "kinks": [Text(str(row.kinks), justify="right") for row in rows],
            "max |diff|": [Text(_sci(row.max_abs_diff), justify="right") for row in rows],
            "checked": [Text(str(row.checked), justify="right") for row in rows],
            "shape": ["x".join(str(s) for s in row.shape) for row in rows],
        }
        if any(row.kinks or row.delta_rel_error > 1e-9 for row in rows):
            cells[SMOOTH_COLUMN] = [Text("-" if row.kinks == row.checked else _sci(row.unexplained_error),
                                         justify="right") for row in rows]
        return cells

    def _fit_columns(self, cells: dict[str, list], width: int) -> list[tuple[str, str]]:
        """(column, header) of the columns to show in `width` cells: all with their full headers when
        they fit, else with short headers, leaving out the last columns until the rest fit."""
        names = list(COLUMNS)
        if SMOOTH_COLUMN in cells:
            names.insert(names.index("max rel err") + 1, SMOOTH_COLUMN)

        def needed(columns: list[tuple[str, str]]) -> int:
            return sum(max([len(header)] + [cell_len(str(cell)) for cell in cells[name]]) + CELL_PADDING
                       for name, header in columns)

        full = [(name, name) for name in names]
        if needed(full) <= width:
            return full
        short = [(name, SHORT_HEADERS.get(name, name)) for name in names]
        while len(short) > KEPT_COLUMNS and needed(short) > width:
            short.pop()
        return short

    def _fill_table(self) -> None:
        """The table of the result, with the columns that fit the pane; the notes under it."""
        result = self.result
        cells = self._cells()
        columns = tuple(self._fit_columns(cells, self.scrollable_content_region.width or self.size.width))
        if columns != self.shown_columns:
            self.shown_columns = columns
            table = self.table
            table.clear(columns=True)
            for name, header in columns:
                align = "left" if name in ("param", "shape", "verdict") else "right"
                table.add_column(Text(header, justify=align), key=name)
            for i, row in enumerate(result.rows):
                table.add_row(*(cells[name][i] for name, _ in columns), key=row.name)
        notes = Text()
        shown = {name for name, _ in columns}
        short = [f"{header} = {name}" for name, header in columns if header != name]
        left_out = [name for name in cells if name not in shown]
        if short or left_out:
            said = short + ([f"left out: {', '.join(left_out)}"] if left_out else [])
            notes.append("In this width: " + "; ".join(said) + ".\n\n")
        if SMOOTH_COLUMN in cells:
            notes.append(f"{SMOOTH_COLUMN}: the largest relative error left once the kinks and the "
                         "delta's share are set aside; the verdict is based on it.\n\n")
        for i, note in enumerate(result.notes):
            if i:
                notes.append("\n\n")
            notes.append("- " + note)
        self.query_one("#gc-notes", Static).update(notes)
