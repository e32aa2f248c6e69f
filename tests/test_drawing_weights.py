"""tui.drawing.weights: the diverging palette, the tiles and the pages of the weights view (no
Textual needed)."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import Color, ColorSystem

from tui.drawing import weights

# --------------------------------------------------------------------------------------------
# palette and quantisation


def test_diverging_palette_is_blue_white_red():
    colors = weights.diverging_colors(21)
    assert colors.shape == (21, 3) and colors.dtype == np.uint8
    middle = colors[10].astype(int)
    assert middle.min() >= 240  # zero is (near) white
    for i in range(10):
        neg, pos = colors[i].astype(int), colors[20 - i].astype(int)
        assert neg[2] > neg[0]  # negatives blue
        assert pos[0] > pos[2]  # positives red
    # lightness falls off symmetrically: the ends are the darkest
    lum = colors.astype(float) @ [0.299, 0.587, 0.114]
    assert np.argmax(lum) == 10
    assert np.all(np.diff(lum[:11]) > 0) and np.all(np.diff(lum[10:]) < 0)
    with pytest.raises(ValueError):
        weights.diverging_colors(20)


def test_quantize_bounded_symmetric_and_centred():
    levels = 21
    assert weights.quantize(0.0, 1.0, levels) == 10
    extreme = weights.quantize(np.array([-1e9, -np.inf, 1e9, np.inf, np.nan]), 0.5, levels)
    assert extreme.tolist() == [0, 0, 20, 20, 10]
    rng = np.random.default_rng(2)
    v = rng.normal(scale=2.0, size=10_000)
    q = weights.quantize(v, 1.5, levels)
    assert q.min() >= 0 and q.max() <= levels - 1
    assert np.array_equal(weights.quantize(-v, 1.5, levels), levels - 1 - q)
    order = np.argsort(v)
    assert np.all(np.diff(q[order]) >= 0)  # monotone
    assert len(np.unique(q)) == levels  # every level reachable
    with pytest.raises(ValueError):
        weights.quantize(v, 0.0, levels)


def test_symmetric_scale_uses_a_robust_percentile():
    w = np.concatenate([np.linspace(-0.1, 0.1, 1001), [50.0]])
    assert weights.symmetric_scale(w) == pytest.approx(0.1, rel=0.05)  # one outlier does not wash all out
    assert weights.symmetric_scale(w, percentile=100) == 50.0
    assert weights.symmetric_scale(np.zeros(5)) == 1.0
    assert weights.format_scale(0.123456) == "±0.123"


def test_palette_survives_256_colours():
    """Textual downsamples truecolour to the 256-colour palette: the scale must stay readable."""
    colors = weights.diverging_colors(21)
    eight_bit = [Color.from_rgb(*map(int, c)).downgrade(ColorSystem.EIGHT_BIT) for c in colors]
    triplets = [c.get_truecolor() for c in eight_bit]
    assert len(set(triplets)) >= 9
    assert triplets[0].blue > triplets[0].red and triplets[-1].red > triplets[-1].blue


def test_glyph_ramp_marks_sign_and_magnitude():
    ramp = weights.GLYPH_RAMP
    assert len(ramp) % 2 == 1 and ramp[len(ramp) // 2] == " "
    negatives, positives = ramp[: len(ramp) // 2], ramp[len(ramp) // 2 + 1:]
    assert not set(negatives) & set(positives)
    assert all(len(g) == 1 and g.isascii() for g in ramp)


# --------------------------------------------------------------------------------------------
# tiles and pages


def test_unit_images_reshape_and_pool():
    rng = np.random.default_rng(3)
    W1 = rng.normal(size=(784, 7))
    images = weights.unit_images(W1, (28, 28))
    assert images.shape == (7, 28, 28)
    assert np.array_equal(images[4], W1[:, 4].reshape(28, 28))
    pooled = weights.unit_images(W1, (28, 28), 2)
    assert pooled.shape == (7, 14, 14)
    assert pooled[4, 3, 5] == pytest.approx(W1[:, 4].reshape(28, 28)[6:8, 10:12].mean())
    with pytest.raises(ValueError):
        weights.unit_images(W1[:100], (28, 28))


def test_tile_layout_for_100_units():
    # 14x14 tiles are 14 cells wide and 7 rows tall; the weights view at 80x24 has about 78x13
    small = weights.tile_layout(100, 78, 13, 14, 7)
    assert (small.cols, small.rows, small.per_page, small.pages) == (5, 1, 5, 20)
    assert small.units_on_page(19) == range(95, 100)
    assert small.position(3) == (45, 0)
    big = weights.tile_layout(100, 118, 37, 28, 14)
    assert (big.cols, big.rows, big.per_page, big.pages) == (4, 2, 8, 13)
    assert big.position(5) == (29, 15)
    assert big.units_on_page(12) == range(96, 100)
    tiny = weights.tile_layout(100, 10, 3, 14, 7)
    assert tiny.per_page == 1  # at least one, cropped


def test_auto_zoom_takes_the_largest_tiles_of_which_enough_fit():
    # 80x24 leaves about 13 rows: one row of 5 tiles of 14x14, two rows of 7 tiles of 10x10
    assert weights.choose_factor(100, (28, 28), 78, 13, "auto") == 3
    assert weights.choose_factor(100, (28, 28), 78, 16, "auto") == 2  # two rows of 14x14 fit
    assert weights.choose_factor(100, (28, 28), 118, 37, "auto") == 1
    assert weights.choose_factor(100, (28, 28), 118, 37, "half") == 2
    assert weights.choose_factor(3, (28, 28), 90, 14, "auto") == 1  # all 3 fit
    assert weights.choose_factor(100, (28, 28), 9, 3, "auto") == 3  # nothing fits whole: the smallest
    assert weights.pooled_shape((28, 28), 3) == (10, 10)
    with pytest.raises(ValueError):
        weights.choose_factor(3, (28, 28), 90, 14, "huge")


def test_plan_pages_mnist_network():
    shapes = {"W1": (784, 100), "b1": (100,), "W2": (100, 10), "b2": (10,)}
    pages = weights.plan_pages(shapes, (28, 28), 78, 13, zoom="half")
    tiles = [p for p in pages if p.kind == "tiles"]
    assert len(tiles) == 20 and all(p.stop - p.start == 5 for p in tiles) and tiles[0].factor == 2
    auto = [p for p in weights.plan_pages(shapes, (28, 28), 78, 13) if p.kind == "tiles"]
    assert len(auto) == 8 and auto[0].stop == 14 and auto[-1].start == 98 and auto[0].factor == 3
    heat = [p for p in pages if p.kind == "matrix"]
    # W2.T is 10 rows x 100 columns; 78 columns fit a page, so two pages of columns
    assert [(q.layer, q.row0, q.row1, q.col0, q.col1) for p in heat for q in p.panels] == [
        ("W2", 0, 10, 0, 78), ("W2", 0, 10, 78, 100)]


def test_plan_pages_small_matrices_share_a_page():
    shapes = {"W1": (2, 8), "W2": (8, 8), "W3": (8, 2)}
    pages = weights.plan_pages(shapes, None, 78, 13)
    assert len(pages) == 1
    panels = pages[0].panels
    assert [p.layer for p in panels] == ["W1", "W2", "W3"]
    assert all(p.whole for p in panels)
    # side by side, not overlapping, within the width; blocks enlarged to use the space
    ends = [p.x + p.width for p in panels]
    assert all(end + weights.PANEL_GAP <= nxt.x for end, nxt in zip(ends, panels[1:]))
    assert ends[-1] <= 78 and panels[0].block_w > 1
    assert max(p.shape[1] for p in panels) * panels[0].block_h <= 2 * (13 - 1)


def test_tile_canvas_places_images():
    images = np.arange(3 * 4 * 4, dtype=float).reshape(3, 4, 4)
    layout = weights.tile_layout(3, 9, 2, 4, 2)  # 2 across, 1 down
    canvas = weights.tile_canvas(images, layout, range(0, 2), 9, 4)
    assert canvas.shape == (4, 9)
    assert np.array_equal(canvas[:, 0:4], images[0]) and np.array_equal(canvas[:, 5:9], images[1])
    assert np.isnan(canvas[:, 4]).all()
