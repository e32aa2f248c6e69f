"""The six update rules against the book's (common/optimizer.py), transcribed here in plain NumPy,
one formula a line, with no buffers or in-place tricks: several steps on random float64 parameters
and gradients must agree to 1e-12."""

from __future__ import annotations

import numpy as np
import pytest

from core.optimizers import make_optimizer

EPS = 1e-7


def book_sgd(p, g, s, lr=0.01):
    return {k: p[k] - lr * g[k] for k in p}, s


def book_momentum(p, g, s, lr=0.01, momentum=0.9):
    v = {k: momentum * s.get(k, 0.0) - lr * g[k] for k in p}
    return {k: p[k] + v[k] for k in p}, v


def book_nesterov(p, g, s, lr=0.01, momentum=0.9):
    # the parameters move with the velocity from before this step (Bengio et al. 2012), then it is updated
    old = {k: s.get(k, np.zeros_like(p[k])) for k in p}
    new_p = {k: p[k] + momentum * momentum * old[k] - (1 + momentum) * lr * g[k] for k in p}
    return new_p, {k: momentum * old[k] - lr * g[k] for k in p}


def book_adagrad(p, g, s, lr=0.01):
    h = {k: s.get(k, 0.0) + g[k] * g[k] for k in p}
    return {k: p[k] - lr * g[k] / (np.sqrt(h[k]) + EPS) for k in p}, h


def book_rmsprop(p, g, s, lr=0.01, decay_rate=0.99):
    h = {k: decay_rate * s.get(k, 0.0) + (1 - decay_rate) * g[k] * g[k] for k in p}
    return {k: p[k] - lr * g[k] / (np.sqrt(h[k]) + EPS) for k in p}, h


def book_adam(p, g, s, lr=0.001, beta1=0.9, beta2=0.999):
    t = s.get("t", 0) + 1
    lr_t = lr * np.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
    m = {k: s.get(("m", k), 0.0) + (1 - beta1) * (g[k] - s.get(("m", k), 0.0)) for k in p}
    v = {k: s.get(("v", k), 0.0) + (1 - beta2) * (g[k] ** 2 - s.get(("v", k), 0.0)) for k in p}
    new_p = {k: p[k] - lr_t * m[k] / (np.sqrt(v[k]) + EPS) for k in p}
    return new_p, {"t": t, **{("m", k): m[k] for k in p}, **{("v", k): v[k] for k in p}}


BOOK = {"sgd": book_sgd, "momentum": book_momentum, "nesterov": book_nesterov,
        "adagrad": book_adagrad, "rmsprop": book_rmsprop, "adam": book_adam}
HYPER = {"sgd": {"lr": 0.1}, "momentum": {"lr": 0.1, "momentum": 0.8}, "nesterov": {"lr": 0.1, "momentum": 0.8},
         "adagrad": {"lr": 0.1}, "rmsprop": {"lr": 0.05, "decay_rate": 0.9},
         "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99}}


@pytest.mark.parametrize("name", list(BOOK))
def test_each_rule_follows_the_book_step_for_step(name):
    rng = np.random.default_rng(6)
    shapes = {"W1": (4, 3), "b1": (3,), "W2": (3, 2)}
    params = {k: rng.normal(size=shape) for k, shape in shapes.items()}
    expected, state = {k: v.copy() for k, v in params.items()}, {}
    optimizer = make_optimizer(name, **HYPER[name])
    for _ in range(6):
        grads = {k: rng.normal(size=shape) for k, shape in shapes.items()}
        optimizer.update(params, grads)
        expected, state = BOOK[name](expected, grads, state, **HYPER[name])
        for k in params:
            np.testing.assert_allclose(params[k], expected[k], rtol=1e-12, atol=1e-12, err_msg=f"{name} {k}")
