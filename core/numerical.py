"""The numerical gradient of an MLP by central differences, computed layer by layer.

For every parameter entry p (a weight W_l[i, j] or a bias b_l[j]) both methods here compute the same
central difference, with the same h:

    dL/dp  ~  (L(p + h) - L(p - h)) / 2h

"naive" is the book's method (MLP.numerical_gradient), watched so that it can be cancelled and report
progress: it nudges p and runs two full forward passes of the whole batch. "fast" (what training and the
gradient check use) computes the same differences without recomputing what a nudge cannot change. For layer l, with input A = A_{l-1} (A_0 = x), pre-activation Z = A W_l + b_l and
activation f(Z):

1. What is cached. One ordinary forward pass gives every layer's Z and A. Nudging W_l or b_l leaves the
   layers before l as they are, so nothing before layer l is recomputed.

2. The rank-1 update. Nudging W_l[i, j] by s (s = +h, then -h) changes Z by s * A[:, i] e_j^T: column j
   only, and in row n only by s * A[n, i]. (A bias b_l[j] is a weight on an input that is always 1.)
   So in row n, unit j moves from z = Z[n, j] to z + s * A[n, i]; its activation moves by
   d = f(z + s * A[n, i]) - f(z); and the next layer's pre-activations by d * W_{l+1}[j, :], one row of a
   rank-1 update. From there the row goes forward through the rest of the network as usual.

3. Rows. The loss is a mean over the rows of the batch, L = 1/N sum_n loss_n, and each row's loss
   depends on that row alone, so

       L(p + h) - L(p - h) = 1/N sum_n (loss_n(p + h) - loss_n(p - h)),

   summed over the rows the nudge reaches. Where A[n, i] == 0 (a blank pixel, a ReLU that is off) or
   where unit j's activation does not move (a ReLU that stays off), row n is not changed at all and its
   difference is exactly 0, so it is skipped. An input that is 0 in every row (MNIST's border pixels)
   gives W_l[i, j] a difference of exactly 0, as in the naive method, whose two losses are then the same
   bits.

4. Weight decay adds wd/2 * ((w + h)^2 - (w - h)^2) to L(p + h) - L(p - h), from the same nudged w.

Why it is exact: nothing is approximated. The nudged values are the naive method's own (its rounded
steps fl(p + h) - p included), every row the nudge reaches goes through the same activation, output and
loss, and a ReLU kink crossed by a nudge is crossed exactly as in the naive method. Only the order of the
floating-point operations differs, so the two agree to rounding: about eps * |L| / h, ~1e-12 in float64.

How it is vectorised: for each unit j of layer l, the (input i, row n) pairs with A[n, i] != 0, in the
rows where unit j can move, are taken at once (in chunks): each pair is one perturbed row, held as a
column of a (width, rows) array, the +h columns beside the -h columns; np.bincount adds each pair's
difference to its entry W_l[i, j]. The work is 2 x (those pairs) x (the layers after l), instead of
2 x (entries) x (the whole batch through the whole network).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from core import layers as L
from core.gradient import H, numerical_gradient
from core.network import MLP

#: About how many floating-point operations one chunk of the fast method does (~1 ms of work here);
#: `should_stop` is asked between chunks.
CHUNK_WORK = 1 << 22
#: The naive method reports progress every this many entries.
PROGRESS_EVERY = 64

ShouldStop = Callable[[], bool] | None
Progress = Callable[[int, int], None] | None


class Cancelled(Exception):
    """Raised when `should_stop()` returned True in the middle of a numerical gradient."""


def fast_numerical_gradient(
    net: MLP, x: np.ndarray, t: np.ndarray, h: float = H, *, should_stop: ShouldStop = None, progress: Progress = None
) -> dict[str, np.ndarray]:
    """The naive method's central differences, layer by layer (see the module's docstring).
    `progress(done, total)` counts parameter entries; the parameters are never modified."""
    x = net.check_input(x)
    n = x.shape[0]
    dtype = net.dtype
    affines = [layer for layer in net.layers.values() if isinstance(layer, L.Affine)]
    activations = [layer for layer in net.layers.values() if not isinstance(layer, L.Affine)]
    labels = L.labels_of(t, (n, net.sizes[-1]))

    net.scores(x)  # one ordinary forward pass: every layer keeps its output
    cache = Cache(
        # transposed, one column per row of the batch, so that unit j of a layer is the contiguous row j
        pre=[layer.out.T.copy() for layer in affines],  # Z_1 ... Z_L (Z_L: the scores)
        post=[np.ascontiguousarray(x.T, dtype)] + [layer.out.T.copy() for layer in activations],  # A_0 ... A_{L-1}
        weights=[layer.W for layer in affines],
        biases=[layer.b for layer in affines],
        functions=[activation_function(layer) for layer in activations],
        last_layer=net.last_layer,
        labels=labels,
    )
    watch = Watch(sum(param.size for param in net.params.values()), should_stop, progress)
    grads: dict[str, np.ndarray] = {}
    for l in range(net.depth):
        W = cache.weights[l]
        theta = np.vstack([W, cache.biases[l]])  # row i: the weights from input i; last row: the bias
        difference = loss_differences(cache, l, theta, h, watch)  # L(p + h) - L(p - h), data loss
        if net.weight_decay:  # + wd/2 * ((w + h)^2 - (w - h)^2), for the weights only
            up, down = np.square(W + h, dtype=np.float64), np.square(W - h, dtype=np.float64)
            difference[:-1] += 0.5 * net.weight_decay * (up - down)
        grad = (difference / (2 * h)).astype(dtype)
        grads[f"W{l + 1}"], grads[f"b{l + 1}"] = grad[:-1], grad[-1]
    watch.finish()
    return grads


class Cache:
    """What the forward pass leaves behind, for the perturbed rows to start from; and reusable buffers.

    Layers are numbered from 0 here: layer l has weights[l] (the parameter W{l+1}), input post[l] and
    pre-activation pre[l]. Arrays of rows are transposed, one column per row of the batch: pre[l][j] is
    unit j of layer l in every row.
    """

    def __init__(self, pre, post, weights, biases, functions, last_layer, labels) -> None:
        self.pre: list[np.ndarray] = pre  # pre[l] = Z^T of layer l, Z = A W + b
        self.post: list[np.ndarray] = post  # post[l] = A^T, the input of layer l (post[0] = x^T)
        self.weights: list[np.ndarray] = weights
        self.biases: list[np.ndarray] = biases
        self.functions: list[Callable[[np.ndarray], np.ndarray]] = functions  # f of the hidden layers
        self.last_layer: L.OutputLayer = last_layer
        self.labels: np.ndarray = labels  # the true class of each row
        self.buffers: dict[str, np.ndarray] = {}
        # the scores less each row's largest, for the softmax: exp() of these cannot overflow, and
        # perturbed rows near them need no shift of their own (any shift gives the same softmax)
        self.shifted_scores = pre[-1] - pre[-1].max(axis=0) if last_layer.output == "softmax" else pre[-1]

    def buffer(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """A reused array of this shape: allocating the large arrays anew for every chunk would cost
        more than the arithmetic done in them."""
        size = shape[0] * shape[1]
        buffer = self.buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = self.buffers[name] = np.empty(size, self.pre[0].dtype)
        return buffer[:size].reshape(shape)


def loss_differences(cache: Cache, l: int, theta: np.ndarray, h: float, watch: Watch) -> np.ndarray:
    """L(p + h) - L(p - h) of the data loss, for every entry p of layer l's theta = [W; b] (theta's shape)."""
    n = cache.post[l].shape[1]
    inputs = np.vstack([cache.post[l], np.ones((1, n), theta.dtype)])  # input i of every row; the bias's is 1
    # the steps the naive method really takes, fl(p + h) - p and fl(p - h) - p; unit j's in row j
    steps_up = ((theta + h) - theta).T.copy()
    steps_down = ((theta - h) - theta).T.copy()
    pair_i, pair_row = np.nonzero(inputs)  # the (input i, row n) pairs with A[n, i] != 0
    pair_input = inputs[pair_i, pair_row]
    fan_in, width = theta.shape
    # the farthest a nudge can move a unit of this layer: |step| |A[n, i]|
    reach = max(np.abs(steps_up).max(), np.abs(steps_down).max()) * np.abs(pair_input).max(initial=0)
    shifted = near_enough_to_share_the_shift(cache, l, reach)
    sums = np.zeros((width, fan_in))  # sums[j, i] = sum over rows of loss_n(p + h) - loss_n(p - h)
    chunk = max(1, CHUNK_WORK // work_per_pair(cache, l))
    for j in range(width):
        pairs = np.flatnonzero(rows_that_can_move(cache, l, j, reach)[pair_row])
        for start in range(0, len(pairs), chunk):
            watch.check()
            part = pairs[start:start + chunk]
            row, i, a = np.take(pair_row, part), np.take(pair_i, part), np.take(pair_input, part)
            z = np.take(cache.pre[l][j], row)  # unit j in those rows ...
            up = z + np.take(steps_up[j], i) * a  # ... with W[i, j] + h
            down = z + np.take(steps_down[j], i) * a  # ... and with W[i, j] - h
            scores = perturbed_scores(cache, l, j, row, up, down, shifted)
            labels = np.take(cache.labels, np.concatenate([row, row]))
            losses = column_losses(cache.last_layer, scores, labels, shifted)
            sums[j] += np.bincount(i, losses[:len(row)] - losses[len(row):], minlength=fan_in)
        watch.advance(fan_in)
    return (sums / n).T.copy()


def rows_that_can_move(cache: Cache, l: int, j: int, reach: float) -> np.ndarray:
    """A mask of the rows in which unit j of layer l can change its activation when moved by up to
    `reach`. The activations are monotone, so f(z - reach) == f(z + reach) means that f is flat around z
    (a ReLU that is off): no nudge changes anything in such a row, and it is skipped."""
    z = cache.pre[l][j]
    if l == len(cache.pre) - 1:  # a score: it always moves
        return np.ones(z.shape, bool)
    f = cache.functions[l]
    return f(z - reach) != f(z + reach)


def perturbed_scores(
    cache: Cache, l: int, j: int, row: np.ndarray, up: np.ndarray, down: np.ndarray, shifted: bool
) -> np.ndarray:
    """The scores of the perturbed rows, given unit j of layer l at `up` (p + h) and `down` (p - h) in
    rows `row`: one column per perturbed row, the +h columns first, then the -h columns.
    `shifted`: start from Cache.shifted_scores (see near_enough_to_share_the_shift)."""
    last = len(cache.pre) - 1
    rows = np.concatenate([row, row])
    if l == last:  # unit j is a score itself
        scores = cache.buffer("scores", (cache.pre[l].shape[0], len(rows)))
        np.take(cache.pre[l], rows, axis=1, out=scores, mode="clip")  # (mode: the rows exist)
        scores[j] = np.concatenate([up, down])
        return scores
    f, before = cache.functions[l], np.take(cache.post[l + 1][j], row)
    d = np.concatenate([f(up) - before, f(down) - before])  # how far unit j's activation moves
    # the next layer's pre-activations in those rows, Z[n] + d * W[j, :]: the rank-1 update
    shape = (cache.pre[l + 1].shape[0], len(rows))
    z, change = cache.buffer("z", shape), cache.buffer("change", shape)
    np.take(cache.shifted_scores if shifted else cache.pre[l + 1], rows, axis=1, out=z, mode="clip")
    np.multiply.outer(cache.weights[l + 1][j], d, out=change)
    z += change
    for m in range(l + 1, last):  # and on through the rest of the network, as usual
        z = cache.weights[m + 1].T @ cache.functions[m](z)
        z += cache.biases[m + 1][:, None]
    return z


def near_enough_to_share_the_shift(cache: Cache, l: int, reach: float) -> bool:
    """Whether the perturbed rows of layer l may start from Cache.shifted_scores and skip the softmax's
    own shift: when the next layer is the output and no nudge moves a score by 100 or more (exp()
    overflows past 709). A unit of layer l moves by at most `reach`, its activation by no more (no
    activation's slope exceeds 1), and a score by that times |W_{l+1}[j, k]|."""
    if l + 1 != len(cache.pre) - 1:
        return False
    return reach * np.abs(cache.weights[l + 1]).max() < 100


def column_losses(
    last_layer: L.OutputLayer, scores: np.ndarray, labels: np.ndarray, shifted: bool = False
) -> np.ndarray:
    """The loss of each perturbed row, as OutputWithLoss defines it (the data loss is their mean):
        cross_entropy: loss_n = -log(y[t_n] + delta),   sum_squared: loss_n = 1/2 sum_k (y_k - T_k)^2,
    with y = output(scores). The rows are the columns of `scores` (overwritten); `labels` are their t_n.
    `shifted`: the scores need no shift before the softmax's exp()."""
    m = scores.shape[1]
    true = labels * m + np.arange(m)  # the flat index of each column's true class
    if last_layer.output == "softmax":  # y = exp(s - max) / sum(exp(s - max)), column by column
        if not shifted:
            scores -= scores.max(axis=0)
        np.exp(scores, out=scores)
        sums = scores.sum(axis=0)
        if last_layer.loss == "cross_entropy":  # only y[t] is needed
            return -np.log(np.take(scores, true) / sums + last_layer.delta)
        scores /= sums
    else:  # sigmoid or identity: entry by entry
        last_layer.activate(scores, out=scores)
    if last_layer.loss == "cross_entropy":
        return -np.log(np.take(scores, true) + last_layer.delta)
    scores.ravel()[true] -= 1  # y - T
    return 0.5 * np.einsum("km,km->m", scores, scores)


def work_per_pair(cache: Cache, l: int) -> int:
    """About how many floating-point operations one (input, row) pair of layer l costs, both signs."""
    widths = [z.shape[0] for z in cache.pre[min(l + 1, len(cache.pre) - 1):]]  # of what is computed
    return 2 * (8 * sum(widths) + 2 * sum(a * b for a, b in zip(widths, widths[1:])))


def activation_function(layer) -> Callable[[np.ndarray], np.ndarray]:
    """A hidden layer's activation as a plain function (the layer's own `forward` writes into the
    layer's buffers). Each gives the same bits as the layer."""
    if isinstance(layer, L.ReLU):
        return lambda z: np.maximum(z, 0)
    if isinstance(layer, L.LeakyReLU):
        return lambda z: np.where(z > 0, z, z * z.dtype.type(layer.slope))
    if isinstance(layer, L.Sigmoid):
        return lambda z: L.sigmoid_into(z, np.empty_like(z))
    if isinstance(layer, L.Tanh):
        return np.tanh
    raise TypeError(f"no activation function known for {type(layer).__name__}")


class Watch:
    """Cancellation and progress reports, in parameter entries done out of `total`."""

    def __init__(self, total: int, should_stop: ShouldStop, progress: Progress) -> None:
        self.total, self.should_stop, self.progress = total, should_stop, progress
        self.done = 0

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled("numerical gradient cancelled")

    def advance(self, entries: int) -> None:
        self.done += entries
        if self.progress is not None:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        if self.progress is not None and self.done != self.total:
            self.progress(self.total, self.total)


def naive_numerical_gradient(
    net: MLP, x: np.ndarray, t: np.ndarray, h: float = H, *, should_stop: ShouldStop = None, progress: Progress = None
) -> dict[str, np.ndarray]:
    """The book's method (MLP.numerical_gradient): core.gradient.numerical_gradient on every parameter,
    two full forward passes of the loss per entry. `should_stop` is asked before every entry."""
    total = sum(param.size for param in net.params.values())
    passes = 0

    def loss(_: np.ndarray) -> float:
        nonlocal passes
        if passes % 2 == 0:  # the first (+h) pass of an entry: a new entry starts
            done = passes // 2
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
            if should_stop is not None and should_stop():
                raise Cancelled("numerical gradient cancelled")
        passes += 1
        return net.loss(x, t)

    saved = {name: param.copy() for name, param in net.params.items()}
    try:
        grads = {name: numerical_gradient(loss, param, h) for name, param in net.params.items()}
    except BaseException:
        for name, param in net.params.items():  # an entry was left nudged by +h or -h
            np.copyto(param, saved[name])
        raise
    if progress is not None:
        progress(total, total)
    return grads


#: The methods of network_numerical_gradient, by name.
METHODS: dict[str, Callable[..., dict[str, np.ndarray]]] = {
    "fast": fast_numerical_gradient,
    "naive": naive_numerical_gradient,
}


def network_numerical_gradient(
    net: MLP, x: np.ndarray, t: np.ndarray, h: float = H, method: str = "fast", *,
    should_stop: ShouldStop = None, progress: Progress = None,
) -> dict[str, np.ndarray]:
    """dL/dparam of `net` by central differences, by the method of that name (see METHODS).
    `should_stop()` returning True raises Cancelled; `progress(done, total)` counts parameter entries.
    The parameters are left exactly as they were."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive number, got {h}")
    return METHODS[method](net, x, t, h, should_stop=should_stop, progress=progress)
