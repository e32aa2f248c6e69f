"""The last layers: the book's SoftmaxWithLoss by default, one small class per output and loss."""

import inspect

import numpy as np
import pytest

from core import layers
from core.functions import CROSS_ENTROPY_DELTA, cross_entropy_error, softmax
from core.gradient import numerical_gradient
from core.network import MLP


def batch(seed=0, n=4, k=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, k)), rng.integers(0, k, n)


def test_softmax_with_loss_is_the_default_last_layer():
    assert type(layers.OutputWithLoss()) is layers.SoftmaxWithLoss
    assert type(MLP([3, 2], seed=0).last_layer) is layers.SoftmaxWithLoss


def test_each_output_and_loss_has_its_own_class():
    for (output, loss), cls in layers.OUTPUT_LAYERS.items():
        last = layers.OutputWithLoss(output, loss)
        assert type(last) is cls and (last.output, last.loss) == (output, loss)
    assert len(set(layers.OUTPUT_LAYERS.values())) == len(layers.OUTPUT_LOSS_PAIRS) == 5


@pytest.mark.parametrize("one_hot", [False, True])
def test_softmax_with_loss_is_the_books(one_hot):
    """forward: softmax, then the notebook's cross-entropy (delta 1e-7 in the log); backward: (y - t) / batch_size."""
    a, labels = batch()
    t = np.eye(3)[labels] if one_hot else labels
    last = layers.SoftmaxWithLoss()
    assert last.delta == CROSS_ENTROPY_DELTA == 1e-7
    y = softmax(a)
    assert last.forward(a, t) == pytest.approx(cross_entropy_error(y, t), rel=1e-15)
    np.testing.assert_allclose(last.backward(), (y - np.eye(3)[labels]) / len(a), rtol=0, atol=1e-16)


@pytest.mark.parametrize("output, loss", layers.OUTPUT_LOSS_PAIRS)
def test_backward_is_the_derivative_of_forward(output, loss):
    """With a delta large enough to show (1e-2), `include_delta=True` matches the loss's numerical
    derivative; the textbook gradient matches it only where there is no delta to leave out."""
    a, t = batch(1)
    last = layers.OutputWithLoss(output, loss, delta=1e-2)
    numeric = numerical_gradient(lambda _: last.forward(a, t), a)  # perturbs a in place
    last.forward(a, t)
    textbook = last.backward().copy()
    exact = last.backward(include_delta=True)
    np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-9)
    if loss == "cross_entropy":
        assert np.max(np.abs(textbook - numeric)) > 1e-4
    else:
        np.testing.assert_array_equal(textbook, exact)


def test_the_delta_is_the_networks_log_delta():
    assert MLP([3, 2], log_delta=0.0, seed=0).last_layer.delta == 0.0
    assert MLP([3, 2], "tanh", "sigmoid", "sum_squared", seed=0).last_layer.delta == CROSS_ENTROPY_DELTA


def test_a_pair_that_does_not_go_together_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="identity output cannot be used with the cross-entropy"):
        layers.OutputWithLoss("identity", "cross_entropy")
    with pytest.raises(ValueError, match="unknown output 'tanh'; choose one of softmax, sigmoid, identity"):
        layers.OutputWithLoss("tanh", "cross_entropy")
    with pytest.raises(ValueError, match="unknown loss 'hinge'; choose one of cross_entropy, sum_squared"):
        layers.OutputWithLoss("softmax", "hinge")


def test_a_returned_gradient_is_a_buffer_that_the_next_call_overwrites():
    """As the module's docstring states: callers that keep a gradient copy it."""
    last = layers.SoftmaxWithLoss()
    a, t = batch(2)
    last.forward(a, t)
    first = last.backward()
    kept = first.copy()
    last.forward(a + 1, t[::-1])
    assert last.backward() is first and not np.array_equal(first, kept)


LAYER_CLASSES = [cls for cls in vars(layers).values()
                 if inspect.isclass(cls) and cls.__module__ == "core.layers" and hasattr(cls, "backward")]


@pytest.mark.parametrize("cls", LAYER_CLASSES, ids=lambda cls: cls.__name__)
def test_each_layer_states_its_formula_first_and_what_backward_returns(cls):
    first_line = cls.__doc__.splitlines()[0]
    assert "=" in first_line and "Backward:" in first_line
    assert "buffer" in cls.backward.__doc__ or "into `dout` itself" in cls.backward.__doc__
