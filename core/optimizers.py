"""The update rules of chapter 6: SGD, Momentum, Nesterov, AdaGrad, RMSprop and Adam.

Each has the book's interface, `update(params, grads)`: every array of `params` changes in place,
`grads` is left as it is. The state (Momentum's v, AdaGrad's h, Adam's m and v) is a dict of arrays
keyed like `params`, zeros until the first update. Each update is written as its formula, with one
scratch array per parameter taking the intermediate products (`out=`), so that a training step
allocates nothing. A hyperparameter is a plain attribute: `opt.lr = 0.05` counts from the next
update (TrainingSession checks the value first).

`state_dict()` and `load_state_dict()` save and restore the state as flat keys ("v/W1", and "t"
for Adam), so a resumed run makes bit-identical updates.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from core.checks import ConfigError, number

#: Added to sqrt(h) (or sqrt(v)) in AdaGrad, RMSprop and Adam so that nothing is divided by 0.
EPSILON = 1e-7


class Optimizer:
    """What the six rules share: per-parameter state arrays, a scratch array each, saving them."""

    name = ""
    #: The per-parameter state dicts the rule keeps, as attributes of these names.
    state_names: tuple[str, ...] = ()

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self._scratch: dict[str, np.ndarray] = {}
        for state in self.state_names:
            setattr(self, state, {})

    def update(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _prepare(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Check that params and grads match, before anything is changed; give a parameter seen
        for the first time its scratch array and its state (zeros, or what load_state_dict read)."""
        if params.keys() != grads.keys():
            raise ValueError(f"params and grads have different keys: {sorted(params)} and {sorted(grads)}")
        for key, p in params.items():
            if p.dtype.kind != "f":
                raise TypeError(f"param {key!r} must be a floating-point array (it is updated in place), got {p.dtype}")
            if grads[key].shape != p.shape:
                raise ValueError(f"grad {key!r} has shape {grads[key].shape} but param {key!r} has shape {p.shape}")
            for state in self.state_names:
                arrays = getattr(self, state)
                if key in arrays and arrays[key].shape != p.shape:
                    raise ValueError(f"optimizer state {state}/{key} has shape {arrays[key].shape} "
                                     f"but param {key!r} has shape {p.shape}")
        for key, p in params.items():
            if key not in self._scratch:
                self._scratch[key] = np.empty_like(p)
                for state in self.state_names:
                    arrays = getattr(self, state)
                    arrays[key] = arrays[key].astype(p.dtype) if key in arrays else np.zeros_like(p)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the state: {"<state>/<param>": array}."""
        return {f"{state}/{key}": array.copy()
                for state in self.state_names for key, array in getattr(self, state).items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Take copies of a state_dict()'s arrays (ValueError, changing nothing, if it is not one).
        They are matched to the parameters, and cast to their dtype, on the next update."""
        loaded: dict[str, dict[str, np.ndarray]] = {name: {} for name in self.state_names}
        for flat_key, value in state.items():
            name, _, key = str(flat_key).partition("/")
            if name not in loaded or not key:
                valid = [f"{s}/<param>" for s in self.state_names]
                raise ValueError(f"unexpected key {flat_key!r} in {self.name} state; expected keys: {valid}")
            array = np.array(value, copy=True)
            if array.dtype.kind != "f":
                raise ValueError(f"state {flat_key!r} must be a floating-point array, got {array.dtype}")
            loaded[name][key] = array
        for key in set().union(*loaded.values()):
            missing = [f"{name}/{key}" for name in self.state_names if key not in loaded[name]]
            if missing:
                raise ValueError(f"{self.name} state for param {key!r} lacks {', '.join(missing)}")
            if len({loaded[name][key].shape for name in self.state_names}) > 1:
                raise ValueError(f"{self.name} state arrays for param {key!r} differ in shape")
        self._scratch.clear()
        for name, arrays in loaded.items():
            setattr(self, name, arrays)


class SGD(Optimizer):
    """Stochastic gradient descent (eq. 6.1):

        p = p - lr * g
    """

    name = "sgd"

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr)

    def update(self, params, grads):
        self._prepare(params, grads)
        for key, p in params.items():
            p -= np.multiply(grads[key], self.lr, out=self._scratch[key])


class Momentum(Optimizer):
    """SGD with momentum (eqs. 6.3, 6.4):

        v = momentum * v - lr * g
        p = p + v
    """

    name = "momentum"
    state_names = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = momentum

    def update(self, params, grads):
        self._prepare(params, grads)
        for key, p in params.items():
            v = self.v[key]
            v *= self.momentum
            v -= np.multiply(grads[key], self.lr, out=self._scratch[key])
            p += v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient as Bengio et al. (2012) rewrite it: the parameters move with
    the velocity from before this update, which is then updated.

        p = p + momentum * momentum * v - (1 + momentum) * lr * g
        v = momentum * v - lr * g
    """

    name = "nesterov"
    state_names = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = momentum

    def update(self, params, grads):
        self._prepare(params, grads)
        m, lr = self.momentum, self.lr
        for key, p in params.items():
            v, g, s = self.v[key], grads[key], self._scratch[key]
            p += np.multiply(v, m * m, out=s)
            p -= np.multiply(g, (1 + m) * lr, out=s)
            v *= m
            v -= np.multiply(g, lr, out=s)


class AdaGrad(Optimizer):
    """AdaGrad (eqs. 6.5, 6.6):

        h = h + g * g
        p = p - lr * g / (sqrt(h) + eps)
    """

    name = "adagrad"
    state_names = ("h",)

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr)

    def update(self, params, grads):
        self._prepare(params, grads)
        for key, p in params.items():
            h, g, s = self.h[key], grads[key], self._scratch[key]
            h += np.multiply(g, g, out=s)
            p -= _scaled_step(g, h, self.lr, s)


class RMSprop(Optimizer):
    """RMSprop, AdaGrad with a forgetting sum:

        h = decay_rate * h + (1 - decay_rate) * g * g
        p = p - lr * g / (sqrt(h) + eps)
    """

    name = "rmsprop"
    state_names = ("h",)

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99) -> None:
        super().__init__(lr)
        self.decay_rate = decay_rate

    def update(self, params, grads):
        self._prepare(params, grads)
        for key, p in params.items():
            h, g, s = self.h[key], grads[key], self._scratch[key]
            h *= self.decay_rate
            np.multiply(g, 1 - self.decay_rate, out=s)
            h += np.multiply(s, g, out=s)
            p -= _scaled_step(g, h, self.lr, s)


def _scaled_step(g: np.ndarray, h: np.ndarray, lr: float, out: np.ndarray) -> np.ndarray:
    """lr * g / (sqrt(h) + eps), computed in `out`."""
    np.sqrt(h, out=out)
    out += EPSILON
    np.divide(g, out, out=out)
    out *= lr
    return out


class Adam(Optimizer):
    """Adam, as the book codes it (t counts the updates):

        t = t + 1
        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        m = m + (1 - beta1) * (g - m)
        v = v + (1 - beta2) * (g * g - v)
        p = p - lr_t * m / (sqrt(v) + eps)
    """

    name = "adam"
    state_names = ("m", "v")

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        super().__init__(lr)
        self.beta1 = beta1
        self.beta2 = beta2
        self.t = 0

    def update(self, params, grads):
        self._prepare(params, grads)
        self.t += 1
        lr_t = self.lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for key, p in params.items():
            m, v, g, s = self.m[key], self.v[key], grads[key], self._scratch[key]
            np.subtract(g, m, out=s)
            m += np.multiply(s, 1 - self.beta1, out=s)
            np.multiply(g, g, out=s)
            s -= v
            v += np.multiply(s, 1 - self.beta2, out=s)
            p -= _scaled_step(m, v, lr_t, s)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {**super().state_dict(), "t": np.array(self.t, dtype=np.int64)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        t = np.asarray(state.get("t", -1))
        if t.shape != () or t.dtype.kind not in "iu" or int(t) < 0:
            raise ValueError(f"adam state needs its step count 't' as a whole number >= 0, got {state.get('t')!r}")
        super().load_state_dict({key: value for key, value in state.items() if key != "t"})
        self.t = int(t)


#: Every optimizer class by its `name`.
OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}

#: Each optimizer's hyperparameters with the book's defaults (its __init__'s, which a test compares).
DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.01, "momentum": 0.9},
    "nesterov": {"lr": 0.01, "momentum": 0.9},
    "adagrad": {"lr": 0.01},
    "rmsprop": {"lr": 0.01, "decay_rate": 0.99},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999},
}


def make_optimizer(name: str, **hyper: float) -> Optimizer:
    """The optimizer called `name` (case-insensitive), with `hyper` overriding its defaults.

    ConfigError (a ValueError) for an unknown name or hyperparameter, an lr that is not a finite
    number > 0, or a momentum, decay rate or beta outside [0, 1).
    """
    cls = OPTIMIZERS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}", field="optimizer")
    valid = DEFAULTS[cls.name]
    unknown = [key for key in hyper if key not in valid]
    if unknown:
        raise ConfigError(f"unknown hyperparameter {', '.join(map(repr, unknown))} for {cls.name}; "
                          f"valid: {', '.join(valid)}", field="optimizer_params")
    for key, value in hyper.items():
        if key == "lr":
            number(key, value, 0, low_open=True)
        else:
            number(key, value, 0, 1, high_open=True)
    return cls(**hyper)
