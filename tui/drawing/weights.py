"""Weights: weight matrices turned into pictures (no Textual, no Rich, only NumPy).

`quantize` values to a small diverging palette (`diverging_colors`) centred on zero, so that a
widget can draw with a fixed table of prebuilt styles; `unit_images` turns W1 into one small image
per hidden unit; `plan_pages` lays tiles and matrix heatmaps out in pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


# --------------------------------------------------------------------------------------------
# Diverging palette and quantisation
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
