"""The MLP: construction, bad input, predictions, weight decay, dtypes, and learning a small problem."""

import numpy as np
import pytest

from core import layers
from core.network import ACTIVATIONS, MLP


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(sizes=[4]), "at least an input and an output"),
        (dict(sizes=[4, 0, 2]), ">= 1"),
        (dict(sizes=[4, 2.5, 2]), ">= 1"),
        (dict(sizes=[4, 2], activation="swish"), "relu, leaky_relu, sigmoid, tanh"),
        (dict(sizes=[4, 2], output="linear"), "softmax, sigmoid, identity"),
        (dict(sizes=[4, 2], loss="hinge"), "cross_entropy, sum_squared"),
        (dict(sizes=[4, 2], output="identity", loss="cross_entropy"), "identity output"),
        (dict(sizes=[4, 2], weight_init="glorot"), "xavier, he"),
        (dict(sizes=[4, 2], weight_init=-1.0), "positive"),
        (dict(sizes=[4, 2], weight_init=float("nan")), "positive"),
        (dict(sizes=[4, 2], weight_decay=float("inf")), "weight_decay"),
        (dict(sizes=[4, 2], dtype="float16"), "float32, float64"),
    ],
)
def test_bad_settings_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        MLP(**kwargs)


def test_mismatched_input_names_both_shapes():
    net = MLP([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match=r"\(batch, 4\).*\(5, 3\)"):
        net.loss(np.zeros((5, 3)), np.zeros(5, dtype=int))


def test_mismatched_targets_name_both_shapes():
    net = MLP([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match=r"\(4,\).*\(5, 2\)"):
        net.loss(np.zeros((5, 4)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="0..1"):
        net.loss(np.zeros((2, 4)), np.array([0, 7]))


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint64", "float64"])
@pytest.mark.parametrize("bad", [-1, 3, 200])
def test_labels_outside_the_classes_are_refused_in_every_integer_type(dtype, bad):
    net = MLP([4, 3, 3], seed=0)
    x = np.zeros((3, 4))
    assert net.loss(x, np.array([0, 1, 2], dtype=dtype)) > 0
    if bad < 0 and dtype.startswith("uint"):
        return  # no negative label to write in an unsigned type
    labels = np.array([0, bad, 2]).astype(dtype)
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        net.loss(x, labels)
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        net.gradient(x, labels)


def test_params_ordered_and_initialised():
    net = MLP([784, 100, 50, 10], weight_init="he", seed=0)
    assert list(net.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert net.params["W2"].std() == pytest.approx(np.sqrt(2 / 100), rel=0.05)
    assert not net.params["b1"].any()
    assert MLP([784, 100, 10], weight_init="xavier", seed=0).params["W1"].std() == pytest.approx(np.sqrt(1 / 784), rel=0.02)
    assert MLP([784, 100, 10], seed=0).params["W1"].std() == pytest.approx(0.01, rel=0.02)


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = MLP([5, 4, 3], seed=7), MLP([5, 4, 3], seed=7), MLP([5, 4, 3], seed=8)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_predict_gives_probabilities_and_a_fresh_array():
    net = MLP([3, 4, 5], seed=0)
    x = np.random.default_rng(0).standard_normal((6, 3))
    y1 = net.predict(x)
    y2 = net.predict(x * 2)
    np.testing.assert_allclose(y1.sum(axis=1), 1.0)
    assert not np.shares_memory(y1, y2) and not np.allclose(y1, y2)


def test_accuracy_labels_and_one_hot_agree():
    net = MLP([3, 4, 5], seed=0)
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((50, 3)), rng.integers(0, 5, 50)
    expected = np.mean(net.predict(x).argmax(axis=1) == t)
    assert net.accuracy(x, t) == expected == net.accuracy(x, np.eye(5)[t])
    assert net.accuracy(x, t, batch_size=7) == expected


def test_weight_decay_adds_to_loss_and_gradient():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 3)), rng.integers(0, 2, 4)
    plain = MLP([3, 4, 2], seed=1)
    decayed = MLP([3, 4, 2], seed=1, weight_decay=0.5)
    squares = sum(np.sum(plain.params[k] ** 2) for k in ("W1", "W2"))
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + 0.25 * squares)
    g_plain = {k: v.copy() for k, v in plain.gradient(x, t).items()}
    g_decay = decayed.gradient(x, t)
    np.testing.assert_allclose(g_decay["W1"], g_plain["W1"] + 0.5 * plain.params["W1"])
    np.testing.assert_allclose(g_decay["b1"], g_plain["b1"])


def test_float32_end_to_end():
    net = MLP([4, 3, 2], dtype="float32", seed=0)
    grads = net.gradient(np.ones((2, 4), np.float32), np.array([0, 1]))
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("activation, names", [
    ("relu", ["Affine1", "Relu1", "Affine2", "Relu2", "Affine3"]),
    ("leaky_relu", ["Affine1", "LeakyRelu1", "Affine2", "LeakyRelu2", "Affine3"]),
    ("sigmoid", ["Affine1", "Sigmoid1", "Affine2", "Sigmoid2", "Affine3"]),
    ("tanh", ["Affine1", "Tanh1", "Affine2", "Tanh2", "Affine3"]),
])
def test_layers_are_named_in_order_as_in_the_book(activation, names):
    net = MLP([5, 4, 3, 2], activation, seed=0)
    assert list(net.layers) == names
    for i in (1, 2, 3):  # each Affine layer holds the network's own W and b, which optimizers update
        assert net.layers[f"Affine{i}"].W is net.params[f"W{i}"] and net.layers[f"Affine{i}"].b is net.params[f"b{i}"]
    assert all(isinstance(net.layers[name], ACTIVATIONS[activation]) for name in names[1::2])
    assert (net.last_layer.output, net.last_layer.loss) == ("softmax", "cross_entropy")  # kept apart, as the book's


def test_set_params_copies_into_the_shared_arrays():
    net = MLP([3, 2], seed=0)
    W = net.params["W1"]
    net.set_params({"W1": np.ones((3, 2)), "b1": np.zeros(2)})
    assert net.params["W1"] is W and np.all(W == 1)
    assert np.all(net.layers["Affine1"].W == 1)
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        net.set_params({"W1": np.ones((2, 2)), "b1": np.zeros(2)})


def test_buffers_are_reused_across_steps_of_one_batch_shape():
    net = MLP([6, 5, 3], seed=0)
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    first = net.gradient(x, t)
    ids = {k: id(v) for k, v in first.items()}
    hidden = id(net.layers["Affine1"].out)
    second = net.gradient(x + 1, t)
    assert {k: id(v) for k, v in second.items()} == ids and id(net.layers["Affine1"].out) == hidden


def test_sgd_backprop_learns_a_small_problem():
    """Two interleaved classes on a ring need the hidden layer; plain SGD on backprop must fit them."""
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, 400)
    t = (np.sin(3 * angle) > 0).astype(int)
    x = np.c_[np.cos(angle), np.sin(angle)] * rng.uniform(0.8, 1.2, (400, 1))
    net = MLP([2, 32, 2], "tanh", weight_init="xavier", seed=0)
    start = net.loss(x, t)
    for _ in range(2000):
        grads = net.gradient(x, t)
        for name in net.params:
            net.params[name] -= 0.5 * grads[name]
    assert start > 0.6 and net.loss(x, t) < 0.15
    assert net.accuracy(x, t) > 0.95


@pytest.mark.parametrize("output, loss", [("identity", "sum_squared"), ("sigmoid", "sum_squared"), ("sigmoid", "cross_entropy")])
def test_other_outputs_learn_too(output, loss):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 2))
    t = (x[:, 0] + x[:, 1] > 0).astype(int)
    net = MLP([2, 8, 2], "relu", output, loss, weight_init="he", seed=1)
    for _ in range(500):
        grads = net.gradient(x, t)
        for name in net.params:
            net.params[name] -= 0.2 * grads[name]
    assert net.accuracy(x, t) > 0.9


def test_sigmoid_cross_entropy_only_pushes_the_true_class():
    last = layers.OutputWithLoss("sigmoid", "cross_entropy")
    last.forward(np.array([[0.0, 2.0, -1.0]]), np.array([1]))
    da = last.backward()
    assert da[0, 0] == 0 and da[0, 2] == 0 and da[0, 1] < 0
