"""Curves: a run's series turned into what a plot draws (no Textual, no Rich, only NumPy).

`downsample` a series to about twice the plot's width before plotting (the cost of a plotext
redraw grows with the points), `DebiasedEMA` / `ema_debiased` to smooth a noisy loss,
`nice_ticks` / `log_ticks` and `tick_label` for round axis labels.
"""

from __future__ import annotations

import math

import numpy as np


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
