"""Networks: the notebook's SimpleNet, and the multilayer perceptron (MLP) that everything trains.

An MLP is the book's MultiLayerNet: an ordered dict of named layers, Affine1 -> Relu1 -> Affine2 ->
... -> AffineL, and a last layer that applies the output function and the loss. Its parameters live
in `params` (W1, b1, W2, b2, ...), shared with the Affine layers and updated in place by the optimizers.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Sequence

import numpy as np

from core import layers as L
from core.checks import ConfigError, choice, invalid, number, whole
from core.functions import CROSS_ENTROPY_DELTA, cross_entropy_error, softmax
from core.gradient import H, numerical_gradient

ACTIVATIONS = {"relu": L.ReLU, "leaky_relu": L.LeakyReLU, "sigmoid": L.Sigmoid, "tanh": L.Tanh}
OUTPUTS = L.OUTPUTS
LOSSES = L.LOSSES
WEIGHT_INITS = ("xavier", "he")  # or a number: the standard deviation itself
DTYPES = ("float32", "float64")


def init_std(weight_init: float | str, fan_in: int) -> float:
    """The standard deviation of a layer's initial weights: a number, or
    xavier: sqrt(1 / fan_in) (Glorot & Bengio 2010, as the book gives it),
    he: sqrt(2 / fan_in) (He et al. 2015, for ReLU)."""
    if weight_init == "xavier":
        return math.sqrt(1.0 / fan_in)
    if weight_init == "he":
        return math.sqrt(2.0 / fan_in)
    return float(weight_init)


class MLP:
    """A multilayer perceptron: sizes = (inputs, hidden..., outputs).

    loss(x, t) = data loss + weight_decay / 2 * sum over layers of ||W||^2 (biases are not decayed).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        output: str = "softmax",
        loss: str = "cross_entropy",
        weight_init: float | str = 0.01,
        weight_decay: float = 0.0,
        dtype: str | np.dtype = "float64",
        seed: int | None = None,
        log_delta: float = CROSS_ENTROPY_DELTA,
    ) -> None:
        check_settings(sizes, activation, weight_init, weight_decay, log_delta, dtype)
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = activation
        self.weight_init = weight_init
        self.weight_decay = float(weight_decay)
        self.dtype = np.dtype(dtype)
        self.log_delta = float(log_delta)
        self.last_loss = math.nan  # the loss of the last call to `gradient`

        # the weights, W ~ N(0, std^2), and the biases, 0
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes, self.sizes[1:]), start=1):
            std = init_std(weight_init, fan_in)
            self.params[f"W{i}"] = (std * rng.standard_normal((fan_in, fan_out))).astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, self.dtype)

        # the layers, in order, sharing the arrays in `params`
        activation_name = activation.title().replace("_", "")  # "relu" -> Relu1, "leaky_relu" -> LeakyRelu1
        self.layers: OrderedDict[str, object] = OrderedDict()
        for i in range(1, self.depth + 1):
            # the first layer needs no dx: nothing is before it
            self.layers[f"Affine{i}"] = L.Affine(self.params[f"W{i}"], self.params[f"b{i}"], input_grad=i > 1)
            if i < self.depth:
                self.layers[f"{activation_name}{i}"] = ACTIVATIONS[activation]()
        self.last_layer = L.OutputWithLoss(output, loss, log_delta)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The last Affine layer's output, before the output function (a buffer: see core.layers)."""
        x = self.check_input(x)
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's outputs y = output(scores(x)): class probabilities for softmax (a new array)."""
        return self.last_layer.activate(self.scores(x))

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        data_loss = self.last_layer.forward(self.scores(x), t)
        return data_loss + self.decay_loss()

    def decay_loss(self) -> float:
        if self.weight_decay == 0:
            return 0.0
        squares = sum(float(np.sum(np.square(self.params[f"W{i}"], dtype=np.float64))) for i in range(1, self.depth + 1))
        return 0.5 * self.weight_decay * squares

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int = 2000) -> float:
        """The fraction of rows whose highest output is the true class; evaluated in chunks."""
        x = self.check_input(x)
        labels = L.labels_of(t, (x.shape[0], self.sizes[-1]))
        if x.shape[0] == 0:
            return 0.0
        correct = 0
        for start in range(0, x.shape[0], batch_size):
            scores = self.scores(x[start:start + batch_size])
            correct += int(np.sum(scores.argmax(axis=1) == labels[start:start + batch_size]))
        return correct / x.shape[0]

    def gradient(self, x: np.ndarray, t: np.ndarray, include_delta: bool = False) -> dict[str, np.ndarray]:
        """dL/dparam for every parameter, by backpropagation: the chain rule, layer by layer, backwards.

        The returned arrays are the layers' own buffers, overwritten by the next call.
        `include_delta`: differentiate the cross-entropy with its delta (see OutputWithLoss).
        The loss at these weights, computed on the way, is kept in `last_loss`.
        """
        self.last_loss = self.loss(x, t)  # forward
        dout = self.last_layer.backward(include_delta)  # backward
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads: dict[str, np.ndarray] = {}
        for i in range(1, self.depth + 1):
            affine = self.layers[f"Affine{i}"]
            if self.weight_decay:
                affine.dW += self.weight_decay * affine.W
            grads[f"W{i}"] = affine.dW
            grads[f"b{i}"] = affine.db
        return grads

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray, h: float = H) -> dict[str, np.ndarray]:
        """dL/dparam by central differences, (L(p + h) - L(p - h)) / 2h for every parameter entry p:
        the book's method, two full forward passes per entry (slow on purpose, for teaching).
        Training and the gradient check use core.numerical's fast method, which agrees to rounding."""
        return {name: numerical_gradient(lambda _: self.loss(x, t), param, h) for name, param in self.params.items()}

    @property
    def depth(self) -> int:
        """The number of Affine layers (weight matrices)."""
        return len(self.sizes) - 1

    @property
    def output(self) -> str:
        return self.last_layer.output

    @property
    def loss_name(self) -> str:
        return self.last_layer.loss

    def check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"the network takes inputs of shape (batch, {self.sizes[0]}), got {x.shape}")
        return x

    def astype(self, dtype: str | np.dtype) -> "MLP":
        """A new network of the same shape and settings, with this one's parameters cast to `dtype`."""
        twin = MLP(
            self.sizes, self.activation, self.output, self.loss_name, self.weight_init,
            self.weight_decay, dtype, seed=0, log_delta=self.log_delta,
        )
        twin.set_params(self.params)
        return twin

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy `params` into the network's own arrays (which the layers and optimizers hold on to)."""
        if set(params) != set(self.params):
            raise ValueError(f"expected parameters {sorted(self.params)}, got {sorted(params)}")
        for name, value in params.items():
            value = np.asarray(value)
            if value.shape != self.params[name].shape:
                raise ValueError(f"parameter {name} has shape {self.params[name].shape}, got {value.shape}")
            np.copyto(self.params[name], value, casting="same_kind")


class TwoLayerNet(MLP):
    """The book's two-layer network: input -> sigmoid hidden layer -> output, weights ~ N(0, std^2).

    The notebook applies a sigmoid to the output too (`output="sigmoid"`); the book uses softmax.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        *,
        activation: str = "sigmoid",
        output: str = "softmax",
        seed: int | None = None,
    ) -> None:
        super().__init__(
            (input_size, hidden_size, output_size),
            activation=activation,
            output=output,
            loss="cross_entropy",
            weight_init=weight_init_std,
            seed=seed,
        )


class SimpleNet:
    """The notebook's SimpleNN: one 2x3 weight matrix, softmax and cross-entropy, W ~ randn after seed 42."""

    def __init__(self, W: np.ndarray | None = None) -> None:
        self.W = np.random.RandomState(42).randn(2, 3) if W is None else np.array(W, dtype=float)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return x @ self.W

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        return cross_entropy_error(softmax(self.predict(x)), t)

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return numerical_gradient(lambda _: self.loss(x, t), self.W)


def check_settings(sizes, activation, weight_init, weight_decay, log_delta, dtype) -> None:
    """ConfigError (a ValueError), naming the setting, its value and what is allowed, for an MLP that
    cannot be built. (The output and loss are checked by OutputWithLoss.)"""
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise invalid("sizes", sizes, "at least an input and an output size")
    try:
        for size in sizes:
            whole("sizes", size, 1)
    except ConfigError:
        raise invalid("sizes", sizes, "layer sizes, whole numbers >= 1") from None
    choice("activation", activation, ACTIVATIONS)
    check_weight_init(weight_init)
    number("weight_decay", weight_decay, 0)
    number("log_delta", log_delta, 0)
    if np.dtype(dtype).name not in DTYPES:
        raise invalid("dtype", dtype, "one of " + ", ".join(DTYPES))


def check_weight_init(weight_init: float | str) -> float | str:
    """`weight_init` if it names an initialization (WEIGHT_INITS) or is a standard deviation > 0
    (as a float); ConfigError otherwise."""
    allowed = f"one of {', '.join(WEIGHT_INITS)} or a positive standard deviation"
    if isinstance(weight_init, str):
        if weight_init not in WEIGHT_INITS:
            raise invalid("weight_init", weight_init, allowed)
        return weight_init
    return number("weight_init", weight_init, 0, low_open=True, allowed=allowed)
