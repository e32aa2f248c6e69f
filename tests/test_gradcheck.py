"""The gradient check: verdicts, kinks, the delta floor, sampling, and catching a wrong backprop."""

import numpy as np
import pytest

from core import layers, numerical
from core.gradcheck import GradCheckCancelled, gradient_check, verdict
from core.network import MLP


def batch(net, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, net.sizes[0])), rng.integers(0, net.sizes[-1], n)


@pytest.mark.parametrize(
    "error, expected",
    [(0.0, "good"), (1e-7, "good"), (2e-7, "acceptable"), (1e-4, "acceptable"), (1e-3, "suspicious"), (0.5, "wrong")],
)
def test_verdict_bands(error, expected):
    assert verdict(error) == expected


def test_correct_backprop_is_good_with_one_row_per_parameter():
    net = MLP([5, 4, 3], "tanh", weight_init="xavier", seed=0, log_delta=0)
    result = gradient_check(net, *batch(net))
    assert [(r.name, r.shape) for r in result.rows] == [("W1", (5, 4)), ("b1", (4,)), ("W2", (4, 3)), ("b2", (3,))]
    assert result.verdict == "good" and all(r.checked == np.prod(r.shape) for r in result.rows)


def test_a_wrong_backward_is_caught(monkeypatch):
    # a classic bug: forgetting the sigmoid's derivative in the backward pass
    monkeypatch.setattr(layers.Sigmoid, "backward", lambda self, dout: dout)
    net = MLP([5, 4, 3], "sigmoid", seed=0)
    result = gradient_check(net, *batch(net))
    verdicts = {r.name: r.verdict for r in result.rows}
    assert verdicts["W1"] == "wrong" and verdicts["b1"] == "wrong"
    assert verdicts["W2"] != "wrong" and result.verdict == "wrong"


def test_kinks_are_counted_and_explained():
    # all-zero inputs give every first-layer unit a pre-activation of exactly 0: every b1 nudge crosses a kink
    net = MLP([3, 4, 2], "relu", seed=0, log_delta=0)
    x, t = np.zeros((2, 3)), np.array([0, 0])
    result = gradient_check(net, x, t)
    b1 = result.rows[1]
    assert b1.name == "b1" and b1.kinks == 4 and b1.verdict == "inconclusive"
    assert any("kink" in note for note in result.notes)


def test_delta_floor_explained_with_its_size():
    net = MLP([6, 5, 4], "tanh", seed=0)  # the notebook's delta 1e-7
    result = gradient_check(net, *batch(net))
    assert all(1e-9 < r.delta_rel_error < 1e-4 for r in result.rows)
    assert any(note.startswith("Delta floor") for note in result.notes)
    # beyond the delta's share, what is left is within the "good" band
    for r in result.rows:
        assert r.max_rel_error <= r.delta_rel_error + 1e-7
    assert result.verdict == "good"  # a correct backprop is not blamed for the delta
    no_delta = gradient_check(MLP([6, 5, 4], "tanh", seed=0, log_delta=0), *batch(net))
    assert not any(note.startswith("Delta floor") for note in no_delta.notes)


def test_sampling_checks_k_entries_and_reports_progress():
    net = MLP([30, 20, 10], seed=0)
    seen = []
    result = gradient_check(net, *batch(net), sample=5, progress=lambda done, total: seen.append((done, total)))
    assert [r.checked for r in result.rows] == [5, 5, 5, 5]
    assert seen and seen[-1][0] == seen[-1][1] == sum(p.size for p in net.params.values())


def test_float32_network_is_checked_in_float64_and_left_untouched():
    net = MLP([5, 4, 3], "tanh", dtype="float32", seed=0, log_delta=0)
    before = {k: v.copy() for k, v in net.params.items()}
    assert gradient_check(net, *batch(net)).verdict == "good"
    assert all(np.array_equal(before[k], net.params[k]) for k in before)


def test_the_check_leaves_the_network_bit_identical():
    """Kinks are probed by nudging entries one by one: every entry must come back to its very bits."""
    net = MLP([6, 5, 3], "relu", weight_init="he", weight_decay=0.1, seed=1)
    net.params["W1"][0, 0] = 0.1 + 1e-17  # a value for which (w + h) - h is not w
    x, t = batch(net, n=8)
    before = {k: v.tobytes() for k, v in net.params.items()}
    result = gradient_check(net, x, t, h=1.0)  # a large h, so that nudges cross kinks
    assert sum(row.kinks for row in result.rows) > 0
    assert {k: v.tobytes() for k, v in net.params.items()} == before


def test_the_check_takes_the_fast_numerical_gradient(monkeypatch):
    """The book's method, two forward passes per entry, would take minutes on MNIST: the check uses
    core.numerical's fast one, the same central differences."""
    def refuse(*args, **kwargs):
        raise AssertionError("the slow method was used")

    monkeypatch.setattr(MLP, "numerical_gradient", refuse)
    monkeypatch.setitem(numerical.METHODS, "naive", refuse)
    net = MLP([5, 4, 3], "tanh", weight_init="xavier", seed=0, log_delta=0)
    assert gradient_check(net, *batch(net)).verdict == "good"


def test_cancel():
    net = MLP([20, 10, 3], seed=0)
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 10

    with pytest.raises(GradCheckCancelled):
        gradient_check(net, *batch(net), should_stop=should_stop)


def test_bad_arguments():
    net = MLP([3, 2], seed=0)
    with pytest.raises(ValueError, match="sample"):
        gradient_check(net, *batch(net), sample=0)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        gradient_check(net, np.zeros((2, 5)), np.array([0, 1]))
