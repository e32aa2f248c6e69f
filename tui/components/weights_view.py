"""The weights view: each first-layer unit's incoming weights as a small image, the other layers
as matrix heatmaps, on a diverging palette centred on zero.

A line-API widget: it draws two pixels per cell with the upper-half-block character "▀"
(foreground = top pixel, background = bottom pixel). Colours come from a quantised palette
(21 levels) through a fixed table of prebuilt Rich styles, so no style is made per exact colour.
With NO_COLOR (or `glyphs = True`) it draws one character per cell instead, from a ramp whose
density is the magnitude and whose strokes give the sign (see drawing.weights.GLYPH_RAMP).

The numbers (pages, tile layout, quantisation) come from tui.drawing.weights; this module only
paints.
"""

from __future__ import annotations

from typing import Callable, Hashable

import numpy as np
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui.components.pacing import Paced, Run
from tui.drawing.weights import (
    GLYPH_RAMP,
    PALETTE_LEVELS,
    PANEL_GAP,
    ZOOMS,
    Page,
    diverging_colors,
    pooled_shape,
    format_scale,
    matrix_pixels,
    plan_pages,
    quantize,
    symmetric_scale,
    tile_canvas,
    unit_images,
)

UPPER_HALF = "▀"
LOWER_HALF = "▄"


def halfblock_segments(top: np.ndarray, bottom: np.ndarray, style_for: Callable[[int, int], Style],
                       blank: int = -1) -> list[Segment]:
    """Segments for one row of cells from two rows of colour codes (`blank` = background).

    Runs of identical cells become one segment. A cell whose two pixels share a code is a space
    on that background; a cell with only a bottom pixel uses the lower half block.
    `style_for(top, bottom)` returns the style for a pair (it should come from a bounded table).
    """
    segments: list[Segment] = []
    top_list, bottom_list = top.tolist(), bottom.tolist()
    run_key: tuple[int, int] | None = None
    run = 0
    for t, b in zip(top_list, bottom_list):
        key = (t, b)
        if key == run_key:
            run += 1
            continue
        if run_key is not None:
            segments.append(_cell_run(run_key, run, style_for, blank))
        run_key, run = key, 1
    if run_key is not None:
        segments.append(_cell_run(run_key, run, style_for, blank))
    return segments


def _cell_run(key: tuple[int, int], run: int, style_for: Callable[[int, int], Style], blank: int) -> Segment:
    t, b = key
    if t == b or t == blank and b == blank:
        char = " "
    elif t == blank:
        char = LOWER_HALF
    else:
        char = UPPER_HALF
    return Segment(char * run, style_for(t, b))


def _runs(flags: list[bool]) -> list[tuple[bool, slice]]:
    """(flag, slice) for each run of equal flags."""
    runs = []
    start = 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[start]:
            runs.append((flags[start], slice(start, i)))
            start = i
    return runs


class HalfBlockStyles:
    """A bounded table of prebuilt styles for pairs of palette colours (and the background).

    palette: (levels, 3) uint8 RGB. Codes 0..levels-1 are palette colours; -1 is the background
    of `base`. There are at most (levels + 1)^2 styles, made once per base style.
    """

    def __init__(self, palette: np.ndarray, base: Style) -> None:
        self.base = base
        self.colors = [RichColor.from_rgb(*map(int, rgb)) for rgb in palette]
        n = len(self.colors)
        bg = base.bgcolor
        self.table: dict[tuple[int, int], Style] = {}
        for t in range(-1, n):
            for b in range(-1, n):
                if t == b:
                    style = base if t < 0 else base + Style(bgcolor=self.colors[t])
                elif t < 0:
                    style = base + Style(color=self.colors[b], bgcolor=bg)
                elif b < 0:
                    style = base + Style(color=self.colors[t], bgcolor=bg)
                else:
                    style = base + Style(color=self.colors[t], bgcolor=self.colors[b])
                self.table[(t, b)] = style

    def __call__(self, top: int, bottom: int) -> Style:
        return self.table[(top, bottom)]

    def __len__(self) -> int:
        return len(self.table)


class WeightsView(Paced, Widget, can_focus=True):
    """Weight tiles (first layer, image data) and heatmaps (every other weight matrix), paged.

    `set_weights(weights, image_shape)`: a dict of parameters (W1, b1, W2, ...; biases are
    ignored) and the images' (rows, cols) or None for data that are not images. The first line
    says what the page shows, the colour scale (±max |w| of the layer) and the page number.
    Keys when focused: pagedown/pageup (or right/left) page, home/end. The app's own keys work
    wherever the focus is: , . page (next_page, prev_page), < > layers (next_layer, prev_layer),
    z the tile size (toggle_zoom).
    """

    DEFAULT_CSS = """
    WeightsView {
        width: 1fr;
        height: 1fr;
        min-height: 4;
    }
    WeightsView:focus {
        background-tint: $foreground 4%;
    }
    """

    BINDINGS = [
        Binding("pagedown,right", "next_page", "Next page"),
        Binding("pageup,left", "prev_page", "Prev page"),
        Binding("home", "first_page", "First page", show=False),
        Binding("end", "last_page", "Last page", show=False),
    ]

    zoom: reactive[str] = reactive("auto")
    """Tile size: "auto" (by the space available), "full" (28x28 for MNIST), "half" (14x14) or "third" (10x10)."""
    page: reactive[int] = reactive(0)
    glyphs: reactive[bool | None] = reactive(None)
    """Draw with characters instead of colours; None follows the app's NO_COLOR."""

    levels = PALETTE_LEVELS
    #: Seconds between redraws while training, at least (they are drawn once per epoch).
    INTERVAL = 1.0

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.weights: dict[str, np.ndarray] = {}
        self.image_shape: tuple[int, int] | None = None
        self.scales: dict[str, float] = {}
        self.version = 0  # bumped by set_weights
        self.renders = 0  # pages painted, for tests
        self._palette = diverging_colors(self.levels)
        self._styles: HalfBlockStyles | None = None
        self._plan_key: Hashable = None
        self._plan: list[Page] = []
        self._lines_key: Hashable = None
        self._lines: list[Strip] = []
        self._images: dict[tuple[str, int], np.ndarray] = {}
        self.tile_scales: dict[tuple[str, int], float] = {}

    # -- data ---------------------------------------------------------------------------------

    def set_weights(self, weights: dict[str, np.ndarray], image_shape: tuple[int, int] | None = None) -> None:
        """Show these weights (the arrays are copied); only this redraws the tiles."""
        kept = {n: np.array(v, dtype=np.float64) for n, v in weights.items()
                if n.startswith("W") and np.ndim(v) == 2}
        self.weights = kept
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.scales = {n: symmetric_scale(v) for n, v in kept.items()}
        self._images.clear()
        self.tile_scales.clear()
        self.version += 1
        self.refresh()

    def show(self, snap, run: Run, force: bool = False) -> None:
        """The session's weights: once per epoch while training (at most once per INTERVAL), at each
        new step otherwise, and now when forced."""
        if snap.state == "training" and not force:
            due = self.due((id(run.session), "epoch", snap.epoch))
        else:
            due = self.due((id(run.session), "step", snap.step), force, interval=0.0)
        if due:
            self.set_weights(run.session.snapshot(weights=True).weights, run.dataset.image_shape)

    def clear(self) -> None:
        """Empty, for a fresh network: the next show draws."""
        self.restart()
        self.set_weights({}, None)

    # -- pages --------------------------------------------------------------------------------

    @property
    def use_glyphs(self) -> bool:
        return bool(self.app.no_color) if self.glyphs is None else self.glyphs

    @property
    def pages(self) -> list[Page]:
        """The pages for the current size and zoom."""
        width, height = self.size.width, max(1, self.size.height - 1)
        shapes = {n: v.shape for n, v in self.weights.items()}
        key = (width, height, self.zoom, self.image_shape, tuple(sorted(shapes.items())))
        if key != self._plan_key:
            old = self._plan[self.page] if self._plan and self.page < len(self._plan) else None
            self._plan = plan_pages(shapes, self.image_shape, width, height, self.zoom) if shapes else []
            self._plan_key = key
            if old is not None:
                self.set_reactive(WeightsView.page, self._matching_page(old))
        return self._plan

    def _matching_page(self, old: Page) -> int:
        """The page of the new plan showing what `old` showed first (same layer)."""
        for i, p in enumerate(self._plan):
            if p.layer != old.layer:
                continue
            if p.kind == "tiles" and old.kind == "tiles" and p.start <= old.start < p.stop:
                return i
            if p.kind == "matrix" and old.kind == "matrix":
                first = old.panels[0]
                if any(q.layer == first.layer and q.row0 <= first.row0 < q.row1 and q.col0 <= first.col0 < q.col1
                       for q in p.panels):
                    return i
        for i, p in enumerate(self._plan):
            if p.layer == old.layer or any(q.layer == old.layer for q in p.panels):
                return i
        return 0

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def current_page(self) -> Page | None:
        pages = self.pages
        return pages[min(self.page, len(pages) - 1)] if pages else None

    def tiles_on_page(self) -> int:
        """How many tiles the current page shows (0 on a heatmap page)."""
        page = self.current_page
        return page.stop - page.start if page is not None and page.kind == "tiles" else 0

    def validate_page(self, page: int) -> int:
        return max(0, min(page, max(0, len(self._plan) - 1)))

    def validate_zoom(self, zoom: str) -> str:
        if zoom not in ZOOMS:
            raise ValueError(f"unknown zoom {zoom!r}; choose one of {', '.join(ZOOMS)}")
        return zoom

    def next_page(self) -> None:
        self.pages  # noqa: B018 (plans for the current size first)
        self.page = (self.page + 1) % max(1, len(self._plan))

    def prev_page(self) -> None:
        self.pages  # noqa: B018
        self.page = (self.page - 1) % max(1, len(self._plan))

    def next_layer(self) -> None:
        """The first page of the next layer (after the last, the first layer's)."""
        pages = self.pages
        if not pages:
            return
        layer = pages[min(self.page, len(pages) - 1)].layer
        for i in list(range(self.page + 1, len(pages))) + list(range(0, self.page)):
            if pages[i].layer != layer:
                self.page = i
                return

    def prev_layer(self) -> None:
        """The first page of the previous layer (before the first, the last layer's)."""
        pages = self.pages
        if not pages:
            return
        layers = list(dict.fromkeys(page.layer for page in pages))
        layer = pages[min(self.page, len(pages) - 1)].layer
        previous = layers[layers.index(layer) - 1]
        self.page = next(i for i, page in enumerate(pages) if page.layer == previous)

    def toggle_zoom(self) -> None:
        """Cycle the tile size: auto -> full -> half -> third -> auto."""
        self.zoom = ZOOMS[(ZOOMS.index(self.zoom) + 1) % len(ZOOMS)]

    def action_next_page(self) -> None:
        self.next_page()

    def action_prev_page(self) -> None:
        self.prev_page()

    def action_first_page(self) -> None:
        self.page = 0

    def action_last_page(self) -> None:
        self.page = max(0, self.page_count - 1)

    def watch_page(self) -> None:
        self.refresh()

    def watch_zoom(self) -> None:
        self.refresh()

    def watch_glyphs(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.refresh()

    # -- painting -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        lines = self._page_lines()
        if y < len(lines):
            return lines[y]
        return Strip.blank(self.size.width, self.rich_style)

    def _page_lines(self) -> list[Strip]:
        width, height = self.size
        base = self.rich_style
        page = self.current_page
        key = (width, height, self.version, self._plan_key, self.page, self.use_glyphs, base)
        if key == self._lines_key:
            return self._lines
        self._lines_key = key
        if width <= 0 or height <= 0:
            self._lines = []
            return self._lines
        if page is None:
            message = "Weights: none yet. Start or re-initialise a run to see them."
            self._lines = [Strip([Segment(message, base + Style(dim=True))]).adjust_cell_length(width, base)]
            return self._lines
        self.renders += 1
        lines = [self._header(page, width, base)]
        px_height = 2 * (height - 1)
        if page.kind == "matrix":
            lines.append(self._labels(page, width, base))
            px_height -= 2
        values = self._page_values(page, width, max(0, px_height))
        if self.use_glyphs:
            body = self._glyph_lines(values, base)
        else:
            body = self._color_lines(values, base)
        self._lines = lines + [s.adjust_cell_length(width, base) for s in body]
        return self._lines

    def _page_values(self, page: Page, width: int, px_height: int) -> np.ndarray:
        """The page's pixels as weights divided by their layer's scale (so +-1 are the palette's
        ends), NaN where nothing is drawn: px_height x width."""
        if page.kind == "tiles":
            images = self._tile_images(page)
            return tile_canvas(images, page.layout, range(page.start, page.stop), width, px_height)
        canvas = np.full((px_height, width), np.nan)
        for panel in page.panels:
            W = self.weights[panel.layer]
            block = W.T[panel.row0:panel.row1, panel.col0:panel.col1] / self.scales[panel.layer]
            pixels = matrix_pixels(block, panel.block_w, panel.block_h)
            h, w = min(px_height, pixels.shape[0]), min(width - panel.x, pixels.shape[1])
            if h > 0 and w > 0:
                canvas[:h, panel.x:panel.x + w] = pixels[:h, :w]
        return canvas

    def _tile_images(self, page: Page) -> np.ndarray:
        """The layer's unit images at the page's pooling, divided by their scale (cached until
        new weights come). Pooling averages, so the scale is taken over the pooled images."""
        key = (page.layer, page.factor)
        images = self._images.get(key)
        if images is None:
            images = unit_images(self.weights[page.layer], self.image_shape, page.factor)
            self.tile_scales[key] = symmetric_scale(images)
            images = images / self.tile_scales[key]
            self._images[key] = images
        return images

    def page_scale(self, page: Page) -> float:
        """The colour scale (half-width) of a page with one layer."""
        if page.kind == "tiles":
            self._tile_images(page)
            return self.tile_scales[(page.layer, page.factor)]
        return self.scales[page.panels[0].layer]

    def _color_lines(self, values: np.ndarray, base: Style) -> list[Strip]:
        if self._styles is None or self._styles.base != base:
            self._styles = HalfBlockStyles(self._palette, base)
        codes = quantize(values, 1.0, self.levels)
        codes[np.isnan(values)] = -1
        if codes.shape[0] % 2:
            codes = np.vstack([codes, np.full((1, codes.shape[1]), -1, codes.dtype)])
        styles = self._styles
        return [Strip(halfblock_segments(codes[2 * r], codes[2 * r + 1], styles))
                for r in range(codes.shape[0] // 2)]

    def _glyph_lines(self, values: np.ndarray, base: Style) -> list[Strip]:
        if values.shape[0] % 2:
            values = np.vstack([values, np.full((1, values.shape[1]), np.nan)])
        top, bottom = values[0::2], values[1::2]
        both = np.isnan(top) & np.isnan(bottom)
        # one character for two pixels: the stronger of the two, so that thin strokes survive
        stronger = np.where(np.abs(np.nan_to_num(top)) >= np.abs(np.nan_to_num(bottom)), top, bottom)
        cell = np.where(np.isnan(top), bottom, np.where(np.isnan(bottom), top, stronger))
        codes = quantize(np.where(both, 0.0, cell), 1.0, len(GLYPH_RAMP))
        tile = base + Style(reverse=True)  # tiles stand out from the background as light boxes
        lines = []
        for r in range(codes.shape[0]):
            segments = []
            for blank, run in _runs(both[r].tolist()):
                text = " " * (run.stop - run.start) if blank else "".join(GLYPH_RAMP[c] for c in codes[r][run].tolist())
                segments.append(Segment(text, base if blank else tile))
            lines.append(Strip(segments))
        return lines

    def _labels(self, page: Page, width: int, base: Style) -> Strip:
        """The line above heatmap panels: each panel's layer, shape (or block) and scale."""
        bold = base + Style(bold=True)
        segments: list[Segment] = []
        at = 0
        for panel in page.panels:
            fan_in, fan_out = panel.shape
            scale = format_scale(self.scales[panel.layer])
            if panel.whole:  # drawn transposed: a row per unit (fan_out), a column per input (fan_in)
                choices = [f"{panel.layer} {fan_out}x{fan_in} {scale}", f"{panel.layer} {scale}", panel.layer]
            else:
                choices = [f"{panel.layer} units {panel.row0 + 1}-{panel.row1} of {fan_out}, "
                           f"inputs {panel.col0 + 1}-{panel.col1} of {fan_in}", panel.layer]
            room = panel.width + PANEL_GAP - 1 if len(page.panels) > 1 else width
            label = next((c for c in choices if len(c) <= room), choices[-1][:max(room, 2)])
            if panel.x > at:
                segments.append(Segment(" " * (panel.x - at), base))
                at = panel.x
            segments.append(Segment(label, bold))
            at += len(label)
        return Strip(segments).crop(0, width).adjust_cell_length(width, base)

    def _header(self, page: Page, width: int, base: Style) -> Strip:
        """What the page shows, the colour scale and the page number, as long as the width allows."""
        pages = self.pages
        bold = base + Style(bold=True)
        dim = base + Style(dim=True)
        number = min(self.page, len(pages) - 1) + 1
        if page.kind == "tiles":
            th, tw = pooled_shape(self.image_shape, page.factor)
            n = page.shape[1]
            whats = (f"{page.layer} units {page.start + 1}-{page.stop} of {n} ({th}x{tw})",  # rows x columns
                     f"{page.layer} {page.start + 1}-{page.stop}/{n} {th}x{tw}",
                     f"{page.start + 1}-{page.stop}/{n}")
            scale = self.page_scale(page)
        else:
            whats = ("rows: units, columns: their inputs", "rows: units, cols: inputs", "")
            layers = {panel.layer for panel in page.panels}
            scale = self.scales[page.panels[0].layer] if len(layers) == 1 else None
        if self.use_glyphs:
            ramp = [Segment("".join(GLYPH_RAMP), base + Style(reverse=True))]
        else:
            if self._styles is None or self._styles.base != base:
                self._styles = HalfBlockStyles(self._palette, base)
            ramp = [Segment(" ", self._styles(level, level)) for level in range(0, self.levels, 2)]
        label = format_scale(scale)[1:] if scale is not None else None
        variants = []
        for what in whats:
            for long in (True, False):
                segments = [Segment(what, bold), Segment("  " if what else "", base)]
                if long:
                    segments += [Segment(f"-{label} " if label else "", base), *ramp,
                                 Segment(f" +{label}" if label else " ±each layer's scale", base),
                                 Segment(f"  page {number}/{len(pages)}", dim)]
                else:
                    segments += [*ramp, Segment(f" ±{label}" if label else " ±scale", base),
                                 Segment(f" {number}/{len(pages)}", dim)]
                variants.append(segments)
        for segments in variants:
            strip = Strip(segments)
            if strip.cell_length <= width:
                return strip.adjust_cell_length(width, base)
        return Strip(variants[-1]).crop(0, width).adjust_cell_length(width, base)
