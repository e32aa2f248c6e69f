"""The TensorFlow-Playground-style 2-D problems."""

import numpy as np
import pytest

from core.datasets import DatasetError, load_dataset, make_toy2d
from core.datasets.toy2d import GENERATORS

PROBLEMS = sorted(GENERATORS)


def test_the_five_problems():
    assert PROBLEMS == ["circle", "gauss", "moons", "spiral", "xor"]


@pytest.mark.parametrize("name", PROBLEMS)
def test_types_shapes_and_range(name):
    x, t = make_toy2d(name, noise=0.2)
    assert x.shape == (500, 2) and x.dtype == np.float32
    assert t.shape == (500,) and t.dtype == np.int64 and set(t.tolist()) == {0, 1}
    assert np.all(np.abs(x) < 8)


@pytest.mark.parametrize("name", PROBLEMS)
def test_deterministic_per_seed(name):
    x, t = make_toy2d(name, noise=0.1, seed=3)
    x_same, t_same = make_toy2d(name, noise=0.1, seed=3)
    x_other, _ = make_toy2d(name, noise=0.1, seed=4)
    np.testing.assert_array_equal(x, x_same)
    np.testing.assert_array_equal(t, t_same)
    assert not np.array_equal(x, x_other)


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral", "moons"])
def test_classes_are_even(name):
    _, t = make_toy2d(name, n_samples=501, noise=0.0)
    assert np.bincount(t).tolist() == [251, 250]


def test_xor_classes_are_roughly_even():
    _, t = make_toy2d("xor", n_samples=2000)
    assert abs(t.mean() - 0.5) < 0.05


def test_rows_are_shuffled():
    _, t = make_toy2d("gauss")
    assert 0 < t[:250].mean() < 1


@pytest.mark.parametrize("name", ["gauss", "spiral", "moons"])
def test_noise_moves_points(name):
    x0, _ = make_toy2d(name, noise=0.0)
    x5, _ = make_toy2d(name, noise=0.5)
    assert np.abs(x0 - x5).mean() > 0.1


@pytest.mark.parametrize("name", ["circle", "xor"])
def test_noise_flips_labels_as_in_playground(name):
    """Playground stores the clean point and labels it by where the noise moved it."""
    x0, t0 = make_toy2d(name, noise=0.0)
    x5, t5 = make_toy2d(name, noise=0.5)
    np.testing.assert_array_equal(x0, x5)
    assert 0.05 < np.mean(t0 != t5) < 0.5


def test_circle_without_noise_is_separated_by_radius():
    x, t = make_toy2d("circle", n_samples=1000, noise=0.0, seed=5)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r[t == 1].max() < 2.5 <= 3.5 <= r[t == 0].min() and r.max() <= 5


def test_xor_without_noise_is_the_sign_of_the_product():
    x, t = make_toy2d("xor", noise=0.0)
    np.testing.assert_array_equal(t, (x[:, 0] * x[:, 1] >= 0).astype(np.int64))
    assert np.abs(x).min() >= 0.3 - 1e-6 and np.abs(x).max() <= 5.3 + 1e-6


def test_gauss_centres_and_variance():
    x, t = make_toy2d("gauss", n_samples=4000, noise=0.0)
    np.testing.assert_allclose(x[t == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(x[t == 0].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(x[t == 1].var(axis=0), [0.5, 0.5], rtol=0.15)
    x, t = make_toy2d("gauss", n_samples=4000, noise=0.5)
    np.testing.assert_allclose(x[t == 1].var(axis=0), [4, 4], rtol=0.15)


def test_spiral_arms_without_noise():
    x, t = make_toy2d("spiral", n_samples=400, noise=0.0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.sort(r[t == 1]) == pytest.approx(5 * np.arange(200) / 200, abs=1e-5)
    # the negative arm is the positive one turned by pi: each point mirrored through the origin
    assert np.sort(x[t == 0][:, 0]) == pytest.approx(np.sort(-x[t == 1][:, 0]), abs=1e-5)


def test_moons_without_noise_lie_on_two_half_circles():
    x, t = make_toy2d("moons", noise=0.0)
    u, v = x[:, 0] / 3 + 0.5, x[:, 1] / 3 + 0.25
    np.testing.assert_allclose(np.hypot(u[t == 0], v[t == 0]), 1, atol=1e-5)
    np.testing.assert_allclose(np.hypot(u[t == 1] - 1, v[t == 1] - 0.5), 1, atol=1e-5)


@pytest.mark.parametrize("ratio, n_test", [(0.5, 250), (0.2, 100), (0.9, 450)])
def test_test_ratio_is_honoured(ratio, n_test):
    data = load_dataset("spiral", test_ratio=ratio, noise=0.1)
    assert (data.n_train, data.n_test) == (500 - n_test, n_test)
    both = np.concatenate([data.x_train, data.x_test])
    np.testing.assert_array_equal(np.sort(both, axis=0), np.sort(make_toy2d("spiral", noise=0.1)[0], axis=0))


@pytest.mark.parametrize("knobs, words", [
    (dict(noise=0.6), ["noise=0.6", "[0.0, 0.5]"]),
    (dict(noise=-0.1), ["noise=-0.1"]),
    (dict(noise="lots"), ["noise='lots'", "not a number"]),
    (dict(n_samples=2), ["n_samples=2", "[4, 100000]"]),
    (dict(n_samples=50.5), ["n_samples=50.5", "whole number"]),
    (dict(test_ratio=1.0), ["test_ratio=1.0", "(0.0, 1.0)"]),
    (dict(test_ratio=0.001), ["test_ratio=0.001", "empty test set"]),
    (dict(seed=1.5), ["seed=1.5", "whole number"]),
])
def test_bad_knobs_name_the_knob_and_range(knobs, words):
    with pytest.raises(DatasetError) as info:
        load_dataset("circle", **knobs)
    for word in words:
        assert word in str(info.value)
