"""Facts a hand-made mutation of the code once slipped past the whole suite: each is pinned here.

ReLU's kink at exactly 0 takes the 0 side (as its docstring says); a gradient check leaves the
network as it found it, bit for bit; He's standard deviation is sqrt(2 / fan_in). The fourth, an
epoch's batches covering every training row exactly once, is in tests/test_sampler.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.gradcheck import gradient_check
from core.layers import ReLU
from core.network import MLP, init_std


def test_relu_passes_no_gradient_back_at_exactly_zero():
    relu = ReLU()
    relu.forward(np.array([[-1.0, 0.0, 2.0, -0.0]]))
    np.testing.assert_array_equal(relu.backward(np.ones((1, 4))), [[0.0, 0.0, 1.0, 0.0]])


def test_a_gradient_check_leaves_the_network_bit_identical():
    rng = np.random.default_rng(0)
    net = MLP((6, 5, 4, 3), weight_init="he", seed=1)
    x, t = rng.normal(size=(7, 6)), rng.integers(0, 3, 7)
    before = {name: p.copy() for name, p in net.params.items()}
    predicted = net.predict(x).copy()
    gradient_check(net, x, t, sample=None, seed=0)
    for name, p in net.params.items():
        assert p.tobytes() == before[name].tobytes(), name
    assert net.predict(x).tobytes() == predicted.tobytes()


@pytest.mark.parametrize("fan_in", [1, 2, 50, 784])
def test_he_and_xavier_scale_by_the_fan_in(fan_in):
    assert init_std("he", fan_in) == math.sqrt(2 / fan_in)
    assert init_std("xavier", fan_in) == math.sqrt(1 / fan_in)


def test_each_layer_is_drawn_with_he_deviation_of_its_own_fan_in():
    net = MLP((400, 900, 100), weight_init="he", seed=3)
    # 360,000 and 90,000 draws: their standard deviation is within 0.5% of the true one
    assert net.params["W1"].std() == pytest.approx(math.sqrt(2 / 400), rel=0.005)
    assert net.params["W2"].std() == pytest.approx(math.sqrt(2 / 900), rel=0.008)
