"""The layer-aware ("fast") numerical gradient against the book's ("naive") one: the same central
differences within 1e-10 in float64, for every depth, activation, output/loss, batch size, zeros and decay;
cancellation, progress, and parameters left bit for bit as they were."""


import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import numerical
from core.datasets import load_dataset
from core.layers import OUTPUT_LOSS_PAIRS
from core.network import ACTIVATIONS, MLP
from core.numerical import Cancelled, fast_numerical_gradient, naive_numerical_gradient, network_numerical_gradient

TOLERANCE = 1e-10
H = 1e-4


def tolerance(net, x, t, h=H) -> float:
    """1e-10; or, for a large loss, the naive method's own rounding noise: each of its two losses is
    rounded to about eps |L|, so its differences carry about eps |L| / h (2.2e-12 |L| for h = 1e-4).
    Up to |L| ~ 11 (cross-entropy is ~2.3 untrained) that is below 1e-10 and the bound is 1e-10."""
    return max(TOLERANCE, 4 * np.finfo(np.float64).eps * abs(net.loss(x, t)) / h)


def max_difference(a: dict, b: dict) -> float:
    assert list(a) == list(b)
    for name in a:
        assert a[name].shape == b[name].shape and a[name].dtype == b[name].dtype, name
    return max(float(np.max(np.abs(a[name] - b[name]))) for name in a)


def both(net, x, t, **kwargs):
    return naive_numerical_gradient(net, x, t, **kwargs), fast_numerical_gradient(net, x, t, **kwargs)


def snapshot(net) -> dict[str, bytes]:
    return {name: param.tobytes() for name, param in net.params.items()}


@st.composite
def problems(draw):
    depth = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 6), min_size=depth + 1, max_size=depth + 1))
    sizes[-1] = max(sizes[-1], 2)
    batch = draw(st.sampled_from([1, 1, 2, 3, 7]))
    zeros = draw(st.sampled_from([0.0, 0.7, 0.7, 1.0]))  # the fraction of inputs that are exactly 0
    init = draw(st.sampled_from([0.01, 0.5, "xavier", "he"]))
    decay = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0]))
    seed = draw(st.integers(0, 2**16))
    return sizes, batch, zeros, init, decay, seed


@pytest.mark.parametrize("output, loss", OUTPUT_LOSS_PAIRS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_fast_equals_naive(activation, output, loss, problem):
    sizes, batch, zeros, init, decay, seed = problem
    net = MLP(sizes, activation, output, loss, weight_init=init, weight_decay=decay, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]))
    x[rng.random(x.shape) < zeros] = 0
    t = rng.integers(0, sizes[-1], batch)
    naive, fast = both(net, x, t)
    assert max_difference(naive, fast) <= tolerance(net, x, t)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_mnist_rows_deeper_network(activation):
    """Real digits (about 80% of the pixels are 0) through two hidden layers, one-hot targets."""
    data = load_dataset("mnist-sample")
    x = data.x_train[:6].astype(np.float64)
    t = np.eye(10)[data.t_train[:6]]
    net = MLP([784, 5, 4, 10], activation, weight_init="he", weight_decay=0.01, seed=1)
    naive, fast = both(net, x, t)
    assert max_difference(naive, fast) <= TOLERANCE
    blank = ~(x != 0).any(axis=0)  # pixels that are 0 in every row: only the decay's wd * w is left
    assert blank.any()
    np.testing.assert_allclose(fast["W1"][blank], net.weight_decay * net.params["W1"][blank], rtol=0, atol=TOLERANCE)


def test_a_blank_input_gives_exactly_zero_without_decay():
    net = MLP([4, 3, 2], "tanh", seed=0)
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((5, 4)), rng.integers(0, 2, 5)
    x[:, 1] = 0
    naive, fast = both(net, x, t)
    assert np.all(fast["W1"][1] == 0) and np.all(naive["W1"][1] == 0)
    assert np.all(fast["W1"][0] != 0)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_kinks_are_crossed_like_the_naive_method(activation):
    # every hidden pre-activation at exactly 0: all-zero inputs for b1's nudges; negative inputs and
    # zero weights for W1's, whose +h nudge keeps a ReLU off while the -h nudge turns it on
    for x in (np.zeros((2, 3)), -np.ones((2, 3))):
        net = MLP([3, 4, 2], activation, seed=0)
        net.params["W1"][:] = 0
        t = np.array([0, 1])
        naive, fast = both(net, x, t)
        assert max_difference(naive, fast) <= TOLERANCE
        assert np.all(fast["b1"] != 0)
        assert x.any() == np.all(fast["W1"] != 0)


def test_larger_batch_spans_several_chunks(monkeypatch):
    monkeypatch.setattr(numerical, "CHUNK_WORK", 1000)  # a few pairs per chunk
    net = MLP([6, 5, 3], "tanh", "softmax", weight_init="xavier", weight_decay=0.1, seed=2)
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    naive, fast = both(net, x, t)
    assert max_difference(naive, fast) <= TOLERANCE


@pytest.mark.parametrize("output, loss", OUTPUT_LOSS_PAIRS)
def test_huge_nudges_of_large_weights(output, loss):
    """Scores moved by hundreds: the softmax must shift the perturbed rows by their own maximum."""
    net = MLP([4, 3, 3], "tanh", output, loss, weight_init=20.0, seed=7)
    rng = np.random.default_rng(7)
    x, t = 10 * rng.standard_normal((3, 4)), rng.integers(0, 3, 3)
    naive, fast = both(net, x, t, h=30.0)
    scale = max(float(np.max(np.abs(g))) for g in naive.values())
    assert np.isfinite(scale) and max_difference(naive, fast) <= 1e-12 * max(scale, 1.0)


def test_float32_network_computes_in_float32():
    net64 = MLP([6, 5, 3], "tanh", weight_init="xavier", seed=3, log_delta=0)
    net32 = net64.astype("float32")
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    reference = net64.numerical_gradient(x, t)
    naive, fast = both(net32, x.astype(np.float32), t)
    for name in reference:
        assert fast[name].dtype == naive[name].dtype == np.float32
        # float32 rounding of the loss, divided by 2h, is ~1e-3: the naive method is the noisier one
        np.testing.assert_allclose(fast[name], reference[name], atol=2e-3)
        np.testing.assert_allclose(naive[name], reference[name], atol=1e-2)


def test_the_networks_own_method_is_the_books():
    """MLP.numerical_gradient is core.gradient.numerical_gradient on every parameter, as the book
    writes it: the naive method's very bits, and within 1e-10 of the fast one."""
    net = MLP([4, 3, 2], "relu", weight_init="he", weight_decay=0.1, seed=8)
    rng = np.random.default_rng(8)
    x, t = rng.standard_normal((3, 4)), rng.integers(0, 2, 3)
    books = net.numerical_gradient(x, t)
    naive, fast = both(net, x, t)
    assert {name: g.tobytes() for name, g in books.items()} == {name: g.tobytes() for name, g in naive.items()}
    assert max_difference(books, fast) <= TOLERANCE


def test_fast_is_the_default(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the naive method was used")

    monkeypatch.setitem(numerical.METHODS, "naive", refuse)
    net = MLP([3, 2], seed=0)
    network_numerical_gradient(net, np.ones((1, 3)), np.array([1]))


@pytest.mark.parametrize("method", ["naive", "fast"])
def test_parameters_are_left_bit_for_bit(method):
    net = MLP([5, 4, 3], "sigmoid", weight_init=0.7, weight_decay=0.1, seed=4)
    net.params["W1"][0, 0] = 0.1 + 1e-17  # a value for which (w + h) - h is not w
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((3, 5)), rng.integers(0, 3, 3)
    before = snapshot(net)
    grads = network_numerical_gradient(net, x, t, method=method)
    assert snapshot(net) == before
    assert not any(np.shares_memory(grads[name], net.params[name]) for name in grads)


@pytest.mark.parametrize("method", ["naive", "fast"])
def test_cancel_raises_and_leaves_the_parameters(method):
    net = MLP([30, 10, 3], seed=5)
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal((8, 30)), rng.integers(0, 3, 8)
    before = snapshot(net)
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        network_numerical_gradient(net, x, t, method=method, should_stop=should_stop)
    assert len(calls) == 3  # stopped at the first True
    assert snapshot(net) == before
    assert issubclass(Cancelled, Exception)


def test_fast_asks_should_stop_between_chunks_and_stops_at_once():
    """The session pauses within 100 ms because this method asks between chunks of about CHUNK_WORK
    operations (benchmarks/bench_latency.py prints the longest gap); a True answer ends it there."""
    data = load_dataset("mnist-sample")
    net = MLP([784, 50, 10], seed=0)
    x, t = data.x_train[:100].astype(np.float64), data.t_train[:100]
    asked = 0

    def count():
        nonlocal asked
        asked += 1
        return False

    fast_numerical_gradient(net, x, t, should_stop=count)
    assert asked >= 50 + 10  # at least once per unit of each layer

    for stop_at in (1, asked // 2, asked):
        calls = 0

        def stop_at_call():
            nonlocal calls
            calls += 1
            return calls == stop_at

        with pytest.raises(Cancelled):
            fast_numerical_gradient(net, x, t, should_stop=stop_at_call)
        assert calls == stop_at


@pytest.mark.parametrize("method", ["naive", "fast"])
def test_progress_counts_entries_to_the_end(method):
    net = MLP([20, 6, 4], seed=6)
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((3, 20)), rng.integers(0, 4, 3)
    seen = []
    network_numerical_gradient(net, x, t, method=method, progress=lambda done, total: seen.append((done, total)))
    total = sum(param.size for param in net.params.values())
    assert len(seen) >= 2 and all(total_ == total for _, total_ in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == total and done[0] < total


def test_bad_arguments():
    net = MLP([3, 2], seed=0)
    x, t = np.ones((1, 3)), np.array([1])
    with pytest.raises(ValueError, match="fast, naive"):
        network_numerical_gradient(net, x, t, method="quick")
    with pytest.raises(ValueError, match="h must be"):
        network_numerical_gradient(net, x, t, h=0)
    for method in numerical.METHODS:
        with pytest.raises(ValueError, match=r"\(batch, 3\)"):
            network_numerical_gradient(net, np.ones((1, 4)), t, method=method)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        net.numerical_gradient(np.ones((1, 4)), t)
