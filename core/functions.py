"""Activation and loss functions of chapters 3 and 4, as plain NumPy functions."""

from __future__ import annotations

import numpy as np

#: Added inside log() by the cross-entropy, so that log(0) is never taken (the notebook's 1e-7).
CROSS_ENTROPY_DELTA = 1e-7


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), computed without overflow for large negative x."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def leaky_relu(x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax: exp(x - max) / sum(exp(x - max)); the shift keeps exp() from overflowing."""
    x = np.asarray(x)
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def sum_squared_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = 1/2 * sum_k (y_k - t_k)^2 (summed over the whole array, as the notebook does)."""
    return 0.5 * np.sum((np.asarray(y) - np.asarray(t)) ** 2)


def cross_entropy_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = -1/N * sum_n log(y[n, t_n] + delta), for one sample or a batch of N.

    `t` is either one-hot (same shape as `y`) or integer class labels (one per row of `y`).
    """
    y = np.asarray(y)
    t = np.asarray(t)
    if y.ndim == 1:
        y = y.reshape(1, y.size)
        t = t.reshape(1, t.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    t = t.reshape(-1)
    if t.shape[0] != y.shape[0]:
        raise ValueError(
            f"cross_entropy_error: {y.shape[0]} predictions but {t.shape[0]} labels "
            f"(y has shape {y.shape}, t has shape {np.shape(t)})"
        )
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + CROSS_ENTROPY_DELTA)) / batch_size
