"""The layers of an MLP, one class each, with `forward` and `backward` (chapter 5's layered network).

Each layer keeps what its backward pass needs from its forward pass. The last layer applies the
output function and the loss: SoftmaxWithLoss, the book's, unless another pair is chosen from
OUTPUT_LAYERS.

Buffers, for speed: arrays that would otherwise be allocated on every training step are kept and
reused while the batch shape stays the same. So what `forward` and `backward` return, and an Affine
layer's dW and db (the gradients MLP.gradient hands out), are overwritten by the next call: copy them
to keep them. The activations' `backward` also writes dx into the dout it is given, as the book's ReLU
does.
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
        """dx (None without `input_grad`), after setting dW and db: buffers, overwritten by the next call."""
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
        """dx, written into `dout` itself (as the book does: dout is the next layer's buffer)."""
        dout *= self.mask
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
        """dx, written into `dout` itself."""
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
        """dx, written into `dout` itself."""
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
        """dx, written into `dout` itself."""
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


def identity_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = x."""
    np.copyto(out, x)
    return out


#: The output functions, by name: each writes y = output(a) into a given array.
OUTPUT_FUNCTIONS = {"softmax": softmax_into, "sigmoid": sigmoid_into, "identity": identity_into}
OUTPUTS = tuple(OUTPUT_FUNCTIONS)
LOSSES = ("cross_entropy", "sum_squared")


class OutputLayer:
    """What every last layer shares: y = output(a) and each row's true class, kept from `forward` for
    `backward`, and the buffer of dL/da.

    A last layer applies the output function to the scores a and takes the loss against the labels t,
    over a batch of N rows (T: the one-hot labels). Its `backward()` returns dL/da in a buffer that the
    next call overwrites: copy it to keep it.
    """

    output = ""  # the output function's name, a key of OUTPUT_FUNCTIONS
    loss = ""  # the loss's name, one of LOSSES

    def __init__(self, delta: float = CROSS_ENTROPY_DELTA) -> None:
        self.delta = delta  # added inside the cross-entropy's log(); the squared losses ignore it
        self.y: np.ndarray | None = None
        self.da: np.ndarray | None = None
        self.row_starts = np.arange(0)  # n * K for each row n: where row n starts in y.ravel()
        self.true_class = np.arange(0)  # row_starts + labels: each row's true class in y.ravel()

    def activate(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """y = output(a), written into `out` when given."""
        return OUTPUT_FUNCTIONS[self.output](a, np.empty_like(a) if out is None else out)

    def find_true_classes(self, t: np.ndarray, shape: tuple[int, int]) -> None:
        """Check the labels `t` against the outputs' shape and note each row's true class in `true_class`."""
        labels = labels_of(t, shape)
        n, k = shape
        if self.y is None or self.y.shape != shape:  # a new batch shape: new row starts
            self.row_starts = np.arange(0, n * k, k)
            self.true_class = np.empty(n, np.intp)
        np.add(self.row_starts, labels, out=self.true_class)

    def error_over_n(self) -> np.ndarray:
        """(y - T) / N, into the buffer `da`."""
        self.da = reuse(self.da, self.y.shape, self.y.dtype)
        np.copyto(self.da, self.y)
        self.da.reshape(-1)[self.true_class] -= 1  # y - T, before the division: exact where y is close to 1
        self.da *= 1 / self.y.shape[0]
        return self.da

    def with_delta(self, da: np.ndarray) -> np.ndarray:
        """The cross-entropy's textbook gradient `da` (which leaves the delta out) times y_t / (y_t + delta),
        row by row, in place: the exact derivative of -log(y_t + delta)."""
        y_true = self.y.take(self.true_class)
        da *= (y_true / (y_true + self.delta))[:, None]
        return da


def cross_entropy(y: np.ndarray, true_class: np.ndarray, delta: float) -> float:
    """L = -1/N sum_n log(y[n, t_n] + delta), with `true_class` the flat index of each y[n, t_n]."""
    picked = y.take(true_class)
    picked += delta
    return float(-np.add.reduce(np.log(picked, out=picked)) / y.shape[0])


def sum_squared(y: np.ndarray, true_class: np.ndarray) -> float:
    """L = 1/N sum_n 1/2 sum_k (y[n, k] - T[n, k])^2, with `true_class` the flat index of each T[n, t_n] = 1."""
    diff = y.copy()
    diff.reshape(-1)[true_class] -= 1
    return float(0.5 * np.sum(diff * diff) / y.shape[0])


class SoftmaxWithLoss(OutputLayer):
    """y = softmax(a),  L = -1/N sum_n log(y[n, t_n] + delta).   Backward: dL/da = (y - T) / N.

    The book's last layer, and the default. delta is the notebook's 1e-7, so that log(0) is never taken.
    """

    output, loss = "softmax", "cross_entropy"

    def forward(self, a: np.ndarray, t: np.ndarray) -> float:
        self.find_true_classes(t, a.shape)
        self.y = softmax_into(a, reuse(self.y, a.shape, a.dtype))
        return cross_entropy(self.y, self.true_class, self.delta)

    def backward(self, include_delta: bool = False) -> np.ndarray:
        """(y - T) / N, the textbook gradient, which leaves delta out; `include_delta=True` gives the
        exact one (the gradient check uses it to show the delta's share). A buffer: copy it to keep it."""
        da = self.error_over_n()
        return self.with_delta(da) if include_delta else da


class SigmoidWithLoss(OutputLayer):
    """y = sigmoid(a),  L = -1/N sum_n log(y[n, t_n] + delta).   Backward: dL/da = -(1 - y) * T / N.

    The notebook's output: only the true class gets a gradient, so the others are never pushed down.
    """

    output, loss = "sigmoid", "cross_entropy"

    def forward(self, a: np.ndarray, t: np.ndarray) -> float:
        self.find_true_classes(t, a.shape)
        self.y = sigmoid_into(a, reuse(self.y, a.shape, a.dtype))
        return cross_entropy(self.y, self.true_class, self.delta)

    def backward(self, include_delta: bool = False) -> np.ndarray:
        """-(1 - y) * T / N, without delta unless `include_delta`. A buffer: copy it to keep it."""
        self.da = reuse(self.da, self.y.shape, self.y.dtype)
        self.da.fill(0)
        self.da.reshape(-1)[self.true_class] = (self.y.take(self.true_class) - 1) / self.y.shape[0]
        return self.with_delta(self.da) if include_delta else self.da


class IdentityWithSquaredLoss(OutputLayer):
    """y = a,  L = 1/N sum_n 1/2 sum_k (y[n, k] - T[n, k])^2.   Backward: dL/da = (y - T) / N."""

    output, loss = "identity", "sum_squared"

    def forward(self, a: np.ndarray, t: np.ndarray) -> float:
        self.find_true_classes(t, a.shape)
        self.y = identity_into(a, reuse(self.y, a.shape, a.dtype))
        return sum_squared(self.y, self.true_class)

    def backward(self, include_delta: bool = False) -> np.ndarray:
        """(y - T) / N (there is no delta). A buffer: copy it to keep it."""
        return self.error_over_n()


class SigmoidWithSquaredLoss(OutputLayer):
    """y = sigmoid(a),  L = 1/N sum_n 1/2 sum_k (y - T)^2.   Backward: dL/da = (y - T) * y * (1 - y) / N."""

    output, loss = "sigmoid", "sum_squared"

    def forward(self, a: np.ndarray, t: np.ndarray) -> float:
        self.find_true_classes(t, a.shape)
        self.y = sigmoid_into(a, reuse(self.y, a.shape, a.dtype))
        return sum_squared(self.y, self.true_class)

    def backward(self, include_delta: bool = False) -> np.ndarray:
        """(y - T) / N times the sigmoid's slope y (1 - y) (there is no delta). A buffer: copy it to keep it."""
        da = self.error_over_n()
        da *= self.y * (1 - self.y)
        return da


class SoftmaxWithSquaredLoss(OutputLayer):
    """y = softmax(a),  L = 1/N sum_n 1/2 sum_k (y - T)^2.   Backward: dL/da = y * (g - sum_k g_k y_k), g = (y - T) / N."""

    output, loss = "softmax", "sum_squared"

    def forward(self, a: np.ndarray, t: np.ndarray) -> float:
        self.find_true_classes(t, a.shape)
        self.y = softmax_into(a, reuse(self.y, a.shape, a.dtype))
        return sum_squared(self.y, self.true_class)

    def backward(self, include_delta: bool = False) -> np.ndarray:
        """g = (y - T) / N through the softmax's Jacobian (there is no delta). A buffer: copy it to keep it."""
        da = self.error_over_n()
        da -= np.sum(da * self.y, axis=1, keepdims=True)
        da *= self.y
        return da


#: The last layer of each output and loss that go together, in OUTPUTS order. Cross-entropy needs
#: outputs that are probabilities, so the identity output has only the squared loss.
OUTPUT_LAYERS: dict[tuple[str, str], type[OutputLayer]] = {
    ("softmax", "cross_entropy"): SoftmaxWithLoss,
    ("softmax", "sum_squared"): SoftmaxWithSquaredLoss,
    ("sigmoid", "cross_entropy"): SigmoidWithLoss,
    ("sigmoid", "sum_squared"): SigmoidWithSquaredLoss,
    ("identity", "sum_squared"): IdentityWithSquaredLoss,
}
OUTPUT_LOSS_PAIRS = tuple(OUTPUT_LAYERS)


def OutputWithLoss(output: str = "softmax", loss: str = "cross_entropy", delta: float = CROSS_ENTROPY_DELTA) -> OutputLayer:
    """The last layer for this output and loss, from OUTPUT_LAYERS: SoftmaxWithLoss by default.

    Named like the classes it builds, as the network calls it where the book writes SoftmaxWithLoss().
    """
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    if (output, loss) not in OUTPUT_LAYERS:
        raise ValueError(
            "the identity output cannot be used with the cross-entropy loss "
            "(its outputs are not probabilities); use sum_squared, or a softmax or sigmoid output"
        )
    return OUTPUT_LAYERS[output, loss](delta)


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
