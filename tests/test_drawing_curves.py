"""tui.drawing.curves: downsampling, smoothing and axis ticks of the plots (no Textual needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui.drawing import curves

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
    xs, ys = curves.downsample(x, y, 2 * width)
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
    xs, ys = curves.downsample(x, y, 100, method="mean")
    assert len(xs) == 100
    assert np.allclose(ys, 2 * xs)  # means of a straight line lie on it
    assert ys.mean() == pytest.approx(y.mean())
    short_x, short_y = curves.downsample(x[:50], y[:50], 100)
    assert np.array_equal(short_x, x[:50]) and np.array_equal(short_y, y[:50])


def test_downsample_rejects_bad_input():
    with pytest.raises(ValueError):
        curves.downsample(np.arange(3), np.arange(4), 10)
    with pytest.raises(ValueError):
        curves.downsample(np.arange(3), np.arange(3), 1)
    with pytest.raises(ValueError):
        curves.downsample(np.arange(3), np.arange(3), 10, method="median")


def test_finite_xy_drops_nan_and_nonpositive_for_log():
    x, y = curves.finite_xy([1, 2, 3, 4], [1.0, np.nan, 0.0, np.inf])
    assert x.tolist() == [1, 3] and y.tolist() == [1.0, 0.0]
    x, y = curves.finite_xy([1, 2, 3, 4], [1.0, np.nan, 0.0, np.inf], positive=True)
    assert x.tolist() == [1] and y.tolist() == [1.0]


# --------------------------------------------------------------------------------------------
# debiased EMA


def test_ema_debiased_first_values_by_hand():
    beta = 0.9
    out = curves.ema_debiased([1.0, 2.0, 3.0], beta)
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
    whole = curves.ema_debiased(values, 0.95)
    ema = curves.DebiasedEMA(0.95)
    parts = np.concatenate([ema.extend(values[:123]), ema.extend(values[123:400]), ema.extend(values[400:])])
    assert np.allclose(parts, whole)
    # a skipped step: value at step 3 after step 1 equals the series with that value repeated at step 2
    skipped = curves.ema_debiased([1.0, 5.0], 0.9, steps=[1, 3])
    repeated = curves.ema_debiased([1.0, 5.0, 5.0], 0.9)
    assert skipped[-1] == pytest.approx(repeated[-1])


def test_ema_skips_non_finite():
    out = curves.ema_debiased([1.0, np.nan, 1.0, np.inf], 0.9)
    assert math.isnan(out[1]) and math.isnan(out[3])
    assert out[0] == pytest.approx(1.0) and out[2] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        curves.DebiasedEMA(1.0)


def test_ticks_are_round():
    assert curves.nice_ticks(0, 1000, 5) == [0, 200, 400, 600, 800, 1000]
    assert curves.nice_ticks(1, 799, 4) == [200, 400, 600]
    assert curves.log_ticks(0.05, 3) == pytest.approx([0.05, 0.1, 0.2, 0.5, 1, 2])
    assert curves.tick_label(12000) == "12k" and curves.tick_label(250) == "250"
    assert curves.tick_label(0) == "0"
