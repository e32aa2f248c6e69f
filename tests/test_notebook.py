"""Every value the notebook (../shared/seed) and the book print, recomputed by core."""

from decimal import Decimal, localcontext

import numpy as np
import pytest

from core.functions import cross_entropy_error, softmax, sum_squared_error
from core.gradient import gradient_descent, numerical_gradient
from core.network import SimpleNet, TwoLayerNet
from tests.printed import agrees_to_printed_digits

T = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
Y_RIGHT = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
Y_WRONG = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])


def test_printed_digit_comparison_can_fail():
    assert agrees_to_printed_digits(0.5975, "0.5975")
    assert not agrees_to_printed_digits(0.5976, "0.5975")
    assert not agrees_to_printed_digits(1.8025255257964150, "1.802525525796413")
    assert not agrees_to_printed_digits(16.11809565095832, "16.118095650958317")
    assert agrees_to_printed_digits(16.11809565095832, "16.118095650958317", ulps=1)
    assert not agrees_to_printed_digits(16.118095650958324, "16.118095650958317", ulps=1)


@pytest.mark.parametrize("y, printed", [(Y_RIGHT, "0.09750000000000003"), (Y_WRONG, "0.5975")])
def test_sum_squared_error(y, printed):
    assert agrees_to_printed_digits(sum_squared_error(y, T), printed)


def correctly_rounded_minus_log(v: float) -> float:
    """-ln(v) to 40 digits, then rounded once to a double."""
    with localcontext() as ctx:
        ctx.prec = 40
        return float(-Decimal(v).ln())


def test_cross_entropy_error_right_answer():
    assert agrees_to_printed_digits(cross_entropy_error(Y_RIGHT, T), "0.510825457099338")


# Three of the notebook's printed values sit one unit in the last place (ulp) below the correctly
# rounded result: its log() was off by an ulp. We compute -log correctly rounded (asserted against
# 40-digit arithmetic) and agree with the notebook to within that one ulp.
def test_cross_entropy_error_wrong_answer():
    value = cross_entropy_error(Y_WRONG, T)
    assert value == correctly_rounded_minus_log(0.1 + 1e-7)
    assert agrees_to_printed_digits(value, "2.3025840929945454", ulps=1)


def test_cross_entropy_docstring_examples():
    value = cross_entropy_error(np.array([1, 0, 0]), np.array([0, 1, 0]))
    assert value == correctly_rounded_minus_log(1e-7)
    assert agrees_to_printed_digits(value, "16.118095650958317", ulps=1)
    y = np.array([[1, 0, 0], [0, 0, 1]])
    for t in (np.array([[0, 1, 0], [0, 0, 1]]), np.array([1, 2])):
        assert agrees_to_printed_digits(cross_entropy_error(y, t), "8.059047775479161", ulps=1)
    # the cause, replayed: the notebook's -log(1e-7), one ulp low, averaged with -log(1 + 1e-7)
    notebook_log = np.nextafter(correctly_rounded_minus_log(1e-7), 0)
    assert repr(float((notebook_log - np.log(1 + 1e-7)) / 2)) == "8.059047775479161"


def test_numerical_gradient_of_sum_of_squares():
    x = np.array([3.0, 4.0])
    grad = numerical_gradient(lambda v: v[0] ** 2 + v[1] ** 2, x)
    np.testing.assert_allclose(grad, [6.0, 8.0], rtol=0, atol=1e-9)
    assert x.tolist() == [3.0, 4.0]  # restored after the perturbations


def test_numerical_gradient_any_shape_restores_x():
    x = np.arange(6, dtype=float).reshape(2, 3)
    grad = numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_allclose(grad, 3 * x ** 2, atol=1e-6)
    assert np.array_equal(x, np.arange(6, dtype=float).reshape(2, 3))


def test_gradient_descent_from_minus_3_4():
    x = gradient_descent(lambda v: v[0] ** 2 + v[1] ** 2, np.array([-3.0, 4.0]), lr=0.01, num_steps=1000)
    assert agrees_to_printed_digits(x[0], "-5.04890207e-09")
    assert agrees_to_printed_digits(x[1], "6.73186943e-09")


def test_simple_net_loss():
    net = SimpleNet()
    assert agrees_to_printed_digits(net.loss(np.array([0.6, 0.9]), np.array([0, 0, 1])), "1.802525525796413")


def test_book_simple_net_fixture():
    net = SimpleNet([[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]])
    x, t = np.array([0.6, 0.9]), np.array([0, 0, 1])
    assert net.loss(x, t) == pytest.approx(0.92806853663411326, abs=1e-6)
    expected = [[0.21924763, 0.14356247, -0.36281009], [0.32887144, 0.2153437, -0.54421514]]
    np.testing.assert_allclose(net.numerical_gradient(x, t), expected, atol=1e-6)


def test_softmax_rows_sum_to_one_and_survive_large_inputs():
    y = softmax(np.array([[1010.0, 1000.0, 990.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    np.testing.assert_allclose(y[1], 1 / 3)
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_two_layer_net_shapes(output):
    net = TwoLayerNet(input_size=784, hidden_size=100, output_size=10, output=output, seed=0)
    shapes = {name: p.shape for name, p in net.params.items()}
    assert shapes == {"W1": (784, 100), "b1": (100,), "W2": (100, 10), "b2": (10,)}
    rng = np.random.default_rng(0)
    x, t = rng.random((3, 784)), rng.integers(0, 10, 3)
    grads = net.gradient(x, t)
    assert {name: g.shape for name, g in grads.items()} == shapes


def test_two_layer_net_numerical_gradient_shapes_small():
    # the notebook's call, on a smaller input so the slow method stays quick
    net = TwoLayerNet(input_size=20, hidden_size=10, output_size=10, output="sigmoid", seed=0)
    rng = np.random.default_rng(0)
    x, t = rng.random((10, 20)), rng.random((10, 10))
    grads = net.numerical_gradient(x, t)
    assert {name: g.shape for name, g in grads.items()} == {"W1": (20, 10), "b1": (10,), "W2": (10, 10), "b2": (10,)}


def test_two_layer_net_is_an_mlp():
    from core.network import MLP

    net = TwoLayerNet(4, 3, 2, seed=0)
    assert isinstance(net, MLP) and net.sizes == (4, 3, 2) and net.activation == "sigmoid"
