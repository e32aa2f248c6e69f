"""The decision-regions view of a 2-D problem: the class the network predicts over the plane,
coloured per class and lighter or stronger with the network's confidence, and the training and
test points on top.

A line-API widget. The regions are drawn two pixels per cell with half blocks; each point takes
a whole cell: "●" for a training point, "○" for a test point, in its true class's colour (so a
point in a region of another colour is misclassified). With NO_COLOR (or `glyphs = True`) the
regions become fill characters per class and the points letters per class: a training point in
lower case ("o"), a test point in upper case and reversed ("O"). The legend above says which is
which, on two lines when one is too narrow.
"""

from __future__ import annotations

import textwrap
from typing import Callable, Hashable

import numpy as np
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from core.datasets import DATASETS
from core.training import build_network
from tui.components.pacing import Paced, Run
from tui.components.weights_view import halfblock_segments
from tui.drawing.regions import class_and_confidence, data_extent, decision_grid, point_glyph_grid

#: Categorical class colours (Tableau 10).
CLASS_COLORS = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
#: Confidence levels of the region colours.
CONFIDENCE_LEVELS = 6
#: How far a region's colour moves from a neutral grey towards its class colour, at the lowest and
#: the highest confidence. The grey sits between the background and the text colour; starting
#: from it rather than from a near-black background keeps the hues when 256 colours round them.
REGION_MIX = (0.12, 0.5)
NEUTRAL_MIX = 0.3
TRAIN_GLYPH, TEST_GLYPH = "●", "○"
#: Without colour: the fill of each class's region, and each class's training and test point.
REGION_GLYPHS = (" ", ".", ":", "-", "'", "~", ",", "`", "^", ";")
TRAIN_POINT_GLYPHS = ("o", "x", "v", "s", "z", "n", "u", "w", "y", "k")
TEST_POINT_GLYPHS = tuple(glyph.upper() for glyph in TRAIN_POINT_GLYPHS)
#: Between the groups of the legend.
LEGEND_GAP = "  "
#: What the view says while it has nothing to draw: a dataset that is not 2-D, or no network yet.
EMPTY_MESSAGE = ("Decision regions: drawn for the 2-D problems ("
                 + ", ".join(name for name, info in DATASETS.items() if info.kind == "2d")
                 + "; choose one as the dataset), once a network exists.")


def _mix(a: tuple[float, ...], b: tuple[float, ...], f: float) -> tuple[int, int, int]:
    return tuple(int(round(x + (y - x) * f)) for x, y in zip(a, b))  # type: ignore[return-value]


class DecisionView(Paced, Widget):
    """Class regions of a classifier on the plane, with the data points on top.

    `set_data(predictor, x_train, t_train, x_test=None, t_test=None, class_names=None,
    x_range=None, y_range=None)`: `predictor` is either a function from (n, 2) points to (n, k)
    class probabilities (evaluated here, at the widget's resolution, only when the data or the
    size change) or a probability grid (rows, cols, k) whose row 0 is the top of the plane.
    The plane's extent is taken from the points (padded 5%) unless given.

    The predictor runs in the UI thread: never hand it the training network's own `predict`
    while a worker trains it (core's layers keep forward buffers that backprop reads); give it a
    network built from a snapshot's copy of the weights, or a grid computed elsewhere.
    """

    DEFAULT_CSS = """
    DecisionView {
        width: 1fr;
        height: 1fr;
        min-height: 4;
    }
    """

    glyphs: reactive[bool | None] = reactive(None)
    """Draw with characters instead of colours; None follows the app's NO_COLOR."""

    #: Seconds between redraws while training, at least (each costs a forward pass over a grid).
    INTERVAL = 0.5

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._network: tuple = (None, None)  # (session, this view's own network for its weights)
        self.predictor: Callable[[np.ndarray], np.ndarray] | np.ndarray | None = None
        self.points: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.class_names: tuple[str, ...] = ()
        self.x_range = (-1.0, 1.0)
        self.y_range = (-1.0, 1.0)
        self.version = 0
        self.evaluations = 0  # times the predictor was evaluated, for tests
        self._grid_key: Hashable = None
        self._grid: np.ndarray | None = None
        self._lines_key: Hashable = None
        self._lines: list[Strip] = []
        self._styles: dict[Hashable, Style] = {}
        self._styles_base: tuple | None = None

    def set_data(self, predictor, x_train: np.ndarray, t_train: np.ndarray, x_test: np.ndarray | None = None,
                 t_test: np.ndarray | None = None, class_names: tuple[str, ...] | None = None,
                 x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None) -> None:
        """New predictions and points (a new predictor is evaluated on the next paint)."""
        self.predictor = predictor if callable(predictor) else np.asarray(predictor, dtype=np.float64)
        self.points = [np.asarray(x_train, dtype=np.float64).reshape(-1, 2),
                       np.asarray(x_test if x_test is not None else np.empty((0, 2)), dtype=np.float64).reshape(-1, 2)]
        self.labels = [np.asarray(t_train).reshape(-1).astype(np.int64),
                       np.asarray(t_test if t_test is not None else np.empty(0)).reshape(-1).astype(np.int64)]
        labels = np.concatenate(self.labels)
        n = int(labels.max()) + 1 if labels.size else 2
        if not callable(self.predictor) and self.predictor.ndim == 3:
            n = max(n, self.predictor.shape[2])
        self.class_names = tuple(class_names) if class_names else tuple(str(i) for i in range(n))
        ex, ey = data_extent(*self.points)
        self.x_range = tuple(x_range) if x_range is not None else ex
        self.y_range = tuple(y_range) if y_range is not None else ey
        self.version += 1
        self.refresh()

    def show(self, snap, run: Run, force: bool = False) -> None:
        """The regions of the session's network at this step (at most once per INTERVAL while
        training), evaluated by a network of this view's own: the training thread's must not run
        here. Only for 2-D problems: the view says so for the others."""
        session, dataset = run.session, run.dataset
        if dataset.n_features != 2:
            return
        interval = self.INTERVAL if snap.state == "training" else 0.0
        if not self.due((id(session), snap.step), force, interval):
            return
        if self._network[0] is not session:
            self._network = (session, build_network(session.config, dataset))
        net = self._network[1]
        net.set_params(session.snapshot(weights=True).weights)
        self.set_data(net.predict, dataset.x_train, dataset.t_train, dataset.x_test, dataset.t_test,
                      class_names=dataset.class_names)

    def clear(self) -> None:
        """Empty, for a fresh network: the next show draws."""
        self.restart()
        self._network = (None, None)
        self.predictor = None
        self.points, self.labels, self.class_names = [], [], ()
        self.version += 1
        self.refresh()

    @property
    def use_glyphs(self) -> bool:
        return bool(self.app.no_color) if self.glyphs is None else self.glyphs

    def watch_glyphs(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.refresh()

    @property
    def n_classes(self) -> int:
        return max(len(self.class_names), 1)

    def probability_grid(self, cols: int, rows: int) -> np.ndarray | None:
        """Probabilities (rows, cols, k) at pixel resolution (rows = 2 per cell row)."""
        key = (self.version, cols, rows)
        if key == self._grid_key:
            return self._grid
        if self.predictor is None or cols < 1 or rows < 1:
            return None
        if callable(self.predictor):
            grid = decision_grid(self.predictor, self.x_range, self.y_range, cols, rows)
            self.evaluations += 1
        else:
            g = self.predictor
            if g.ndim == 2:  # probabilities of class 1
                g = np.stack([1 - g, g], axis=-1)
            ri = (np.arange(rows) * g.shape[0] // rows).clip(0, g.shape[0] - 1)
            ci = (np.arange(cols) * g.shape[1] // cols).clip(0, g.shape[1] - 1)
            grid = g[ri][:, ci]
        self._grid_key, self._grid = key, grid
        return grid

    # -- painting -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        lines = self._all_lines()
        if y < len(lines):
            return lines[y]
        return Strip.blank(self.size.width, self.rich_style)

    def _all_lines(self) -> list[Strip]:
        width, height = self.size
        base = self.rich_style
        key = (width, height, self.version, self.use_glyphs, base)
        if key == self._lines_key:
            return self._lines
        self._lines_key = key
        if self.predictor is None or width <= 0 or height <= 0:
            self._lines = [Strip([Segment(line, base + Style(dim=True))]).adjust_cell_length(width, base)
                           for line in textwrap.wrap(EMPTY_MESSAGE, max(width, 1))]
            return self._lines
        header = self._header(width, base)[:height]
        rows = height - len(header)
        if rows <= 0:
            self._lines = header
            return self._lines
        probs = self.probability_grid(width, 2 * rows)
        labels, conf = class_and_confidence(probs)
        kind, cls = point_glyph_grid(self.points, self.labels, self.x_range, self.y_range, width, rows, self.n_classes)
        if self.use_glyphs:
            body = self._glyph_lines(labels, kind, cls, base)
        else:
            body = self._color_lines(labels, conf, kind, cls, base)
        self._lines = header + [s.adjust_cell_length(width, base) for s in body]
        return self._lines

    def _palette(self, base: Style) -> None:
        """(Re)make the colours for this background: region colours per (class, level), point colours."""
        _, bg = self.background_colors
        if self._styles_base == (base, bg.rgb):
            return
        self._styles_base = (base, bg.rgb)
        self._styles.clear()
        light = bg.brightness > 0.5
        neutral = _mix(bg.rgb, (0, 0, 0) if light else (255, 255, 255), NEUTRAL_MIX)
        lo, hi = REGION_MIX
        self._region_rgb = {}
        for k in range(len(CLASS_COLORS)):
            for level in range(CONFIDENCE_LEVELS):
                f = lo + (hi - lo) * level / (CONFIDENCE_LEVELS - 1)
                self._region_rgb[k * CONFIDENCE_LEVELS + level] = RichColor.from_rgb(*_mix(neutral, CLASS_COLORS[k], f))
        # points: the class colour, pushed away from the background for contrast
        target = (0, 0, 0) if light else (255, 255, 255)
        self._point_rgb = [RichColor.from_rgb(*_mix(c, target, 0.4)) for c in CLASS_COLORS]
        self._bg_color = bg

    def _region_style(self, top: int, bottom: int) -> Style:
        # bounded: at most (10 classes x 6 levels)^2 pairs
        key = ("r", top, bottom)
        style = self._styles.get(key)
        if style is None:
            base = self._styles_base[0]
            if top == bottom:
                style = base + Style(bgcolor=self._region_rgb[top])
            else:
                style = base + Style(color=self._region_rgb[top], bgcolor=self._region_rgb[bottom])
            self._styles[key] = style
        return style

    def _point_style(self, kind: int, k: int, under: int) -> Style:
        key = ("p", kind, k, under)
        style = self._styles.get(key)
        if style is None:
            base = self._styles_base[0]
            style = base + Style(color=self._point_rgb[k % len(CLASS_COLORS)], bgcolor=self._region_rgb[under],
                                 bold=True)
            self._styles[key] = style
        return style

    def _color_lines(self, labels, conf, kind, cls, base: Style) -> list[Strip]:
        self._palette(base)
        level = np.minimum((conf * CONFIDENCE_LEVELS).astype(np.int64), CONFIDENCE_LEVELS - 1)
        codes = (labels % len(CLASS_COLORS)) * CONFIDENCE_LEVELS + level
        lines = []
        for r in range(kind.shape[0]):
            top, bottom = codes[2 * r], codes[2 * r + 1]
            row_kind = kind[r]
            if (row_kind < 0).all():
                lines.append(Strip(halfblock_segments(top, bottom, self._region_style, blank=-1)))
                continue
            segments: list[Segment] = []
            start = 0
            for c in np.flatnonzero(row_kind >= 0).tolist():
                if c > start:
                    segments.extend(halfblock_segments(top[start:c], bottom[start:c], self._region_style, blank=-1))
                glyph = TRAIN_GLYPH if row_kind[c] == 0 else TEST_GLYPH
                segments.append(Segment(glyph, self._point_style(int(row_kind[c]), int(cls[r, c]), int(top[c]))))
                start = c + 1
            if start < len(top):
                segments.extend(halfblock_segments(top[start:], bottom[start:], self._region_style, blank=-1))
            lines.append(Strip(segments))
        return lines

    def _glyph_lines(self, labels, kind, cls, base: Style) -> list[Strip]:
        reverse = base + Style(reverse=True)
        lines = []
        for r in range(kind.shape[0]):
            region = labels[2 * r]  # the top pixel's class stands for the cell
            segments: list[Segment] = []
            run: list[str] = []
            for c, (lab, kd, k) in enumerate(zip(region.tolist(), kind[r].tolist(), cls[r].tolist())):
                if kd < 0:
                    run.append(REGION_GLYPHS[lab % len(REGION_GLYPHS)])
                    continue
                if kd == 0:
                    run.append(TRAIN_POINT_GLYPHS[k % len(TRAIN_POINT_GLYPHS)])
                else:
                    if run:
                        segments.append(Segment("".join(run), base))
                        run = []
                    segments.append(Segment(TEST_POINT_GLYPHS[k % len(TEST_POINT_GLYPHS)], reverse))
            if run:
                segments.append(Segment("".join(run), base))
            lines.append(Strip(segments))
        return lines

    def _header(self, width: int, base: Style) -> list[Strip]:
        """The legend: each class's region (its colour, or its fill character), which points are the
        training and which the test points (without colour: each class's character for both), and
        the plane's extent when there is room. One line, or two when the view is too narrow for one."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        classes: list[list[Segment]] = []
        if self.use_glyphs:
            classes = [[Segment(f"{name} [{REGION_GLYPHS[k % len(REGION_GLYPHS)]}]", base)]
                       for k, name in enumerate(self.class_names)]
            ks = range(len(self.class_names))
            points = [Segment("train " + " ".join(TRAIN_POINT_GLYPHS[k % len(TRAIN_POINT_GLYPHS)] for k in ks)
                              + "  test", base)]
            for k in ks:
                points += [Segment(" ", base), Segment(TEST_POINT_GLYPHS[k % len(TEST_POINT_GLYPHS)],
                                                       base + Style(reverse=True))]
        else:
            self._palette(base)
            for k, name in enumerate(self.class_names):
                level = k * CONFIDENCE_LEVELS + CONFIDENCE_LEVELS - 1
                classes.append([Segment(" ", self._region_style(level, level)),
                                Segment(f" {name}", base + Style(color=self._point_rgb[k % len(CLASS_COLORS)]))])
            points = [Segment(f"{TRAIN_GLYPH} train  {TEST_GLYPH} test", base)]
        extent = [Segment(f"x {x0:.2g}..{x1:.2g} y {y0:.2g}..{y1:.2g}", base + Style(dim=True))]
        lines = [classes + [points]]
        if _groups_width(lines[0]) > width:
            lines = [classes, [points]]
        if _groups_width(lines[-1] + [extent]) <= width:  # the extent only when it fits whole
            lines[-1].append(extent)
        strips = []
        for groups in lines:
            segments: list[Segment] = []
            for i, group in enumerate(groups):
                segments += ([Segment(LEGEND_GAP, base)] if i else []) + group
            strips.append(Strip(segments).crop(0, width).adjust_cell_length(width, base))
        return strips


def _groups_width(groups: list[list[Segment]]) -> int:
    """Cells taken by the legend's groups on one line, with the gaps between them."""
    return sum(Segment.get_line_length(group) for group in groups) + len(LEGEND_GAP) * max(len(groups) - 1, 0)
