"""Pure functions that turn a run's arrays into pictures: no Textual, no Rich, only NumPy.

The widgets in tui/components draw what these functions compute, so everything about the
pictures that can be wrong (downsampling, smoothing, colour scales, tile layout, decision
regions) is tested here without a terminal.

- Curves: `downsample` a series to about twice the plot's width before plotting (the cost of a
  plotext redraw grows with the points), `DebiasedEMA` / `ema_debiased` to smooth a noisy loss,
  `nice_ticks` for round axis labels.
- Weights: `quantize` values to a small diverging palette (`diverging_colors`) centred on zero,
  so that a widget can draw with a fixed table of prebuilt styles; `unit_images` turns W1 into
  one small image per hidden unit; `plan_pages` lays tiles and matrix heatmaps out in pages.
- Decision regions: `decision_grid` evaluates a classifier over a grid of the plane;
  `data_extent` finds the plane's extent from the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------


def finite_xy(x: np.ndarray, y: np.ndarray, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (x, y) with a finite y (and y > 0 when `positive`, for a log axis)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    keep = np.isfinite(y) & np.isfinite(x)
    if positive:
        keep &= y > 0
    if keep.all():
        return x, y
    return x[keep], y[keep]


def downsample(x: np.ndarray, y: np.ndarray, max_points: int, method: str = "minmax") -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points of the series (x, y) that keep its shape.

    The series is cut into max_points // 2 buckets of consecutive points (max_points buckets for
    "mean"). "minmax" keeps each bucket's lowest and highest point, in their original order, so
    spikes and the envelope of a noisy curve survive; "mean" keeps each bucket's mean x and mean y.
    A series that already fits comes back unchanged (as float64 arrays). x is assumed sorted.
    """
    if method not in ("minmax", "mean"):
        raise ValueError(f"unknown downsampling method {method!r}; choose minmax or mean")
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} and {len(y)}")
    max_points = int(max_points)
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    n = len(y)
    if n <= max_points:
        return x, y
    buckets = max_points // 2 if method == "minmax" else max_points
    edges = np.linspace(0, n, buckets + 1).round().astype(np.int64)
    starts = edges[:-1]
    if method == "mean":
        counts = np.diff(edges)
        return np.add.reduceat(x, starts) / counts, np.add.reduceat(y, starts) / counts
    picks = np.empty(2 * buckets, dtype=np.int64)
    for b in range(buckets):
        lo, hi = edges[b], edges[b + 1]
        chunk = y[lo:hi]
        i_min = lo + int(np.argmin(chunk))
        i_max = lo + int(np.argmax(chunk))
        picks[2 * b], picks[2 * b + 1] = (i_min, i_max) if i_min <= i_max else (i_max, i_min)
    return x[picks], y[picks]


class DebiasedEMA:
    """An exponential moving average with Adam's bias correction, fed a series piece by piece.

    With one value per step: s_t = beta s_{t-1} + (1 - beta) x_t, s_0 = 0, and the smoothed value
    shown is s_t / (1 - beta^t), so the first values are not dragged towards zero. When the
    series skips steps (a decimated history), a value `gap` steps after the previous one decays
    the state by beta^gap: s = beta^gap s + (1 - beta^gap) x, and the correction divides by the
    total weight w = beta^gap w + (1 - beta^gap), which is 1 - beta^t when no step is skipped.
    Non-finite values (a diverged run) are skipped: their smoothed value is NaN.
    """

    def __init__(self, beta: float = 0.9) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = float(beta)
        self.reset()

    def reset(self) -> None:
        self.s = 0.0  # the biased average
        self.w = 0.0  # the total weight, 1 - beta^t without skipped steps
        self.last_step: float | None = None
        self.count = 0  # values consumed

    def extend(self, values: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
        """The smoothed values for `values` (continuing from what came before)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if steps is None:
            start = 0.0 if self.last_step is None else self.last_step
            step_list = (start + np.arange(1, len(values) + 1)).tolist()
        else:
            step_list = np.asarray(steps, dtype=np.float64).reshape(-1).tolist()
            if len(step_list) != len(values):
                raise ValueError(f"steps and values differ in length: {len(step_list)} and {len(values)}")
        out = np.empty(len(values))
        beta, s, w, last = self.beta, self.s, self.w, self.last_step
        for i, (x, step) in enumerate(zip(values.tolist(), step_list)):
            if not math.isfinite(x):
                out[i] = math.nan
                continue
            gap = 1.0 if last is None else max(step - last, 1.0)
            decay = beta if gap == 1.0 else beta**gap
            s = decay * s + (1.0 - decay) * x
            w = decay * w + (1.0 - decay)
            last = step
            out[i] = s / w if w > 0 else x
        self.s, self.w, self.last_step = s, w, last
        self.count += len(values)
        return out


def ema_debiased(values: np.ndarray, beta: float = 0.9, steps: np.ndarray | None = None) -> np.ndarray:
    """The debiased exponential moving average of `values` (see DebiasedEMA)."""
    return DebiasedEMA(beta).extend(values, steps)


def nice_step(span: float, target: int) -> float:
    """A round step (1, 2 or 5 times a power of ten) that cuts `span` into about `target` parts."""
    if not (span > 0 and math.isfinite(span)):
        return 1.0
    raw = span / max(target, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick positions within [lo, hi], about `target` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        return [lo]
    step = nice_step(hi - lo, target)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    k = 0
    while True:
        t = first + k * step
        if t > hi + 1e-9 * step:
            break
        ticks.append(0.0 if abs(t) < 1e-12 * step else t)
        k += 1
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Round tick positions (1, 2, 5 times powers of ten, fewer for wide ranges) within [lo, hi] > 0."""
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    decades = math.log10(hi) - math.log10(lo)
    mantissas = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    ticks = []
    for exponent in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in mantissas:
            t = m * 10.0**exponent
            if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9):
                ticks.append(t)
    if len(ticks) < 2:  # a narrow range between two round values: fall back to linear ticks
        ticks = [t for t in nice_ticks(lo, hi, 3) if t > 0]
    return ticks


def tick_label(value: float) -> str:
    """A short label: 0, 250, 1.5k, 12k, 1.2M, 0.05, 1e-05."""
    if value == 0:
        return "0"
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:g}M"
    if a >= 1e4:
        return f"{value / 1e3:g}k"
    if a >= 1e-3:
        return f"{value:.4g}"
    return f"{value:.0e}"


# --------------------------------------------------------------------------------------------
# Diverging palette and quantisation (weights)
# --------------------------------------------------------------------------------------------

#: ColorBrewer's RdBu, from strongly negative (blue) through white (zero) to strongly positive (red).
DIVERGING_ANCHORS = np.array(
    [
        (33, 102, 172),
        (67, 147, 195),
        (146, 197, 222),
        (247, 247, 247),
        (244, 165, 130),
        (214, 96, 77),
        (178, 24, 43),
    ],
    dtype=np.float64,
)

#: The default number of colour levels: 10 each side of zero and zero itself.
PALETTE_LEVELS = 21

#: Glyphs for drawing without colour, from most negative to most positive (7 levels). Negative
#: values only have horizontal strokes, positive ones vertical strokes too; density is magnitude.
GLYPH_RAMP = ("=", "-", ".", " ", "'", "+", "#")


def diverging_colors(levels: int = PALETTE_LEVELS) -> np.ndarray:
    """`levels` RGB colours (uint8, shape (levels, 3)) from blue through white to red.

    `levels` is odd so that zero has a level of its own, the middle one (white); level i and
    level levels-1-i are the same distance from white on either side.
    """
    if levels < 3 or levels % 2 == 0:
        raise ValueError(f"levels must be an odd number >= 3, got {levels}")
    t = np.linspace(0.0, 1.0, levels) * (len(DIVERGING_ANCHORS) - 1)
    i = np.minimum(t.astype(int), len(DIVERGING_ANCHORS) - 2)
    f = (t - i)[:, None]
    rgb = DIVERGING_ANCHORS[i] * (1 - f) + DIVERGING_ANCHORS[i + 1] * f
    return np.rint(rgb).astype(np.uint8)


#: The colour scale of a layer covers this percentile of its |weights|; the few beyond clip to the
#: palette's ends. The largest |w| alone would let one outlier wash every tile out to white.
SCALE_PERCENTILE = 99.0


def symmetric_scale(values: np.ndarray, percentile: float = SCALE_PERCENTILE) -> float:
    """The half-width of a colour scale centred on zero: the `percentile` of |value| over the
    finite values (100 gives the largest |value|); 1.0 when they are all zero or there are none."""
    values = np.asarray(values)
    if values.size == 0:
        return 1.0
    finite = np.abs(values[np.isfinite(values)])
    scale = float(np.percentile(finite, percentile)) if finite.size else 0.0
    if not scale > 0 and finite.size:
        scale = float(finite.max())
    return scale if scale > 0 else 1.0


def quantize(values: np.ndarray, scale: float, levels: int = PALETTE_LEVELS) -> np.ndarray:
    """Palette indices (int16 in 0..levels-1) for `values` on the scale [-scale, +scale].

    0 maps to the middle level; values beyond the scale clip to the ends; quantize(-v) is
    levels - 1 - quantize(v) (the scale is symmetric); NaN maps to the middle level.
    """
    if levels < 3 or levels % 2 == 0:
        raise ValueError(f"levels must be an odd number >= 3, got {levels}")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive number, got {scale}")
    half = levels // 2
    v = np.asarray(values, dtype=np.float64)
    q = np.rint(np.clip(np.nan_to_num(v / scale, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0) * half)
    return (q + half).astype(np.int16)


def format_scale(scale: float) -> str:
    """'±0.123' style label for a symmetric colour scale."""
    if scale >= 100 or scale < 0.01:
        return f"±{scale:.1e}"
    return f"±{scale:.3g}"


# --------------------------------------------------------------------------------------------
# Weight tiles, heatmaps and their pages
# --------------------------------------------------------------------------------------------


def pool(images: np.ndarray, factor: int) -> np.ndarray:
    """Mean-pool the last two axes by `factor` (edges that do not fill a block are padded with 0)."""
    if factor == 1:
        return images
    *lead, h, w = images.shape
    ph, pw = -h % factor, -w % factor
    if ph or pw:
        images = np.pad(images, [(0, 0)] * len(lead) + [(0, ph), (0, pw)])
        h, w = h + ph, w + pw
    return images.reshape(*lead, h // factor, factor, w // factor, factor).mean(axis=(-3, -1))


def unit_images(W1: np.ndarray, image_shape: tuple[int, int], factor: int = 1) -> np.ndarray:
    """Each first-layer hidden unit's incoming weights as an image: (units, rows, cols).

    W1 has shape (pixels, units); unit j's image is W1[:, j] reshaped to `image_shape`, mean-pooled
    by `factor` (2 gives 14x14 tiles of 28x28 images).
    """
    W1 = np.asarray(W1)
    rows, cols = image_shape
    if W1.ndim != 2 or W1.shape[0] != rows * cols:
        raise ValueError(f"W1 of shape {W1.shape} does not take images of shape {image_shape}")
    images = W1.T.reshape(W1.shape[1], rows, cols)
    return pool(images, factor)


def tile_cells(image_shape: tuple[int, int]) -> tuple[int, int]:
    """(columns, rows) of terminal cells one image takes with two pixels per cell vertically."""
    h, w = image_shape
    return w, (h + 1) // 2


@dataclass(frozen=True)
class TileLayout:
    """How many tiles of a given size fit a width x height area, and how many pages they need."""

    n: int  # tiles in all
    tile_width: int  # cells
    tile_height: int  # cells
    cols: int  # tiles across
    rows: int  # tiles down
    hgap: int
    vgap: int

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.n / self.per_page))

    def units_on_page(self, page: int) -> range:
        """The tile indices on `page` (0-based; clamped)."""
        page = min(max(page, 0), self.pages - 1)
        return range(page * self.per_page, min(self.n, (page + 1) * self.per_page))

    def position(self, k: int) -> tuple[int, int]:
        """(x, y) of the top-left cell of the k-th tile on its page."""
        k %= self.per_page
        r, c = divmod(k, self.cols)
        return c * (self.tile_width + self.hgap), r * (self.tile_height + self.vgap)


def tile_layout(n: int, width: int, height: int, tile_width: int, tile_height: int,
                hgap: int = 1, vgap: int = 1) -> TileLayout:
    """Lay n tiles of tile_width x tile_height cells out in rows in a width x height area.

    At least one tile fits a page even when the area is too small (it is then cropped).
    """
    cols = max(1, (width + hgap) // (tile_width + hgap))
    rows = max(1, (height + vgap) // (tile_height + vgap))
    return TileLayout(n, tile_width, tile_height, cols, rows, hgap, vgap)


#: Tile sizes: "auto" by the space available, or a fixed mean-pooling factor of the images
#: (for 28x28 MNIST: full 28x28 tiles, half 14x14, third 10x10).
ZOOMS = ("auto", "full", "half", "third")
ZOOM_FACTORS = {"full": 1, "half": 2, "third": 3}
#: "auto" takes the largest tiles of which at least this many (or all of them) fit a page.
AUTO_MIN_TILES = 8
#: Matrix heatmap entries are drawn at most this many pixels wide or tall.
MAX_BLOCK = 6


def pooled_shape(image_shape: tuple[int, int], factor: int) -> tuple[int, int]:
    return math.ceil(image_shape[0] / factor), math.ceil(image_shape[1] / factor)


def choose_factor(n_units: int, image_shape: tuple[int, int], width: int, height: int, zoom: str) -> int:
    """The pooling factor (1, 2 or 3) of the tiles for `zoom` in a width x height area.

    "auto" takes the largest tiles that fit whole and show at least AUTO_MIN_TILES (or all the
    units) on a page; failing that, the size that shows the most tiles.
    """
    if zoom in ZOOM_FACTORS:
        return ZOOM_FACTORS[zoom]
    if zoom != "auto":
        raise ValueError(f"unknown zoom {zoom!r}; choose one of {', '.join(ZOOMS)}")
    best, best_count = 3, 0
    for factor in (1, 2, 3):
        tw, th = tile_cells(pooled_shape(image_shape, factor))
        if tw > width or th > height:
            continue
        per_page = tile_layout(n_units, width, height, tw, th).per_page
        if per_page >= min(n_units, AUTO_MIN_TILES):
            return factor
        if per_page > best_count:
            best, best_count = factor, per_page
    return best


@dataclass(frozen=True)
class Panel:
    """A block of one weight matrix on a heatmap page: rows row0..row1-1 (the layer's output
    units) and columns col0..col1-1 (its inputs) of W.T, each entry block_w x block_h pixels,
    drawn from cell column x."""

    layer: str
    shape: tuple[int, int]  # the matrix's (fan_in, fan_out)
    row0: int
    row1: int
    col0: int
    col1: int
    block_w: int = 1
    block_h: int = 1
    x: int = 0

    @property
    def width(self) -> int:
        """Cells across."""
        return (self.col1 - self.col0) * self.block_w

    @property
    def whole(self) -> bool:
        fan_in, fan_out = self.shape
        return self.row1 - self.row0 == fan_out and self.col1 - self.col0 == fan_in


@dataclass(frozen=True)
class Page:
    """One page of the weights view.

    kind "tiles": tiles `start`..`stop`-1 of layer `layer` (its hidden units, mean-pooled by
    `factor`), placed by `layout`.
    kind "matrix": heatmap `panels` side by side (several small matrices, or a block of a large
    one); `layer` is the first panel's.
    """

    layer: str
    kind: str
    shape: tuple[int, int]
    start: int = 0
    stop: int = 0
    factor: int = 1
    layout: TileLayout | None = None
    panels: tuple[Panel, ...] = ()


def weight_layers(shapes: dict[str, tuple[int, ...]]) -> list[str]:
    """The names of the weight matrices W1, W2, ... in layer order (biases are left out)."""
    names = [n for n, s in shapes.items() if n.startswith("W") and n[1:].isdigit() and len(s) == 2]
    return sorted(names, key=lambda n: int(n[1:]))


def matrix_blocks(rows: int, cols: int, width: int, px_height: int) -> tuple[int, int]:
    """(block_w, block_h) in pixels for drawing a rows x cols matrix in width x px_height pixels:
    as large as fits, at most MAX_BLOCK, and at most 3 times wider than tall or taller than wide."""
    bw = max(1, min(width // max(cols, 1), MAX_BLOCK))
    bh = max(1, min(px_height // max(rows, 1), MAX_BLOCK))
    bw = min(bw, 3 * bh)
    bh = min(bh, 3 * bw)
    return bw, bh


#: Cells between heatmap panels sharing a page.
PANEL_GAP = 3


def _panel_page(group: list[tuple[str, tuple[int, int]]], width: int, px_height: int) -> Page:
    """One page with the whole matrices of `group` side by side, sharing a block size."""
    total_cols = sum(fan_in for _, (fan_in, _) in group)
    max_rows = max(fan_out for _, (_, fan_out) in group)
    bw, bh = matrix_blocks(max_rows, total_cols, width - PANEL_GAP * (len(group) - 1), px_height)
    panels = []
    x = 0
    for name, (fan_in, fan_out) in group:
        panels.append(Panel(name, (fan_in, fan_out), 0, fan_out, 0, fan_in, bw, bh, x))
        x += fan_in * bw + PANEL_GAP
    return Page(group[0][0], "matrix", group[0][1], panels=tuple(panels))


def plan_pages(shapes: dict[str, tuple[int, ...]], image_shape: tuple[int, int] | None,
               width: int, height: int, zoom: str = "auto") -> list[Page]:
    """The pages of the weights view for an area of width x height cells.

    For image data, W1's hidden units come first as tiles (each unit's incoming weights as an
    image), as many pages as they need. Every other weight matrix (and W1 for data without an
    image shape) follows as a heatmap of W.T: one row per output unit, one column per input.
    A heatmap page spends its first line on the panels' labels; small matrices share a page side
    by side, a large one is split into pages of rows and columns when it does not fit.
    """
    width, height = max(1, width), max(1, height)
    px_height = max(1, 2 * (height - 1))
    pages: list[Page] = []
    group: list[tuple[str, tuple[int, int]]] = []
    group_width = 0

    def flush() -> None:
        nonlocal group, group_width
        if group:
            pages.append(_panel_page(group, width, px_height))
        group, group_width = [], 0

    for name in weight_layers(shapes):
        fan_in, fan_out = shapes[name]
        if name == "W1" and image_shape is not None and fan_in == image_shape[0] * image_shape[1]:
            factor = choose_factor(fan_out, image_shape, width, height, zoom)
            tw, th = tile_cells(pooled_shape(image_shape, factor))
            layout = tile_layout(fan_out, width, height, tw, th)
            for p in range(layout.pages):
                units = layout.units_on_page(p)
                pages.append(Page(name, "tiles", (fan_in, fan_out), units.start, units.stop, factor, layout))
            continue
        if fan_in <= width and fan_out <= px_height:  # fits whole: share a page if there is room
            needed = fan_in if not group else group_width + PANEL_GAP + fan_in
            if group and needed > width:
                flush()
                needed = fan_in
            group.append((name, (fan_in, fan_out)))
            group_width = needed
            continue
        flush()
        bw, bh = matrix_blocks(fan_out, fan_in, width, px_height)
        rows_per = max(1, px_height // bh)
        cols_per = max(1, width // bw)
        for r0 in range(0, fan_out, rows_per):
            for c0 in range(0, fan_in, cols_per):
                panel = Panel(name, (fan_in, fan_out), r0, min(fan_out, r0 + rows_per), c0,
                              min(fan_in, c0 + cols_per), bw, bh, 0)
                pages.append(Page(name, "matrix", (fan_in, fan_out), panels=(panel,)))
    flush()
    return pages


def matrix_pixels(block: np.ndarray, block_w: int, block_h: int) -> np.ndarray:
    """Each entry of `block` repeated into block_h x block_w pixels."""
    return np.repeat(np.repeat(block, block_h, axis=0), block_w, axis=1)


def tile_canvas(images: np.ndarray, layout: TileLayout, units: range, width: int, px_height: int) -> np.ndarray:
    """The pixel canvas (px_height x width, float64) of one page of tiles: each unit's image at its
    place in `layout`, NaN (nothing drawn) elsewhere. images: (units, h, w); tiles that do not fit
    are cropped."""
    canvas = np.full((px_height, width), np.nan)
    h, w = images.shape[1:]
    for k, unit in enumerate(units):
        x, y = layout.position(k)
        py = 2 * y
        if x >= width or py >= px_height:
            continue
        cw, ch = min(w, width - x), min(h, px_height - py)
        canvas[py:py + ch, x:x + cw] = images[unit, :ch, :cw]
    return canvas


# --------------------------------------------------------------------------------------------
# Decision regions
# --------------------------------------------------------------------------------------------


def data_extent(*points: np.ndarray, pad: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    """((x_min, x_max), (y_min, y_max)) around all the given (n, 2) point arrays, padded by `pad`
    of the span on each side (a unit square around the origin when there are no points)."""
    arrays = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in points if p is not None and np.size(p)]
    if not arrays:
        return (-1.0, 1.0), (-1.0, 1.0)
    xy = np.concatenate(arrays)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return (-1.0, 1.0), (-1.0, 1.0)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad * span, hi + pad * span
    same = (hi - lo) < 1e-6
    lo, hi = np.where(same, lo - 1, lo), np.where(same, hi + 1, hi)
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def grid_points(x_range: tuple[float, float], y_range: tuple[float, float], cols: int, rows: int) -> np.ndarray:
    """The centres of a cols x rows grid over the rectangle, as (rows * cols, 2) points, row by
    row from the TOP (largest y) down, left to right within a row."""
    (x0, x1), (y0, y1) = x_range, y_range
    xs = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    ys = y1 - (np.arange(rows) + 0.5) * (y1 - y0) / rows
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def decision_grid(predict: Callable[[np.ndarray], np.ndarray], x_range: tuple[float, float],
                  y_range: tuple[float, float], cols: int, rows: int) -> np.ndarray:
    """The classifier's outputs over the plane: an array (rows, cols, classes).

    `predict` takes (n, 2) points and returns (n, classes) class probabilities (or (n,) / (n, 1)
    probabilities of class 1, which become two columns). Row 0 is the top of the picture (largest
    y); each entry is the prediction at the centre of its grid cell.
    """
    if cols < 1 or rows < 1:
        raise ValueError(f"the grid needs at least one row and column, got {cols}x{rows}")
    points = grid_points(x_range, y_range, cols, rows)
    probs = np.asarray(predict(points), dtype=np.float64)
    if probs.ndim == 1 or (probs.ndim == 2 and probs.shape[1] == 1):
        p1 = probs.reshape(-1)
        probs = np.column_stack([1.0 - p1, p1])
    if probs.ndim != 2 or probs.shape[0] != len(points):
        raise ValueError(f"predict returned shape {probs.shape} for {len(points)} points")
    return probs.reshape(rows, cols, probs.shape[1])


def class_and_confidence(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per grid cell: the predicted class, and the confidence in [0, 1] (0 = all classes equally
    likely, 1 = certain), from an array (..., classes) of probabilities."""
    probs = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=0.0)
    k = probs.shape[-1]
    labels = probs.argmax(axis=-1)
    total = probs.sum(axis=-1)
    top = np.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]
    share = np.where(total > 0, top / np.where(total > 0, total, 1), 1.0 / k)
    conf = (share - 1.0 / k) / (1.0 - 1.0 / k) if k > 1 else np.ones_like(share)
    return labels, np.clip(conf, 0.0, 1.0)


def point_cells(points: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float],
                cols: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(col, row, inside) of the grid cell each point falls in (row 0 at the top)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    (x0, x1), (y0, y1) = x_range, y_range
    c = np.floor((p[:, 0] - x0) / (x1 - x0) * cols)
    r = np.floor((y1 - p[:, 1]) / (y1 - y0) * rows)
    inside = np.isfinite(c) & np.isfinite(r) & (c >= 0) & (c < cols) & (r >= 0) & (r < rows)
    c = np.where(inside, c, 0).astype(np.int64)
    r = np.where(inside, r, 0).astype(np.int64)
    return c, r, inside


def point_glyph_grid(points: Sequence[np.ndarray], labels: Sequence[np.ndarray], x_range, y_range,
                     cols: int, rows: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Which point to draw in each of cols x rows cells: (kind, cls), both (rows, cols) int arrays.

    `points` / `labels` are sets in order of precedence (e.g. train, then test): a cell shows the
    first set that has points in it (kind = its index, -1 for no point) and that set's most
    common class there (cls).
    """
    kind = np.full((rows, cols), -1, dtype=np.int64)
    cls = np.zeros((rows, cols), dtype=np.int64)
    for s, (pts, lab) in enumerate(zip(points, labels)):
        if pts is None or not np.size(pts):
            continue
        c, r, inside = point_cells(pts, x_range, y_range, cols, rows)
        lab = np.asarray(lab).reshape(-1)[: len(c)].astype(np.int64)
        c, r, lab = c[inside], r[inside], lab[inside]
        lab = np.clip(lab, 0, max(n_classes - 1, 0))
        counts = np.zeros((rows, cols, max(n_classes, 1)), dtype=np.int64)
        np.add.at(counts, (r, c, lab), 1)
        present = counts.sum(axis=-1) > 0
        take = present & (kind < 0)
        kind[take] = s
        cls[take] = counts.argmax(axis=-1)[take]
    return kind, cls
