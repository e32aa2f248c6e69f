"""tui.drawing.regions: the decision regions of a classifier over the plane (no Textual needed)."""

from __future__ import annotations

import numpy as np
import pytest

from tui.drawing import regions

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

    grid = regions.decision_grid(predict, (-2, 2), (-1, 1), 8, 4)
    assert grid.shape == (4, 8, 2)
    assert np.allclose(grid.sum(axis=-1), 1)
    labels, conf = regions.class_and_confidence(grid)
    centres = regions.grid_points((-2, 2), (-1, 1), 8, 4).reshape(4, 8, 2)
    expected = (centres[..., 0] + 0.5 * centres[..., 1] > 0).astype(int)
    assert np.array_equal(labels, expected)
    assert centres[0, 0, 1] > centres[-1, 0, 1]  # row 0 is the top
    assert labels[0, 3] == 1 and labels[-1, 3] == 0  # x = -0.25: top positive, bottom negative
    # confidence grows away from the boundary
    assert conf[0, 7] > conf[0, 4] and 0 <= conf.min() and conf.max() <= 1


def test_decision_grid_single_output_and_errors():
    grid = regions.decision_grid(lambda p: (p[:, 1] > 0).astype(float), (-1, 1), (-1, 1), 3, 2)
    assert grid.shape == (2, 3, 2)
    assert grid[0, :, 1].tolist() == [1, 1, 1] and grid[1, :, 0].tolist() == [1, 1, 1]
    with pytest.raises(ValueError):
        regions.decision_grid(lambda p: np.zeros((3, 2)), (-1, 1), (-1, 1), 3, 2)
    with pytest.raises(ValueError):
        regions.decision_grid(lambda p: p, (-1, 1), (-1, 1), 0, 2)


def test_data_extent_and_point_cells():
    (x0, x1), (y0, y1) = regions.data_extent(np.array([[0.0, 0.0], [10.0, 4.0]]), pad=0.1)
    assert (x0, x1, y0, y1) == pytest.approx((-1, 11, -0.4, 4.4))
    assert regions.data_extent() == ((-1.0, 1.0), (-1.0, 1.0))
    (x0, x1), _ = regions.data_extent(np.array([[2.0, 1.0], [2.0, 3.0]]))
    assert x0 < 2 < x1  # a zero span is widened
    train = np.array([[-0.9, 0.9], [0.9, -0.9], [5.0, 5.0]])
    test = np.array([[-0.9, 0.9], [0.1, 0.1]])
    kind, cls = regions.point_glyph_grid([train, test], [np.array([0, 1, 1]), np.array([1, 0])],
                                   (-1, 1), (-1, 1), 4, 2, 2)
    assert kind.tolist() == [[0, -1, 1, -1], [-1, -1, -1, 0]]  # train wins a shared cell; outside dropped
    assert cls[0, 0] == 0 and cls[1, 3] == 1 and cls[0, 2] == 0
