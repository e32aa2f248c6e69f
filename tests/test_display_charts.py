"""The loss and accuracy charts tell the truth at a glance, in the width the app gives them at 80x24:
train and test loss per evaluation beside the loss per step, labelled axes, evaluations drawn at
their value, legends that say what the points are and fit whole, with or without colour."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_view_widgets import ViewApp, lines
from tui.components import AccuracyChart, LossChart

SIZE = (80, 24)
BESIDE_THE_FORM = 46  # a view's width at 80x24 with the configuration pane shown
STEPS = np.arange(1, 1001)
LOSSES = 2.0 * np.exp(-STEPS / 300) + 0.2
EVAL_STEPS = [250, 500, 750, 1000]
TRAIN_LOSSES = [0.9, 0.5, 0.3, 0.21]
TEST_LOSSES = [1.0, 0.7, 0.65, 0.6432]  # overfitting: a gap that grows


def braille(text: str) -> bool:
    return any("\u2800" <= ch <= "\u28ff" for ch in text)


@pytest.mark.parametrize("width", [BESIDE_THE_FORM, 80])
async def test_loss_chart_shows_train_and_test_loss_per_evaluation_with_labelled_axes(width):
    chart = LossChart()
    async with ViewApp(chart).run_test(size=SIZE) as pilot:
        chart.styles.width = width
        chart.set_data(STEPS, LOSSES, EVAL_STEPS, test_losses=TEST_LOSSES, train_losses=TRAIN_LOSSES)
        await pilot.pause()
        rows = [strip.text for strip in lines(chart)]
        legend = " ".join(rows[:2])
        # what each point is, and every series whole with its last value
        assert "per step: ⣿ batch" in legend and "⣿ smoothed (0.95) " in legend
        assert "per evaluation: ⣿ train 0.21" in legend and "⣿ test 0.6432" in legend
        assert all(len(row) <= width for row in rows)
        # the axes: steps along the bottom, loss up the side
        assert rows[-1].split() == ["loss", "steps"]
        assert any("1000" in row or "1k" in row for row in rows[-3:])


async def test_loss_chart_draws_evaluations_at_their_value():
    chart = LossChart()
    drawn = []
    async with ViewApp(chart).run_test(size=SIZE) as pilot:
        original = chart.plt._draw  # what plot and scatter call

        def record(*args, **kwargs):
            drawn.append((args[1], kwargs["marker"]))
            return original(*args, **kwargs)
        chart.plt._draw = record
        chart.set_data(STEPS, LOSSES, EVAL_STEPS, test_losses=TEST_LOSSES, train_losses=TRAIN_LOSSES)
        await pilot.pause()
        plot = "\n".join(strip.text for strip in lines(chart)[2:-2])
        # a marker of a quarter of a row (braille), never a whole character cell such as "x"
        evaluated = [marker for ys, marker in drawn if ys in (TRAIN_LOSSES, TEST_LOSSES)]
        assert evaluated == ["braille", "braille"]
        assert "x" not in plot and braille(plot)


async def test_loss_chart_without_colour_tells_train_from_test():
    chart = LossChart()
    app = ViewApp(chart, no_color=True)
    async with app.run_test(size=SIZE) as pilot:
        chart.styles.width = BESIDE_THE_FORM
        chart.set_data(STEPS, LOSSES, EVAL_STEPS, test_losses=TEST_LOSSES, train_losses=TRAIN_LOSSES)
        await pilot.pause()
        rendered = lines(chart)
        legend = " ".join(strip.text for strip in rendered[:2])
        # the raw batch losses are left out (the smoothed curve stands for them), so that the three
        # curves left have a marker each: braille per step, half blocks (test reversed) per evaluation
        assert "batch" not in legend and "⣿ smoothed" in legend
        assert "▀ train 0.21" in legend and "▀ test 0.6432" in legend
        reversed_text = "".join(seg.text for strip in rendered for seg in strip if seg.style and seg.style.reverse)
        plain_blocks = "".join(seg.text for strip in rendered[2:] for seg in strip
                               if not (seg.style and seg.style.reverse))
        assert reversed_text.startswith("▀")  # the legend's test marker, then the test curve
        assert set(reversed_text[1:]) - {" "} <= set("▀▄▌▐▖▗▘▝▚▞▛▜▙▟█") and len(reversed_text.strip()) > 3
        assert any(ch in plain_blocks for ch in "▀▄▖▗▘▝")  # the train curve, not reversed


async def test_accuracy_chart_says_its_points_are_evaluations_and_labels_its_axes():
    chart = AccuracyChart()
    async with ViewApp(chart).run_test(size=SIZE) as pilot:
        chart.styles.width = BESIDE_THE_FORM
        chart.set_data([100, 200, 300], [0.8, 0.9, 0.95], [0.78, 0.85, 0.925])
        await pilot.pause()
        rows = [strip.text for strip in lines(chart)]
        assert rows[0].startswith("per evaluation: ") and "train 95.00%" in rows[0] and "test 92.50%" in rows[0]
        assert rows[-1].split() == ["accuracy", "%", "steps"]
        assert all(len(row) <= BESIDE_THE_FORM for row in rows)
        plot = "\n".join(rows[1:-2])
        assert braille(plot)  # drawn at their values, a quarter of a row at a time
