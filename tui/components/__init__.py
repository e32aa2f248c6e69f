"""ScratchNet's widgets.

Each run view shows a training snapshot with `show(snapshot, run)` and paces its own redraws
(pacing.Paced: what it last drew, at most once per its INTERVAL), clears itself for a fresh
network with `clear()`, and also takes plain data (arrays, dicts of arrays, core result records):

- charts.LossChart, charts.AccuracyChart: curves (plotext).
- weights_view.WeightsView: weight tiles and heatmaps.
- gradcheck_view.GradCheckView: the gradient-check table.
- decision_view.DecisionView: decision regions of 2-D problems.
"""

from tui.components.charts import AccuracyChart, LossChart
from tui.components.decision_view import DecisionView
from tui.components.gradcheck_view import GradCheckView
from tui.components.weights_view import WeightsView

__all__ = ["AccuracyChart", "DecisionView", "GradCheckView", "LossChart", "WeightsView"]
