"""The gradient-check table fits the pane at 80x24 instead of scrolling sideways: short headers,
then the last columns left out, and the notes say so."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from core.gradcheck import GradCheckResult, ParamCheck
from tests.test_view_widgets import ViewApp
from tui.components import GradCheckView

SIZE = (80, 24)
ROWS = (
    ParamCheck("W1", (784, 100), 30, 1e-9, 1e-10, 3e-3, 2, 2e-9, 1e-10),
    ParamCheck("b1", (100,), 30, 1e-3, 1e-4, 0.5, 0, 0.5, 1e-10),
)
RESULT = GradCheckResult(rows=ROWS, notes=("Delta floor: ...",), h=1e-5, batch_size=3)


def table_width(table: DataTable) -> int:
    return sum(column.get_render_width(table) for column in table.columns.values())


@pytest.mark.parametrize("width, headers", [
    (46, ["param", "verdict", "rel err", "unexpl", "kinks"]),  # beside the form
    (78, ["param", "verdict", "rel err", "unexpl", "kinks", "|diff|", "checked", "shape"]),  # form hidden
    (100, ["param", "verdict", "max rel err", "unexplained", "kinks", "max |diff|", "checked", "shape"]),
])
async def test_gradcheck_table_fits_the_pane(width, headers):
    view = GradCheckView()
    async with ViewApp(view).run_test(size=(max(SIZE[0], width), SIZE[1])) as pilot:
        view.styles.width = width
        await pilot.pause()
        view.set_result(RESULT)
        await pilot.pause()
        table = view.query_one(DataTable)
        assert [str(column.label) for column in table.columns.values()] == headers
        assert table_width(table) <= view.scrollable_content_region.width
        assert table.max_scroll_x == 0  # nothing to scroll to
        notes = str(view.query_one("#gc-notes", Static).render())
        if width == 46:
            assert "In this width: rel err = max rel err" in notes and "left out: max |diff|, checked, shape" in notes
        if width == 100:
            assert "In this width" not in notes


async def test_gradcheck_table_follows_the_pane_when_it_widens():
    view = GradCheckView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        view.styles.width = 46
        view.set_result(RESULT)
        await pilot.pause()
        assert "shape" not in view.query_one(DataTable).columns
        view.styles.width = 78  # `c` hides the form
        await pilot.pause()
        await pilot.pause()
        table = view.query_one(DataTable)
        assert "shape" in table.columns and table.get_row("W1")[-1] == "784x100"
