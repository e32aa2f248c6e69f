"""Backprop against the numerical gradient, on every activation x output/loss x init and depths 1 to 3."""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.gradcheck import gradient_check
from core.layers import OUTPUT_LOSS_PAIRS
from core.network import ACTIVATIONS, MLP

INITS = [0.5, "xavier", "he"]
COMBINATIONS = list(itertools.product(ACTIVATIONS, OUTPUT_LOSS_PAIRS, INITS))


@st.composite
def problems(draw):
    depth = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 6), min_size=depth + 1, max_size=depth + 1))
    sizes[-1] = max(sizes[-1], 2)
    batch = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    decay = draw(st.sampled_from([0.0, 0.1]))
    return sizes, batch, seed, decay


@pytest.mark.parametrize("activation, output_loss, init", COMBINATIONS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_backprop_matches_numerical_gradient(activation, output_loss, init, problem):
    sizes, batch, seed, decay = problem
    output, loss = output_loss
    net = MLP(sizes, activation, output, loss, weight_init=init, weight_decay=decay, seed=seed, log_delta=0.0)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]))
    t = rng.integers(0, sizes[-1], batch)
    result = gradient_check(net, x, t)
    assert [row.name for row in result.rows] == list(net.params)
    for row in result.rows:
        # entries whose perturbation crossed a ReLU kink are judged apart (see test_gradcheck)
        assert row.unexplained_error <= 1e-7, (row, result.notes)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_with_the_delta_the_exact_derivative_matches(activation):
    """With the notebook's delta in log(), backprop's textbook gradient is off by the delta's share;
    differentiating the loss with the delta in it closes the gap."""
    net = MLP([6, 5, 4], activation, weight_init="he", seed=3)
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((4, 6)), rng.integers(0, 4, 4)
    numeric = net.numerical_gradient(x, t, h=1e-5)
    textbook = {k: v.copy() for k, v in net.gradient(x, t).items()}
    exact = net.gradient(x, t, include_delta=True)
    for name in net.params:
        scale = np.maximum(np.abs(numeric[name]), 1e-8)
        assert np.max(np.abs(exact[name] - numeric[name]) / scale) <= 1e-7
        assert np.max(np.abs(textbook[name] - numeric[name]) / scale) > 1e-8  # the delta is visible


def test_float32_gradient_agrees_with_float64():
    net64 = MLP([8, 6, 3], "tanh", weight_init="xavier", seed=1)
    net32 = net64.astype("float32")
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((5, 8)), rng.integers(0, 3, 5)
    g64 = net64.gradient(x, t)
    g32 = net32.gradient(x.astype(np.float32), t)
    for name in g64:
        assert g32[name].dtype == np.float32
        np.testing.assert_allclose(g32[name], g64[name], rtol=1e-4, atol=1e-6)
