"""Loss and accuracy curves, drawn with plotext through textual-plotext.

Both charts take plain arrays (`set_data`) or a training snapshot (`show`, at most once per
INTERVAL while data keeps coming: see tui/components/pacing.py), rebuild the plot only when the data,
the size, the theme or a display option changed, and downsample every series to about twice
the plot's width before handing it to plotext (a redraw costs in proportion to the points).

Each chart draws its own legend above the plot, one line when the pane is wide enough and one
line per kind of point otherwise: what is measured per step and what at each evaluation, each
series coloured like its curve and named with its marker, so the series stay apart with NO_COLOR
too (the test curve is then drawn reversed). Every curve is drawn at its true value, with braille
dots (a quarter of a row) or half blocks (half a row). The axes are labelled: steps, and loss or
accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from plotext import _utility as plotext_utility
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.binding import Binding
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual_plotext import PlotextPlot

from tui.components.pacing import Paced, Run
from tui.drawing.curves import DebiasedEMA, downsample, finite_xy, log_ticks, nice_ticks, tick_label

RAW_COLOR = (125, 135, 170)
SMOOTH_COLOR = (255, 170, 40)
TRAIN_COLOR = (90, 170, 255)
TEST_COLOR = (240, 80, 120)
BRAILLE, HALF_BLOCK = "⣿", "▀"
#: Gap between the groups of a legend line.
LEGEND_GAP = "  "


def _fg(rgb: tuple[int, int, int], bold: bool = False) -> Style:
    return Style(color=Color.from_rgb(*rgb), bold=bold)


def _key(marker: str, label: str, color: tuple[int, int, int], value: float | None = None) -> Text:
    """One legend entry of a per-step series: its marker, its name and its last value."""
    entry = Text(f"{marker} {label}", style=_fg(color))
    if value is not None:
        entry.append(f" {value:.4g}", style=_fg(color, bold=True))
    return entry


def _last(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None


def legend_lines(rows: list[list[Text]], width: int, hint: Text | None = None) -> list[Text]:
    """A legend's rows of entries as lines of at most `width` cells: all the rows on one line when
    they fit, else each on its own (an entry that does not fit moves to the next line, whole). The
    hint (a key to press) ends the last line when it fits there, and is left out otherwise."""
    rows = [row for row in rows if row]
    lines: list[list[Text]] = []
    flat = [entry for row in rows for entry in row]
    for row in [flat] if _width(flat) <= width else rows:
        lines.append([])
        for entry in row:
            if lines[-1] and _width(lines[-1] + [entry]) > width:
                lines.append([])
            lines[-1].append(entry)
    if not lines:
        lines = [[]]
    if hint is not None and _width(lines[-1] + [hint]) <= width:
        lines[-1].append(hint)
    out = []
    for entries in lines:
        line = Text(LEGEND_GAP).join(entries)
        line.truncate(width)
        out.append(line)
    return out


def _headed(heading: str, entries: list[Text]) -> list[Text]:
    """A legend row: the heading (what the points are) joined to its first entry, so they stay together."""
    if not entries:
        return []
    return [Text.assemble((heading, "bold"), " ", entries[0])] + entries[1:]


def _width(entries: list[Text]) -> int:
    return sum(entry.cell_len for entry in entries) + len(LEGEND_GAP) * max(len(entries) - 1, 0)


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _array(values) -> np.ndarray:
    if values is None:
        return np.empty(0, dtype=np.float64)
    return np.array(values, dtype=np.float64).reshape(-1)


def plot_rows(plt) -> list[list[Segment]]:
    """The plot as Rich segments, one list per row: what `Text.from_ansi(plt.build())` shows, read from
    plotext's character and colour matrices instead of writing escape codes and parsing them back.
    It uses the figure's build steps and matrices, plotext 5's internals (the dependency is pinned
    below 6)."""
    plt._set_sizes()
    plt._build_matrix()
    matrix = plt.monitor.matrix
    rows = []
    for row in range(matrix.rows - 1, -1, -1):  # plotext's row 0 is the bottom one
        markers, fg, style, bg = matrix.marker[row], matrix.fullground[row], matrix.style[row], matrix.background[row]
        segments, start = [], 0
        for col in range(1, matrix.cols + 1):  # one segment per run of cells of the same colours
            if col == matrix.cols or fg[col] != fg[start] or style[col] != style[start] or bg[col] != bg[start]:
                segments.append(Segment("".join(markers[start:col]), _rich_style(fg[start], style[start], bg[start])))
                start = col
        rows.append(segments)
    return rows


_RICH_STYLES: dict[tuple, Style] = {}


def _rich_style(fg, style, bg) -> Style:
    """The Rich style of a plotext cell's colours, decoded once from the escape codes plotext would write."""
    key = tuple(tuple(v) if isinstance(v, list) else v for v in (fg, style, bg))
    found = _RICH_STYLES.get(key)
    if found is None:
        decoded = Text.from_ansi(plotext_utility.colors_to_ansi(fg, style, bg) + "x")
        found = _RICH_STYLES[key] = decoded.spans[0].style if decoded.spans else Style.null()
    return found


class RunChart(Paced, PlotextPlot):
    """Shared machinery: a cached plot rebuilt only when its inputs change."""

    #: Seconds between redraws while data keeps coming: a redraw holds the interpreter lock for
    #: about 20 ms, which the training thread waits out (the app costs training about the UI thread's
    #: CPU share: benchmarks/bench_app.py); the status line still updates every poll.
    INTERVAL = 1.0

    DEFAULT_CSS = """
    RunChart {
        width: 1fr;
        height: 1fr;
        min-height: 5;
    }
    RunChart:focus {
        background-tint: $foreground 4%;
    }
    """

    can_focus = True

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.data_version = 0  # bumped whenever set_data brings new data
        self.builds = 0  # plot rebuilds, for tests and curiosity
        self._built_key: tuple | None = None
        self._built: list[Strip] = []

    # subclasses: _has_data(), _legend(width), _plot_series(plot_width, plot_height)
    def _has_data(self) -> bool:
        raise NotImplementedError

    def _empty_message(self) -> str:
        raise NotImplementedError

    def _legend(self, width: int) -> list[Text]:
        raise NotImplementedError

    def _plot_series(self, width: int, height: int) -> None:
        raise NotImplementedError

    def _options(self) -> tuple:
        return (self.app.no_color,)

    def _changed(self) -> None:
        self.data_version += 1
        self.refresh()

    def render(self) -> RenderResult:
        """What shows before there is data (the plot itself is drawn line by line: see render_line)."""
        return Text(self._empty_message(), style="dim", overflow="fold")

    def render_lines(self, crop: Region) -> list[Strip]:
        """Once per redraw: the strips brought up to date, rebuilt only when an input changed. They
        are made once per build, straight from plotext's matrices: laying the plot out as Text on
        every redraw cost as much again as building it."""
        if self._has_data():
            width, height = self.size
            theme = self._get_plotext_theme_name(self.app.theme)
            base = self.rich_style  # the widget's own colours, under the plot's
            key = (width, height, theme, base, self.data_version, self._options())
            if key != self._built_key:
                self._built = [strip.apply_style(base) for strip in self._build(width, height, theme)]
                self._built_key = key
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Row y of the legend and plot (Textual's line API), from the strips render_lines made."""
        if not self._has_data():
            return super().render_line(y)  # the message from render()
        return self._built[y] if y < len(self._built) else Strip.blank(self.size.width, self.rich_style)

    def _build(self, width: int, height: int, theme: str) -> list[Strip]:
        self.builds += 1
        legend = self._legend(width)
        strips = [Strip(line.render(self.app.console)) for line in legend]
        plot_height = height - len(legend)
        if plot_height < 4 or width < 16:
            return strips
        plt = self.plt
        plt.clear_figure()
        plt.theme(theme)
        plt.plotsize(width, plot_height)
        plt._set_size(width, plot_height)
        self._plot_series(width, plot_height)
        return strips + [Strip(row, width) for row in plot_rows(plt)]


class LossChart(RunChart):
    """The loss: per step, the batch loss (raw and smoothed); per evaluation, the loss on the training
    set and on the test set, so that overfitting shows as a gap between the two.

    `set_data(steps, losses, eval_steps, test_losses, train_losses)`; `toggle_log()` or the `log_y`
    reactive switches the y axis between linear and log. The smoothed curve is a debiased
    exponential moving average (Adam-style bias correction) with factor `smoothing`. Without colour
    the raw batch losses are left out: the smoothed curve stands for them.
    """

    BINDINGS = [Binding("l", "toggle_log", "Log y")]

    log_y: reactive[bool] = reactive(False)

    def __init__(self, *, smoothing: float = 0.95, name: str | None = None, id: str | None = None,
                 classes: str | None = None, disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.smoothing = smoothing
        self.steps = np.empty(0)
        self.losses = np.empty(0)
        self.smoothed = np.empty(0)
        self.eval_steps = np.empty(0)
        self.test_losses = np.empty(0)
        self.train_losses = np.empty(0)
        self._ema = DebiasedEMA(smoothing)

    def set_data(self, steps, losses, eval_steps=None, test_losses=None, train_losses=None) -> bool:
        """New series (test_losses and train_losses at eval_steps); returns whether anything changed
        (and so whether the chart will redraw)."""
        steps, losses = _array(steps), _array(losses)
        n = min(len(steps), len(losses))
        steps, losses = steps[:n], losses[:n]
        eval_steps = _array(eval_steps)
        test_losses, train_losses = _array(test_losses)[: len(eval_steps)], _array(train_losses)[: len(eval_steps)]
        if (_same(steps, self.steps) and _same(losses, self.losses) and _same(eval_steps, self.eval_steps)
                and _same(test_losses, self.test_losses) and _same(train_losses, self.train_losses)):
            return False
        old = len(self.steps)
        if (self._ema.count == old and 0 < old <= n and np.array_equal(steps[:old], self.steps)
                and np.array_equal(losses[:old], self.losses, equal_nan=True)):
            # the history grew: smooth only the new tail
            self.smoothed = np.concatenate([self.smoothed, self._ema.extend(losses[old:], steps[old:])])
        else:
            self._ema = DebiasedEMA(self.smoothing)
            self.smoothed = self._ema.extend(losses, steps)
        self.steps, self.losses = steps, losses
        self.eval_steps, self.test_losses, self.train_losses = eval_steps, test_losses, train_losses
        self._changed()
        return True

    def show(self, snap, run: Run, force: bool = False) -> None:
        """The snapshot's losses, when they grew (at most once per INTERVAL unless forced)."""
        steps, evals = snap.loss_steps, snap.evaluations
        if self.due((id(run.session), len(steps), steps[-1] if len(steps) else -1, len(evals)), force):
            self.set_data(steps, snap.losses, [e.step for e in evals], test_losses=[e.test_loss for e in evals],
                          train_losses=[e.train_loss for e in evals])

    def clear(self) -> None:
        """Empty, for a fresh network: the next show draws."""
        self.restart()
        self.set_data([], [])

    def toggle_log(self) -> None:
        self.log_y = not self.log_y

    def action_toggle_log(self) -> None:
        self.toggle_log()

    def watch_log_y(self) -> None:
        self.refresh()

    def _options(self) -> tuple:
        return (self.log_y, self.app.no_color)

    def _has_data(self) -> bool:
        return bool(len(self.steps) or len(self.test_losses) or len(self.train_losses))

    def _empty_message(self) -> str:
        return "Loss: no training steps yet."

    def _legend(self, width: int) -> list[Text]:
        per_step: list[Text] = []
        if len(self.losses):
            if not self.app.no_color:
                per_step.append(_key(BRAILLE, "batch", RAW_COLOR))
            per_step.append(_key(BRAILLE, f"smoothed ({self.smoothing:g})", SMOOTH_COLOR, _last(self.smoothed)))
        per_eval = []
        for series in eval_series(self.app.no_color, self.train_losses, self.test_losses):
            last = _last(series.values)
            per_eval.append(series.key("" if last is None else f"{last:.4g}"))
        hint = Text("l: linear y" if self.log_y else "l: log y", style="dim")
        return legend_lines([_headed("per step:", per_step), _headed("per evaluation:", per_eval)], width, hint)

    def _plot_series(self, width: int, height: int) -> None:
        plt = self.plt
        positive = self.log_y
        max_points = 2 * width
        raw = finite_xy(self.steps, self.losses, positive)
        smooth = finite_xy(self.steps, self.smoothed, positive)
        evaluated = [(finite_xy(self.eval_steps, series.values, positive), series)
                     for series in eval_series(self.app.no_color, self.train_losses, self.test_losses)]
        if positive:
            plt.yscale("log")
        all_xy = [raw, smooth] + [xy for xy, _ in evaluated]
        xs = [x for x, _ in all_xy if x.size]
        ys = [y for _, y in all_xy if y.size]
        if not xs:
            return
        x_lo, x_hi = min(a.min() for a in xs), max(a.max() for a in xs)
        y_lo, y_hi = min(a.min() for a in ys), max(a.max() for a in ys)
        if raw[0].size and not self.app.no_color:
            x, y = downsample(*raw, max_points, "minmax")
            plt.scatter(x.tolist(), y.tolist(), marker="braille", color=RAW_COLOR)  # lines cost far more
        if smooth[0].size:
            x, y = downsample(*smooth, max_points, "mean")
            plt.plot(x.tolist(), y.tolist(), marker="braille", color=SMOOTH_COLOR)
        for (x, y), series in evaluated:
            if x.size:
                series.draw(plt, *downsample(x, y, max_points, "minmax"))
        _set_x_axis(plt, x_lo, x_hi, width)
        plt.ylabel("loss (log)" if positive else "loss")  # the axis says its scale, whatever the width
        if positive:
            if y_hi <= y_lo:
                y_lo, y_hi = y_lo / 2, y_hi * 2
            plt.ylim(math.log10(y_lo), math.log10(y_hi))  # plotext takes log limits (its ticks it logs itself)
            ticks = log_ticks(y_lo, y_hi)
        else:
            if y_hi <= y_lo:
                y_lo, y_hi = y_lo - 1, y_hi + 1
            plt.ylim(y_lo, y_hi)
            ticks = nice_ticks(y_lo, y_hi, max(2, height // 3))
        if ticks:
            plt.yticks(ticks, [tick_label(t) for t in ticks])


@dataclass(frozen=True)
class EvalSeries:
    """How one series of evaluations is drawn and named."""

    label: str
    values: np.ndarray
    color: tuple[int, int, int]
    marker: str  # plotext's: braille (a quarter of a row) or hd (half blocks, half a row)
    reverse: bool = False

    @property
    def symbol(self) -> str:
        return BRAILLE if self.marker == "braille" else HALF_BLOCK

    def key(self, value_text: str = "") -> Text:
        """The legend entry: the marker (reversed like the curve), the name and the last value."""
        entry = Text.assemble((self.symbol, _fg(self.color) + Style(reverse=self.reverse)),
                              (f" {self.label}", _fg(self.color)))
        if value_text:
            entry.append(f" {value_text}", style=_fg(self.color, bold=True))
        return entry

    def draw(self, plt, x: np.ndarray, y: np.ndarray) -> None:
        """The points at their values: a line through them, or the point alone while there is one.
        (Through the figure's _draw: plotext 5's plot() drops its style argument.)"""
        plt._draw(x.tolist(), y.tolist(), lines=len(x) > 1, marker=self.marker, color=self.color,
                  style="inverted" if self.reverse else None)


def eval_series(no_color: bool, train: np.ndarray, test: np.ndarray) -> list[EvalSeries]:
    """The evaluations' train and test series that have values. Thin braille lines in colour; without
    colour, half blocks for train and reversed half blocks for test, to tell them apart."""
    series = [EvalSeries("train", train, TRAIN_COLOR, "hd" if no_color else "braille"),
              EvalSeries("test", test, TEST_COLOR, "hd" if no_color else "braille", reverse=no_color)]
    return [entry for entry in series if len(entry.values)]


def _set_x_axis(plt, lo: float, hi: float, width: int, label: str = "steps") -> None:
    plt.xlabel(label)
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    plt.xlim(lo, hi)
    ticks = nice_ticks(lo, hi, max(2, width // 14))
    if ticks:
        plt.xticks(ticks, [tick_label(t) for t in ticks])


class AccuracyChart(RunChart):
    """Train and test accuracy at each evaluation, in percent (half blocks, each point at its value).

    `set_data(x, train_acc, test_acc, x_label="step")`: x are the evaluations' steps (or epochs,
    then pass x_label="epoch"); accuracies are fractions in [0, 1]; either may be None.
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.x = np.empty(0)
        self.train_acc = np.empty(0)
        self.test_acc = np.empty(0)
        self.x_label = "step"

    def set_data(self, x, train_acc=None, test_acc=None, x_label: str = "step") -> bool:
        """New series; returns whether anything changed (and so whether the chart will redraw)."""
        x = _array(x)
        train_acc = _array(train_acc)[: len(x)]
        test_acc = _array(test_acc)[: len(x)]
        if (_same(x, self.x) and _same(train_acc, self.train_acc) and _same(test_acc, self.test_acc)
                and x_label == self.x_label):
            return False
        self.x, self.train_acc, self.test_acc, self.x_label = x, train_acc, test_acc, x_label
        self._changed()
        return True

    def show(self, snap, run: Run, force: bool = False) -> None:
        """The snapshot's evaluations, when there are new ones (at most once per INTERVAL unless forced)."""
        evals = snap.evaluations
        if self.due((id(run.session), len(evals)), force):
            self.set_data([e.step for e in evals], [e.train_accuracy for e in evals],
                          [e.test_accuracy for e in evals])

    def clear(self) -> None:
        """Empty, for a fresh network: the next show draws."""
        self.restart()
        self.set_data([])

    def _has_data(self) -> bool:
        return bool(len(self.x)) and bool(len(self.train_acc) or len(self.test_acc))

    def _empty_message(self) -> str:
        return "Accuracy: no evaluations yet (the first comes after an epoch or an evaluation interval)."

    def _legend(self, width: int) -> list[Text]:
        entries = []
        for series in eval_series(self.app.no_color, self.train_acc, self.test_acc):
            last = _last(series.values)
            entries.append(series.key("" if last is None else f"{100 * last:.2f}%"))
        return legend_lines([_headed("per evaluation:", entries)], width)

    def _plot_series(self, width: int, height: int) -> None:
        plt = self.plt
        max_points = 2 * width
        x_lo, x_hi = float(np.nanmin(self.x)), float(np.nanmax(self.x))
        for series in eval_series(self.app.no_color, self.train_acc, self.test_acc):
            x, y = finite_xy(self.x[: len(series.values)], 100.0 * series.values)
            if x.size:
                series.draw(plt, *downsample(x, y, max_points, "minmax"))
        _set_x_axis(plt, x_lo, x_hi, width, f"{self.x_label}s")
        plt.ylabel("accuracy %")
        y_lo = accuracy_floor(np.concatenate([self.train_acc, self.test_acc]))
        plt.ylim(y_lo, 100)
        ticks = nice_ticks(y_lo, 100, max(2, height // 3))
        plt.yticks(ticks, [tick_label(t) for t in ticks])


def accuracy_floor(fractions: np.ndarray) -> float:
    """The bottom of the accuracy axis in percent: a round number (a multiple of 10) at least
    a point below the lowest accuracy, so that the last few points of progress stay visible."""
    finite = fractions[np.isfinite(fractions)]
    if not finite.size:
        return 0.0
    return float(max(0.0, 10.0 * math.floor((100.0 * finite.min() - 1.0) / 10.0)))
