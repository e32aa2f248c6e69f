"""The optimised training step (reused buffers, fused softmax + cross-entropy gradient, no input
gradient for the first layer, flat-index picks) against a plain reference step written the
straightforward way, with fresh arrays everywhere: same parameters after several SGD steps."""

import numpy as np
import pytest

from core.network import MLP
from core.optimizers import SGD

ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z, y: (z > 0).astype(z.dtype)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, y: y * (1 - y)),
    "tanh": (np.tanh, lambda z, y: 1 - y * y),
}


def reference_step(params: dict, x: np.ndarray, labels: np.ndarray, activation: str, lr: float) -> dict:
    """One SGD step of a softmax + cross-entropy MLP, the textbook way; returns new parameters."""
    f, df = ACTIVATIONS[activation]
    depth = len(params) // 2
    inputs, pre = [x], []
    for i in range(1, depth + 1):
        z = inputs[-1] @ params[f"W{i}"] + params[f"b{i}"]
        pre.append(z)
        if i < depth:
            inputs.append(f(z))
    scores = pre[-1]
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    y = exp / exp.sum(axis=1, keepdims=True)
    one_hot = np.eye(y.shape[1], dtype=y.dtype)[labels]
    d = (y - one_hot) / len(x)
    new = {}
    for i in range(depth, 0, -1):
        new[f"W{i}"] = params[f"W{i}"] - lr * (inputs[i - 1].T @ d)
        new[f"b{i}"] = params[f"b{i}"] - lr * d.sum(axis=0)
        if i > 1:
            d = (d @ params[f"W{i}"].T) * df(pre[i - 2], inputs[i - 1])
    return new


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 2e-4)])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("sizes,batch", [((20, 8, 3), 16), ((30, 12, 7, 4), 5), ((10, 6, 3), 1)])
def test_the_optimised_step_gives_the_reference_parameters(sizes, batch, activation, dtype, rtol):
    rng = np.random.default_rng(7)
    net = MLP(sizes, activation=activation, weight_init="he", dtype=dtype, seed=3)
    optimizer = SGD(lr=0.1)
    reference = {k: v.copy() for k, v in net.params.items()}
    for _ in range(5):  # new data every step, in the same buffers, as the session gives them
        x = rng.random((batch, sizes[0])).astype(dtype)
        labels = rng.integers(0, sizes[-1], batch)
        optimizer.update(net.params, net.gradient(x, labels))
        reference = reference_step(reference, x, labels, activation, 0.1)
        assert all(reference[k].dtype == np.dtype(dtype) for k in reference)
    for name, value in net.params.items():
        np.testing.assert_allclose(value, reference[name], rtol=rtol, atol=rtol * 1e-2, err_msg=name)
