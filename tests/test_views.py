"""tui.views: the pure functions behind the run views (no Textual needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rich.color import Color, ColorSystem

from tui import views as V

# --------------------------------------------------------------------------------------------
# downsampling


def test_downsample_minmax_keeps_extremes_and_length():
    rng = np.random.default_rng(0)
    n = 10_000
    x = np.arange(1, n + 1, dtype=float)
    y = np.exp(-x / 2000) + 0.05 * rng.standard_normal(n)
    y[1234] = 5.0  # a spike
    y[8765] = -3.0  # a dip
    width = 78
    xs, ys = V.downsample(x, y, 2 * width)
    assert 2 * width - 2 <= len(xs) <= 2 * width
    assert len(xs) == len(ys)
    assert ys.max() == 5.0 and ys.min() == -3.0  # the spike and the dip survive
    assert 1235.0 in xs and 8766.0 in xs
    assert np.all(np.diff(xs) > 0)  # still in order
    # every kept point is a point of the series
    assert np.array_equal(y[(xs - 1).astype(int)], ys)
    # each bucket's min and max: the kept envelope matches the series' envelope per bucket
    assert xs[0] <= 1 + n / width and xs[-1] >= n - n / width


def test_downsample_mean_and_short_series():
    x = np.arange(1000, dtype=float)
    y = np.arange(1000, dtype=float) * 2
    xs, ys = V.downsample(x, y, 100, method="mean")
    assert len(xs) == 100
    assert np.allclose(ys, 2 * xs)  # means of a straight line lie on it
    assert ys.mean() == pytest.approx(y.mean())
    short_x, short_y = V.downsample(x[:50], y[:50], 100)
    assert np.array_equal(short_x, x[:50]) and np.array_equal(short_y, y[:50])


def test_downsample_rejects_bad_input():
    with pytest.raises(ValueError):
        V.downsample(np.arange(3), np.arange(4), 10)
    with pytest.raises(ValueError):
        V.downsample(np.arange(3), np.arange(3), 1)
    with pytest.raises(ValueError):
        V.downsample(np.arange(3), np.arange(3), 10, method="median")


def test_finite_xy_drops_nan_and_nonpositive_for_log():
    x, y = V.finite_xy([1, 2, 3, 4], [1.0, np.nan, 0.0, np.inf])
    assert x.tolist() == [1, 3] and y.tolist() == [1.0, 0.0]
    x, y = V.finite_xy([1, 2, 3, 4], [1.0, np.nan, 0.0, np.inf], positive=True)
    assert x.tolist() == [1] and y.tolist() == [1.0]


# --------------------------------------------------------------------------------------------
# debiased EMA


def test_ema_debiased_first_values_by_hand():
    beta = 0.9
    out = V.ema_debiased([1.0, 2.0, 3.0], beta)
    s1 = 0.1 * 1.0
    s2 = 0.9 * s1 + 0.1 * 2.0
    s3 = 0.9 * s2 + 0.1 * 3.0
    expected = [s1 / (1 - 0.9), s2 / (1 - 0.9**2), s3 / (1 - 0.9**3)]
    assert out == pytest.approx(expected, rel=1e-12)
    assert out[0] == pytest.approx(1.0)  # no pull towards zero at the start
    assert out[1] == pytest.approx(0.29 / 0.19)


def test_ema_incremental_equals_whole_and_gaps_decay_by_beta_power():
    rng = np.random.default_rng(1)
    values = rng.random(500)
    whole = V.ema_debiased(values, 0.95)
    ema = V.DebiasedEMA(0.95)
    parts = np.concatenate([ema.extend(values[:123]), ema.extend(values[123:400]), ema.extend(values[400:])])
    assert np.allclose(parts, whole)
    # a skipped step: value at step 3 after step 1 equals the series with that value repeated at step 2
    skipped = V.ema_debiased([1.0, 5.0], 0.9, steps=[1, 3])
    repeated = V.ema_debiased([1.0, 5.0, 5.0], 0.9)
    assert skipped[-1] == pytest.approx(repeated[-1])


def test_ema_skips_non_finite():
    out = V.ema_debiased([1.0, np.nan, 1.0, np.inf], 0.9)
    assert math.isnan(out[1]) and math.isnan(out[3])
    assert out[0] == pytest.approx(1.0) and out[2] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        V.DebiasedEMA(1.0)


def test_ticks_are_round():
    assert V.nice_ticks(0, 1000, 5) == [0, 200, 400, 600, 800, 1000]
    assert V.nice_ticks(1, 799, 4) == [200, 400, 600]
    assert V.log_ticks(0.05, 3) == pytest.approx([0.05, 0.1, 0.2, 0.5, 1, 2])
    assert V.tick_label(12000) == "12k" and V.tick_label(250) == "250" and V.tick_label(0) == "0"


# --------------------------------------------------------------------------------------------
# palette and quantisation


def test_diverging_palette_is_blue_white_red():
    colors = V.diverging_colors(21)
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
        V.diverging_colors(20)


def test_quantize_bounded_symmetric_and_centred():
    levels = 21
    assert V.quantize(0.0, 1.0, levels) == 10
    extreme = V.quantize(np.array([-1e9, -np.inf, 1e9, np.inf, np.nan]), 0.5, levels)
    assert extreme.tolist() == [0, 0, 20, 20, 10]
    rng = np.random.default_rng(2)
    v = rng.normal(scale=2.0, size=10_000)
    q = V.quantize(v, 1.5, levels)
    assert q.min() >= 0 and q.max() <= levels - 1
    assert np.array_equal(V.quantize(-v, 1.5, levels), levels - 1 - q)
    order = np.argsort(v)
    assert np.all(np.diff(q[order]) >= 0)  # monotone
    assert len(np.unique(q)) == levels  # every level reachable
    with pytest.raises(ValueError):
        V.quantize(v, 0.0, levels)


def test_symmetric_scale_uses_a_robust_percentile():
    w = np.concatenate([np.linspace(-0.1, 0.1, 1001), [50.0]])
    assert V.symmetric_scale(w) == pytest.approx(0.1, rel=0.05)  # one outlier does not wash all out
    assert V.symmetric_scale(w, percentile=100) == 50.0
    assert V.symmetric_scale(np.zeros(5)) == 1.0
    assert V.format_scale(0.123456) == "±0.123"


def test_palette_survives_256_colours():
    """Textual downsamples truecolour to the 256-colour palette: the scale must stay readable."""
    colors = V.diverging_colors(21)
    eight_bit = [Color.from_rgb(*map(int, c)).downgrade(ColorSystem.EIGHT_BIT) for c in colors]
    triplets = [c.get_truecolor() for c in eight_bit]
    assert len(set(triplets)) >= 9
    assert triplets[0].blue > triplets[0].red and triplets[-1].red > triplets[-1].blue


def test_glyph_ramp_marks_sign_and_magnitude():
    ramp = V.GLYPH_RAMP
    assert len(ramp) % 2 == 1 and ramp[len(ramp) // 2] == " "
    negatives, positives = ramp[: len(ramp) // 2], ramp[len(ramp) // 2 + 1:]
    assert not set(negatives) & set(positives)
    assert all(len(g) == 1 and g.isascii() for g in ramp)


# --------------------------------------------------------------------------------------------
# tiles and pages


def test_unit_images_reshape_and_pool():
    rng = np.random.default_rng(3)
    W1 = rng.normal(size=(784, 7))
    images = V.unit_images(W1, (28, 28))
    assert images.shape == (7, 28, 28)
    assert np.array_equal(images[4], W1[:, 4].reshape(28, 28))
    pooled = V.unit_images(W1, (28, 28), 2)
    assert pooled.shape == (7, 14, 14)
    assert pooled[4, 3, 5] == pytest.approx(W1[:, 4].reshape(28, 28)[6:8, 10:12].mean())
    with pytest.raises(ValueError):
        V.unit_images(W1[:100], (28, 28))


def test_tile_layout_for_100_units():
    # 14x14 tiles are 14 cells wide and 7 rows tall; the weights view at 80x24 has about 78x13
    small = V.tile_layout(100, 78, 13, 14, 7)
    assert (small.cols, small.rows, small.per_page, small.pages) == (5, 1, 5, 20)
    assert small.units_on_page(19) == range(95, 100)
    assert small.position(3) == (45, 0)
    big = V.tile_layout(100, 118, 37, 28, 14)
    assert (big.cols, big.rows, big.per_page, big.pages) == (4, 2, 8, 13)
    assert big.position(5) == (29, 15)
    assert big.units_on_page(12) == range(96, 100)
    tiny = V.tile_layout(100, 10, 3, 14, 7)
    assert tiny.per_page == 1  # at least one, cropped


def test_auto_zoom_takes_the_largest_tiles_of_which_enough_fit():
    # 80x24 leaves about 13 rows: one row of 5 tiles of 14x14, two rows of 7 tiles of 10x10
    assert V.choose_factor(100, (28, 28), 78, 13, "auto") == 3
    assert V.choose_factor(100, (28, 28), 78, 16, "auto") == 2  # two rows of 14x14 fit
    assert V.choose_factor(100, (28, 28), 118, 37, "auto") == 1
    assert V.choose_factor(100, (28, 28), 118, 37, "half") == 2
    assert V.choose_factor(3, (28, 28), 90, 14, "auto") == 1  # all 3 fit
    assert V.choose_factor(100, (28, 28), 9, 3, "auto") == 3  # nothing fits whole: the smallest
    assert V.pooled_shape((28, 28), 3) == (10, 10)
    with pytest.raises(ValueError):
        V.choose_factor(3, (28, 28), 90, 14, "huge")


def test_plan_pages_mnist_network():
    shapes = {"W1": (784, 100), "b1": (100,), "W2": (100, 10), "b2": (10,)}
    pages = V.plan_pages(shapes, (28, 28), 78, 13, zoom="half")
    tiles = [p for p in pages if p.kind == "tiles"]
    assert len(tiles) == 20 and all(p.stop - p.start == 5 for p in tiles) and tiles[0].factor == 2
    auto = [p for p in V.plan_pages(shapes, (28, 28), 78, 13) if p.kind == "tiles"]
    assert len(auto) == 8 and auto[0].stop == 14 and auto[-1].start == 98 and auto[0].factor == 3
    heat = [p for p in pages if p.kind == "matrix"]
    # W2.T is 10 rows x 100 columns; 78 columns fit a page, so two pages of columns
    assert [(q.layer, q.row0, q.row1, q.col0, q.col1) for p in heat for q in p.panels] == [
        ("W2", 0, 10, 0, 78), ("W2", 0, 10, 78, 100)]


def test_plan_pages_small_matrices_share_a_page():
    shapes = {"W1": (2, 8), "W2": (8, 8), "W3": (8, 2)}
    pages = V.plan_pages(shapes, None, 78, 13)
    assert len(pages) == 1
    panels = pages[0].panels
    assert [p.layer for p in panels] == ["W1", "W2", "W3"]
    assert all(p.whole for p in panels)
    # side by side, not overlapping, within the width; blocks enlarged to use the space
    ends = [p.x + p.width for p in panels]
    assert all(end + V.PANEL_GAP <= nxt.x for end, nxt in zip(ends, panels[1:]))
    assert ends[-1] <= 78 and panels[0].block_w > 1
    assert max(p.shape[1] for p in panels) * panels[0].block_h <= 2 * (13 - 1)


def test_tile_canvas_places_images():
    images = np.arange(3 * 4 * 4, dtype=float).reshape(3, 4, 4)
    layout = V.tile_layout(3, 9, 2, 4, 2)  # 2 across, 1 down
    canvas = V.tile_canvas(images, layout, range(0, 2), 9, 4)
    assert canvas.shape == (4, 9)
    assert np.array_equal(canvas[:, 0:4], images[0]) and np.array_equal(canvas[:, 5:9], images[1])
    assert np.isnan(canvas[:, 4]).all()


# --------------------------------------------------------------------------------------------
# decision regions


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def test_decision_grid_of_a_linear_classifier():
    # class 1 where x + 0.5 y > 0 (scores 0 and 3 (x + 0.5 y))
    def predict(p):
        return _softmax(np.column_stack([np.zeros(len(p)), 3 * (p[:, 0] + 0.5 * p[:, 1])]))

    grid = V.decision_grid(predict, (-2, 2), (-1, 1), 8, 4)
    assert grid.shape == (4, 8, 2)
    assert np.allclose(grid.sum(axis=-1), 1)
    labels, conf = V.class_and_confidence(grid)
    centres = V.grid_points((-2, 2), (-1, 1), 8, 4).reshape(4, 8, 2)
    expected = (centres[..., 0] + 0.5 * centres[..., 1] > 0).astype(int)
    assert np.array_equal(labels, expected)
    assert centres[0, 0, 1] > centres[-1, 0, 1]  # row 0 is the top
    assert labels[0, 3] == 1 and labels[-1, 3] == 0  # x = -0.25: top positive, bottom negative
    # confidence grows away from the boundary
    assert conf[0, 7] > conf[0, 4] and 0 <= conf.min() and conf.max() <= 1


def test_decision_grid_single_output_and_errors():
    grid = V.decision_grid(lambda p: (p[:, 1] > 0).astype(float), (-1, 1), (-1, 1), 3, 2)
    assert grid.shape == (2, 3, 2)
    assert grid[0, :, 1].tolist() == [1, 1, 1] and grid[1, :, 0].tolist() == [1, 1, 1]
    with pytest.raises(ValueError):
        V.decision_grid(lambda p: np.zeros((3, 2)), (-1, 1), (-1, 1), 3, 2)
    with pytest.raises(ValueError):
        V.decision_grid(lambda p: p, (-1, 1), (-1, 1), 0, 2)


def test_data_extent_and_point_cells():
    (x0, x1), (y0, y1) = V.data_extent(np.array([[0.0, 0.0], [10.0, 4.0]]), pad=0.1)
    assert (x0, x1, y0, y1) == pytest.approx((-1, 11, -0.4, 4.4))
    assert V.data_extent() == ((-1.0, 1.0), (-1.0, 1.0))
    (x0, x1), _ = V.data_extent(np.array([[2.0, 1.0], [2.0, 3.0]]))
    assert x0 < 2 < x1  # a zero span is widened
    train = np.array([[-0.9, 0.9], [0.9, -0.9], [5.0, 5.0]])
    test = np.array([[-0.9, 0.9], [0.1, 0.1]])
    kind, cls = V.point_glyph_grid([train, test], [np.array([0, 1, 1]), np.array([1, 0])],
                                   (-1, 1), (-1, 1), 4, 2, 2)
    assert kind.tolist() == [[0, -1, 1, -1], [-1, -1, -1, 0]]  # train wins a shared cell; outside dropped
    assert cls[0, 0] == 0 and cls[1, 3] == 1 and cls[0, 2] == 0
