"""The numerical gradient by central differences, and gradient descent on it (chapter 4)."""

from __future__ import annotations

from typing import Callable

import numpy as np

#: The step of the central difference, h in (f(x + h) - f(x - h)) / 2h.
H = 1e-4


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = H) -> np.ndarray:
    """df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x, of any shape.

    `x` is perturbed in place, one entry at a time, and each entry is restored before the next.
    """
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"numerical_gradient needs a float array to perturb, got dtype {x.dtype}")
    grad = np.zeros_like(x)
    flat_x = x.reshape(-1)  # a view when x is contiguous: writes reach x itself
    if not np.shares_memory(flat_x, x):
        raise ValueError("numerical_gradient needs a contiguous array (it perturbs x in place)")
    flat_grad = grad.reshape(-1)
    for i in range(flat_x.size):
        saved = flat_x[i]
        flat_x[i] = saved + h
        f_plus = f(x)
        flat_x[i] = saved - h
        f_minus = f(x)
        flat_grad[i] = (f_plus - f_minus) / (2 * h)
        flat_x[i] = saved
    return grad


def gradient_descent(
    f: Callable[[np.ndarray], float],
    init_x: np.ndarray,
    lr: float = 0.01,
    num_steps: int = 1000,
) -> np.ndarray:
    """x <- x - lr * grad f(x), num_steps times, from init_x (which is updated in place and returned)."""
    x = init_x
    for _ in range(num_steps):
        x -= lr * numerical_gradient(f, x)
    return x
