"""The layers of an MLP, one class each, with `forward` and `backward` (chapter 5's layered network).

Each layer keeps what its backward pass needs from its forward pass. Arrays that would otherwise be
allocated on every training step are kept in buffers and reused while the batch shape stays the same,
so a buffer returned by `forward` or `backward` is overwritten by the next call: copy it to keep it.
"""

from __future__ import annotations

import numpy as np

from core.functions import CROSS_ENTROPY_DELTA


def reuse(buffer: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """`buffer` itself when it already has this shape and dtype, else a fresh uninitialised array."""
    if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
        return np.empty(shape, dtype)
    return buffer


class Affine:
    """y = x W + b.   Backward: dW = x^T dy,  db = 1^T dy (the sum over the batch),  dx = dy W^T.

    The first layer of a network does not need dx (nothing is before it): `input_grad=False` skips it.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, input_grad: bool = True) -> None:
        self.W = W
        self.b = b
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b)
        self.input_grad = input_grad
        self.x: np.ndarray | None = None
        self.out: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.ones = np.ones(0, W.dtype)  # a 1 per row of the batch, for db

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.W.shape[0]:
            raise ValueError(
                f"Affine layer expects input of shape (batch, {self.W.shape[0]}), got {x.shape}"
            )
        self.x = x
        self.out = reuse(self.out, (x.shape[0], self.W.shape[1]), self.W.dtype)
        np.matmul(x, self.W, out=self.out)
        self.out += self.b
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        np.matmul(self.x.T, dout, out=self.dW)
        if self.ones.shape[0] != dout.shape[0] or self.ones.dtype != dout.dtype:
            self.ones = np.ones(dout.shape[0], dout.dtype)
        np.matmul(self.ones, dout, out=self.db)  # one BLAS call: twice as fast as a column sum
        if not self.input_grad:
            return None
        self.dx = reuse(self.dx, self.x.shape, self.W.dtype)
        np.matmul(dout, self.W.T, out=self.dx)
        return self.dx


class ReLU:
    """y = max(0, x).   Backward: dx = dy where x > 0, else 0 (the kink at 0 takes the 0 side)."""

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None  # x > 0: the units that pass their gradient back
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = reuse(self.mask, x.shape, np.dtype(bool))
        np.greater(x, 0, out=self.mask)
        self.out = reuse(self.out, x.shape, x.dtype)
        np.maximum(x, 0, out=self.out)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout *= self.mask  # in place, as the book does: dout is the next layer's buffer
        return dout


class LeakyReLU:
    """y = x for x > 0, slope * x otherwise.   Backward: dx = dy * (1 if x > 0 else slope)."""

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = slope
        self.mask: np.ndarray | None = None
        self.out: np.ndarray | None = None
        self.factor: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = reuse(self.mask, x.shape, np.dtype(bool))
        np.greater(x, 0, out=self.mask)
        self.factor = reuse(self.factor, x.shape, x.dtype)
        self.factor.fill(self.slope)
        self.factor[self.mask] = 1
        self.out = reuse(self.out, x.shape, x.dtype)
        np.multiply(x, self.factor, out=self.out)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout *= self.factor
        return dout


class Sigmoid:
    """y = 1 / (1 + exp(-x)).   Backward: dx = dy * y * (1 - y)."""

    def __init__(self) -> None:
        self.out: np.ndarray | None = None
        self.slope: np.ndarray | None = None  # y * (1 - y), the local derivative

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = reuse(self.out, x.shape, x.dtype)
        sigmoid_into(x, self.out)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.slope = reuse(self.slope, dout.shape, dout.dtype)
        np.subtract(1, self.out, out=self.slope)
        self.slope *= self.out
        dout *= self.slope
        return dout


class Tanh:
    """y = tanh(x).   Backward: dx = dy * (1 - y^2)."""

    def __init__(self) -> None:
        self.out: np.ndarray | None = None
        self.slope: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = reuse(self.out, x.shape, x.dtype)
        np.tanh(x, out=self.out)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.slope = reuse(self.slope, dout.shape, dout.dtype)
        np.multiply(self.out, self.out, out=self.slope)
        np.subtract(1, self.slope, out=self.slope)
        dout *= self.slope
        return dout


def sigmoid_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = 1 / (1 + exp(-x)), without overflow warnings for large |x|."""
    np.negative(x, out=out)
    np.clip(out, -500, 500, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    return out


def softmax_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = exp(x - c) / sum(exp(x - c)), row by row, for a shift c that keeps exp() from overflowing.

    Any c gives the same result. The batch's largest score (one cheap reduction) serves every row
    unless a row lies so far below it that all its exp() underflow; such rows use their own maximum.
    """
    np.subtract(x, x.max(), out=out)
    np.exp(out, out=out)
    sums = np.add.reduce(out, axis=1, keepdims=True)
    if sums.min() < np.finfo(out.dtype).tiny * out.shape[1] * 1e6:
        np.subtract(x, x.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        sums = np.add.reduce(out, axis=1, keepdims=True)
    out /= sums
    return out


OUTPUTS = ("softmax", "sigmoid", "identity")
LOSSES = ("cross_entropy", "sum_squared")
#: Every output and loss that go together: cross-entropy needs outputs that are probabilities.
OUTPUT_LOSS_PAIRS = tuple((o, l) for o in OUTPUTS for l in LOSSES if (o, l) != ("identity", "cross_entropy"))


class OutputWithLoss:
    """The output function and the loss, as one last layer: forward(a, t) -> loss, backward() -> dL/da.

    Losses over a batch of N rows, with t_n the label of row n and T the one-hot labels:
      cross_entropy:  L = -1/N sum_n log(y[n, t_n] + delta)
      sum_squared:    L = 1/N sum_n 1/2 sum_k (y[n, k] - T[n, k])^2

    Backward gives the textbook gradients, which leave out delta:
      softmax + cross_entropy:   dL/da = (y - T) / N
      sigmoid + cross_entropy:   dL/da = -(1 - y) * T / N   (only the true class gets a gradient)
      identity + sum_squared:    dL/da = (y - T) / N
      sigmoid + sum_squared:     dL/da = (y - T) * y * (1 - y) / N
      softmax + sum_squared:     dL/da = y * (g - sum_k g_k y_k), with g = (y - T) / N
    With delta > 0 the exact derivative of the cross-entropy is these times y_t / (y_t + delta), row by
    row; `backward(include_delta=True)` gives that one (the gradient check uses it to show the delta's share).
    """

    def __init__(self, output: str = "softmax", loss: str = "cross_entropy", delta: float = CROSS_ENTROPY_DELTA) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        if (output, loss) not in OUTPUT_LOSS_PAIRS:
            raise ValueError(
                "the identity output cannot be used with the cross-entropy loss "
                "(its outputs are not probabilities); use sum_squared, or a softmax or sigmoid output"
            )
        self.output = output
        self.loss = loss
        self.delta = delta
        self.y: np.ndarray | None = None
        self.da: np.ndarray | None = None
        self.row_starts = np.arange(0)  # n * K for each row n: where row n starts in y.ravel()
        self.true_class = np.arange(0)  # row_starts + labels: each row's true class in y.ravel()

    def activate(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """y = output(a), written into `out` when given."""
        if out is None:
            out = np.empty_like(a)
        if self.output == "softmax":
            return softmax_into(a, out)
        if self.output == "sigmoid":
            return sigmoid_into(a, out)
        np.copyto(out, a)
        return out

    def forward(self, a: np.ndarray, t: np.ndarray) -> float:
        labels = labels_of(t, a.shape)
        n, k = a.shape
        if self.y is None or self.y.shape != a.shape:  # a new batch shape: new row starts
            self.row_starts = np.arange(0, n * k, k)
            self.true_class = np.empty(n, np.intp)
        self.y = self.activate(a, reuse(self.y, a.shape, a.dtype))
        np.add(self.row_starts, labels, out=self.true_class)
        if self.loss == "cross_entropy":
            picked = self.y.take(self.true_class)  # y[n, t_n] of every row n
            picked += self.delta
            return float(-np.add.reduce(np.log(picked, out=picked)) / n)
        diff = self.y.copy()
        diff.reshape(-1)[self.true_class] -= 1
        return float(0.5 * np.sum(diff * diff) / n)

    def backward(self, include_delta: bool = False) -> np.ndarray:
        y, true_class = self.y, self.true_class
        n = y.shape[0]
        self.da = reuse(self.da, y.shape, y.dtype)
        da = self.da
        da_true = da.reshape(-1)  # a view: da_true[true_class] are the entries of the true classes
        if self.loss == "cross_entropy" and self.output == "softmax":
            np.copyto(da, y)
            da_true[true_class] -= 1  # y - 1 before the division: exact where y is close to 1
            da *= 1 / n
        elif self.loss == "cross_entropy":  # sigmoid output, the notebook's variant
            da.fill(0)
            da_true[true_class] = (y.take(true_class) - 1) / n
        else:
            np.copyto(da, y)
            da_true[true_class] -= 1
            da *= 1 / n
            if self.output == "sigmoid":
                da *= y * (1 - y)
            elif self.output == "softmax":
                da -= np.sum(da * y, axis=1, keepdims=True)
                da *= y
        if include_delta and self.loss == "cross_entropy":
            y_true = y.take(true_class)
            da *= (y_true / (y_true + self.delta))[:, None]
        return da


def labels_of(t: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Integer class labels from `t`, given either as labels (N,) or one-hot rows (N, K)."""
    t = np.asarray(t)
    n, k = shape
    if t.ndim == 2 and t.shape == (n, k):
        return t.argmax(axis=1)
    if t.ndim == 1 and t.shape[0] == n:
        if t.dtype.kind not in "iu":
            if not np.all(np.mod(t, 1) == 0):
                raise ValueError("labels must be whole numbers (class indices) or one-hot rows")
            t = t.astype(np.int64)
        # one maximum finds both kinds of bad label: seen as unsigned, a negative one is huge
        unsigned = t.view(t.dtype.char.upper()) if t.dtype.kind == "i" else t  # "l" -> "L", "i" -> "I"...
        if n and unsigned.max() >= k:
            raise ValueError(f"labels must lie in 0..{k - 1}, got values from {t.min()} to {t.max()}")
        return t.astype(np.intp) if t.dtype == np.uint64 else t  # uint64 + int64 would be added in float64
    raise ValueError(
        f"targets of shape {t.shape} do not match outputs of shape {shape}: "
        f"give one label per row, shape ({n},), or one-hot rows, shape ({n}, {k})"
    )
