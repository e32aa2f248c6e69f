"""Decision regions: a classifier over the plane turned into a picture (no Textual, no Rich,
only NumPy).

`data_extent` finds the plane's extent from the data; `decision_grid` evaluates a classifier over
a grid of it; `class_and_confidence` colours each cell; `point_glyph_grid` places the data points
on the same grid.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


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
