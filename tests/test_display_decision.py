"""The decision view's legend and points at 80x24, with and without colour: training and test points
are different characters, and the legend says which is which, whole."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_view_widgets import ViewApp, lines
from tui.components import DecisionView

SIZE = (80, 24)
BESIDE_THE_FORM = 46  # the view's width at 80x24 with the configuration pane shown


def two_classes(view: DecisionView) -> None:
    grid = np.zeros((4, 4, 2))
    grid[:, :2, 0] = 1.0  # negative on the left
    grid[:, 2:, 1] = 1.0
    x_train = np.array([[-0.5, 0.5], [0.5, 0.5]])
    x_test = np.array([[-0.5, -0.5], [0.5, -0.5]])
    view.set_data(grid, x_train, np.array([0, 1]), x_test, np.array([0, 1]), ("negative", "positive"),
                  x_range=(-1, 1), y_range=(-1, 1))


@pytest.mark.parametrize("width", [BESIDE_THE_FORM, 80])
async def test_without_colour_train_and_test_points_are_different_characters(width):
    view = DecisionView()
    async with ViewApp(view, no_color=True).run_test(size=SIZE) as pilot:
        view.styles.width = width
        two_classes(view)
        await pilot.pause()
        rendered = lines(view)
        legend_rows = 2 if width < 80 else 1
        legend = " ".join(strip.text for strip in rendered[:legend_rows])
        assert "negative [ ]" in legend and "positive [.]" in legend  # each class's fill
        assert "train o x  test O X" in legend  # each class's point, training and test
        assert all(len(strip.text) == width for strip in rendered)
        body = "".join(strip.text for strip in rendered[legend_rows:])
        assert sorted(ch for ch in body if ch.isalpha()) == ["O", "X", "o", "x"]
        # the test points are reversed as well, in the plane and in the legend
        reversed_cells = [seg.text for strip in rendered for seg in strip if seg.style.reverse]
        assert reversed_cells == ["O", "X", "O", "X"]


async def test_colour_legend_fits_beside_the_form():
    view = DecisionView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        view.styles.width = BESIDE_THE_FORM
        two_classes(view)
        await pilot.pause()
        legend = view.render_line(0).text
        assert "negative" in legend and "positive" in legend and "● train  ○ test" in legend
        body = "".join(strip.text for strip in lines(view)[1:])
        assert body.count("●") == 2 and body.count("○") == 2
