"""The parameter-update rules of chapter 6: SGD, Momentum, Nesterov, AdaGrad, RMSprop and Adam.

Every optimizer has the book's interface, ``update(params, grads)``, which changes each array of
``params`` in place and leaves ``grads`` untouched.  The arithmetic follows the book's formulas
(written in each class docstring) but runs on the training hot path, so it allocates nothing per
step: on the first ``update`` each parameter gets its state arrays and one scratch buffer, of the
parameter's shape and dtype, and from then on every operation is a ufunc writing into one of them
(``out=``).  Hyperparameters are cast to the parameter's dtype, so float32 training stays float32.

Hyperparameters are validated attributes: ``opt.lr = 0.5 * opt.lr`` takes effect on the next
``update``, and ``opt.lr = -1`` raises ValueError.  ``state_dict()`` / ``load_state_dict()``
snapshot and restore the state (flat keys such as ``"v/W1"``, plus ``"t"`` for Adam) so that a
resumed run makes bit-identical updates.

``OPTIMIZERS`` maps each ``name`` to its class, ``make_optimizer("adam", lr=1e-3)`` builds one by
name, and ``DEFAULTS`` lists each optimizer's hyperparameters with their default values (taken
from the class's ``__init__`` signature, the single source of truth).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

__all__ = [
    "EPSILON",
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSprop",
    "Adam",
    "OPTIMIZERS",
    "DEFAULTS",
    "make_optimizer",
]

#: Added to sqrt(h) (or sqrt(v)) in AdaGrad, RMSprop and Adam so that nothing is divided by 0.
EPSILON = 1e-7


def _check_real(name: str, value: Any) -> float:
    """`value` as a float, or ValueError if it is not a finite real number (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return x


def _positive(name: str, value: Any) -> float:
    x = _check_real(name, value)
    if x <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def _unit_interval(name: str, value: Any) -> float:
    x = _check_real(name, value)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return x


class _Hyperparameter:
    """A validated float attribute; setting it also drops the optimizer's cached dtype-cast constants."""

    def __init__(self, check: Callable[[str, Any], float]) -> None:
        self.check = check
        self.name = ""
        self.attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.attr = "_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj, self.attr)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(obj, self.attr, self.check(self.name, value))
        obj._constants.clear()


@functools.lru_cache(maxsize=None)
def _signature_defaults(cls: type) -> dict[str, float]:
    """{name: default} of the keyword parameters of ``cls.__init__`` (cached; do not mutate)."""
    signature = inspect.signature(cls.__init__)
    return {
        name: float(parameter.default)
        for name, parameter in signature.parameters.items()
        if name != "self" and parameter.default is not inspect.Parameter.empty
    }


class Optimizer:
    """Base class: validation, lazily allocated per-parameter state, checkpointing.

    A subclass sets `name`, `state_names` (the per-parameter state arrays, e.g. ``("v",)``),
    declares its hyperparameters as `_Hyperparameter` attributes set in ``__init__`` (whose
    keyword defaults are the published defaults), and implements `_make_constants` and `_step`.
    """

    #: The registry name, as accepted by `make_optimizer`.
    name: ClassVar[str] = ""
    #: Names of the per-parameter state arrays, i.e. the prefixes of the `state_dict` keys.
    state_names: ClassVar[tuple[str, ...]] = ()

    lr = _Hyperparameter(_positive)

    def __init__(self) -> None:
        # key -> (scratch buffer, *state arrays in `state_names` order), bound on first sight of key.
        self._slots: dict[str, tuple[np.ndarray, ...]] = {}
        # key -> {state name: array}: loaded by `load_state_dict`, not yet bound to a parameter.
        self._pending: dict[str, dict[str, np.ndarray]] = {}
        # dtype -> hyperparameter-derived scalars of that dtype (cleared when a hyperparameter is set).
        self._constants: dict[np.dtype, tuple[Any, ...]] = {}

    # ----------------------------------------------------------------------------- introspection

    @classmethod
    def defaults(cls) -> dict[str, float]:
        """The hyperparameters' names and default values, in signature order (a fresh dict)."""
        return dict(_signature_defaults(cls))

    def hyperparameters(self) -> dict[str, float]:
        """The current hyperparameter values, e.g. ``{"lr": 0.01, "momentum": 0.9}``."""
        return {name: getattr(self, name) for name in _signature_defaults(type(self))}

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({values})"

    # ------------------------------------------------------------------------------------ update

    def update(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of `params` in place from `grads` (same keys and shapes).

        Everything is validated before any parameter is touched, so on ValueError or TypeError
        the parameters and the state's values are unchanged (zero state may have been allocated
        for parameters seen for the first time).
        """
        slots = self._slots
        if params.keys() != grads.keys():
            self._raise_key_mismatch(params, grads)
        for key, p in params.items():
            g = grads[key]
            if not isinstance(p, np.ndarray):
                raise TypeError(f"param {key!r} must be a numpy array, got {type(p).__name__}")
            if not isinstance(g, np.ndarray):
                raise TypeError(f"grad {key!r} must be a numpy array, got {type(g).__name__}")
            if g.dtype != p.dtype and g.dtype.kind not in "fiu":
                raise TypeError(f"grad {key!r} must be a real array, got dtype {g.dtype}")
            if g.shape != p.shape:
                raise ValueError(
                    f"grad {key!r} has shape {g.shape} but param {key!r} has shape {p.shape}"
                )
            slot = slots.get(key)
            if slot is None or slot[0].shape != p.shape or slot[0].dtype != p.dtype:
                self._bind(key, p)
        self._begin_step()
        constants = self._constants
        for key, p in params.items():
            dtype = p.dtype
            c = constants.get(dtype)
            if c is None:
                c = constants[dtype] = self._make_constants(dtype.type)
            self._step(p, grads[key], slots[key], c)

    def _begin_step(self) -> None:
        """Called once per `update`, after validation and before the first parameter is changed."""

    def _make_constants(self, cast: Callable[[float], Any]) -> tuple[Any, ...]:
        """The hyperparameter-derived scalars `_step` needs, each converted by `cast` (a dtype)."""
        raise NotImplementedError

    def _step(self, p: np.ndarray, g: np.ndarray, slot: tuple[np.ndarray, ...], c: tuple) -> None:
        """Update one parameter in place; `slot` is (scratch buffer, *state arrays)."""
        raise NotImplementedError

    @staticmethod
    def _raise_key_mismatch(params: Mapping[str, Any], grads: Mapping[str, Any]) -> None:
        missing = sorted(set(params) - set(grads))
        extra = sorted(set(grads) - set(params))
        parts = []
        if missing:
            parts.append(f"params without a grad: {missing}")
        if extra:
            parts.append(f"grads without a param: {extra}")
        raise ValueError("params and grads have different keys: " + "; ".join(parts))

    def _bind(self, key: str, p: np.ndarray) -> None:
        """Allocate (or adopt loaded / re-cast existing) state and a scratch buffer for param `key`."""
        if p.dtype.kind != "f":
            raise TypeError(
                f"param {key!r} must be a floating-point array (it is updated in place), "
                f"got dtype {p.dtype}"
            )
        if not p.flags.writeable:
            raise ValueError(f"param {key!r} is read-only; it must be updated in place")
        old = self._slots.get(key)
        if old is not None:
            source = dict(zip(self.state_names, old[1:]))
        else:
            source = self._pending.get(key, {})
        arrays = []
        for state_name in self.state_names:
            a = source.get(state_name)
            if a is None:
                a = np.zeros_like(p, subok=False)
            elif a.shape != p.shape:
                raise ValueError(
                    f"optimizer state {state_name}/{key} has shape {a.shape} but param {key!r} "
                    f"has shape {p.shape} (call reset() to start the state afresh)"
                )
            elif a.dtype != p.dtype:
                a = a.astype(p.dtype)
            arrays.append(a)
        self._slots[key] = (np.empty_like(p, subok=False), *arrays)
        self._pending.pop(key, None)

    # ------------------------------------------------------------------------------- checkpoints

    def reset(self) -> None:
        """Forget all state (velocities, accumulators, step count), keeping the hyperparameters."""
        self._slots.clear()
        self._pending.clear()

    def state_dict(self) -> dict[str, np.ndarray]:
        """A snapshot (copies) of the state: ``{"<state>/<param>": array}``; Adam adds ``"t"``."""
        out: dict[str, np.ndarray] = {}
        for i, state_name in enumerate(self.state_names, start=1):
            for key, slot in self._slots.items():
                out[f"{state_name}/{key}"] = slot[i].copy()
            for key, arrays in self._pending.items():
                out[f"{state_name}/{key}"] = arrays[state_name].copy()
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the state with a copy of `state` (as made by `state_dict`).

        The arrays are checked against the parameters' shapes on the next `update` (and cast to
        their dtype if they differ, e.g. a float64 checkpoint resumed in float32).  On error
        nothing is changed.
        """
        pending = self._parse_state(state, set())
        self._slots.clear()
        self._pending = pending

    def _parse_state(self, state: Mapping[str, Any], scalars: set[str]) -> dict[str, dict[str, np.ndarray]]:
        """Validate the per-parameter entries of `state` (ignoring the keys in `scalars`)."""
        by_key: dict[str, dict[str, np.ndarray]] = {}
        for flat_key, value in state.items():
            if flat_key in scalars:
                continue
            state_name, sep, key = str(flat_key).partition("/")
            if not sep or not key or state_name not in self.state_names:
                valid = [f"{s}/<param>" for s in self.state_names] + sorted(scalars)
                raise ValueError(
                    f"unexpected key {flat_key!r} in {self.name} state; expected keys: {valid}"
                )
            array = np.array(value, copy=True, subok=False)
            if array.dtype.kind != "f":
                raise ValueError(f"state {flat_key!r} must be a floating-point array, got {array.dtype}")
            by_key.setdefault(key, {})[state_name] = array
        for key, arrays in by_key.items():
            missing = [s for s in self.state_names if s not in arrays]
            if missing:
                raise ValueError(
                    f"{self.name} state for param {key!r} lacks " + ", ".join(f"{s}/{key}" for s in missing)
                )
            shapes = {a.shape for a in arrays.values()}
            if len(shapes) > 1:
                raise ValueError(f"{self.name} state arrays for param {key!r} differ in shape: {sorted(shapes)}")
        return by_key


class SGD(Optimizer):
    """Stochastic gradient descent.

        p = p - lr * g
    """

    name = "sgd"
    state_names = ()

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__()
        self.lr = lr

    def _make_constants(self, cast):
        return (cast(self._lr),)

    def _step(self, p, g, slot, c):
        (buf,) = slot
        (lr,) = c
        np.multiply(g, lr, out=buf)
        np.subtract(p, buf, out=p)


class Momentum(Optimizer):
    """SGD with momentum (v starts at 0).

        v = momentum * v - lr * g
        p = p + v
    """

    name = "momentum"
    state_names = ("v",)
    momentum = _Hyperparameter(_unit_interval)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__()
        self.lr = lr
        self.momentum = momentum

    def _make_constants(self, cast):
        return cast(self._lr), cast(self._momentum)

    def _step(self, p, g, slot, c):
        buf, v = slot
        lr, momentum = c
        np.multiply(v, momentum, out=v)
        np.multiply(g, lr, out=buf)
        np.subtract(v, buf, out=v)
        np.add(p, v, out=p)


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient, as Bengio et al. (2012) rewrite it and the book codes it (v
    starts at 0). The step uses the velocity from before this update, which is then updated:

        p = p + momentum * momentum * v - (1 + momentum) * lr * g
        v = momentum * v - lr * g
    """

    name = "nesterov"
    state_names = ("v",)
    momentum = _Hyperparameter(_unit_interval)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__()
        self.lr = lr
        self.momentum = momentum

    def _make_constants(self, cast):
        m, lr = self._momentum, self._lr
        return cast(lr), cast(m), cast(m * m), cast((1.0 + m) * lr)

    def _step(self, p, g, slot, c):
        buf, v = slot
        lr, momentum, momentum_sq, g_coef = c
        np.multiply(v, momentum_sq, out=buf)
        np.add(p, buf, out=p)
        np.multiply(g, g_coef, out=buf)
        np.subtract(p, buf, out=p)
        np.multiply(v, momentum, out=v)
        np.multiply(g, lr, out=buf)
        np.subtract(v, buf, out=v)


class AdaGrad(Optimizer):
    """AdaGrad (h starts at 0; eps = 1e-7).

        h = h + g * g
        p = p - lr * g / (sqrt(h) + eps)
    """

    name = "adagrad"
    state_names = ("h",)

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__()
        self.lr = lr

    def _make_constants(self, cast):
        return cast(self._lr), cast(EPSILON)

    def _step(self, p, g, slot, c):
        buf, h = slot
        lr, eps = c
        np.multiply(g, g, out=buf)
        np.add(h, buf, out=h)
        np.sqrt(h, out=buf)
        np.add(buf, eps, out=buf)
        np.divide(g, buf, out=buf)
        np.multiply(buf, lr, out=buf)
        np.subtract(p, buf, out=p)


class RMSprop(Optimizer):
    """RMSprop (h starts at 0; eps = 1e-7).

        h = decay_rate * h + (1 - decay_rate) * g * g
        p = p - lr * g / (sqrt(h) + eps)
    """

    name = "rmsprop"
    state_names = ("h",)
    decay_rate = _Hyperparameter(_unit_interval)

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99) -> None:
        super().__init__()
        self.lr = lr
        self.decay_rate = decay_rate

    def _make_constants(self, cast):
        d = self._decay_rate
        return cast(self._lr), cast(d), cast(1.0 - d), cast(EPSILON)

    def _step(self, p, g, slot, c):
        buf, h = slot
        lr, decay, one_minus_decay, eps = c
        np.multiply(h, decay, out=h)
        np.multiply(g, one_minus_decay, out=buf)
        np.multiply(buf, g, out=buf)
        np.add(h, buf, out=h)
        np.sqrt(h, out=buf)
        np.add(buf, eps, out=buf)
        np.divide(g, buf, out=buf)
        np.multiply(buf, lr, out=buf)
        np.subtract(p, buf, out=p)


class Adam(Optimizer):
    """Adam, in the book's form (m, v start at 0; t starts at 0 and counts updates; eps = 1e-7).

        t = t + 1
        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        m = m + (1 - beta1) * (g - m)
        v = v + (1 - beta2) * (g * g - v)
        p = p - lr_t * m / (sqrt(v) + eps)
    """

    name = "adam"
    state_names = ("m", "v")
    beta1 = _Hyperparameter(_unit_interval)
    beta2 = _Hyperparameter(_unit_interval)

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        super().__init__()
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        #: The number of updates made so far (the t of the bias correction).
        self.t = 0
        self._lr_t = 0.0

    def reset(self) -> None:
        super().reset()
        self.t = 0

    def _begin_step(self) -> None:
        self.t += 1
        t = self.t
        self._lr_t = self._lr * math.sqrt(1.0 - self._beta2**t) / (1.0 - self._beta1**t)

    def _make_constants(self, cast):
        return cast(1.0 - self._beta1), cast(1.0 - self._beta2), cast(EPSILON)

    def _step(self, p, g, slot, c):
        buf, m, v = slot
        one_minus_beta1, one_minus_beta2, eps = c
        np.subtract(g, m, out=buf)
        np.multiply(buf, one_minus_beta1, out=buf)
        np.add(m, buf, out=m)
        np.multiply(g, g, out=buf)
        np.subtract(buf, v, out=buf)
        np.multiply(buf, one_minus_beta2, out=buf)
        np.add(v, buf, out=v)
        np.sqrt(v, out=buf)
        np.add(buf, eps, out=buf)
        np.divide(m, buf, out=buf)
        np.multiply(buf, p.dtype.type(self._lr_t), out=buf)
        np.subtract(p, buf, out=p)

    def state_dict(self) -> dict[str, np.ndarray]:
        out = super().state_dict()
        out["t"] = np.array(self.t, dtype=np.int64)
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "t" not in state:
            raise ValueError("adam state lacks the step count 't'")
        t = np.asarray(state["t"])
        if t.shape != () or t.dtype.kind not in "iu" or int(t) < 0:
            raise ValueError(f"adam state 't' must be a 0-d non-negative integer array, got {state['t']!r}")
        pending = self._parse_state(state, {"t"})
        self._slots.clear()
        self._pending = pending
        self.t = int(t)


#: Every optimizer class by its `name`.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)
}

#: Each optimizer's hyperparameters and their defaults, e.g. ``DEFAULTS["adam"]["beta1"] == 0.9``.
DEFAULTS: dict[str, dict[str, float]] = {name: cls.defaults() for name, cls in OPTIMIZERS.items()}


def make_optimizer(name: str, **hyper: float) -> Optimizer:
    """The optimizer called `name` (case-insensitive), with `hyper` overriding its defaults."""
    cls = OPTIMIZERS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}")
    valid = DEFAULTS[cls.name]
    unknown = [k for k in hyper if k not in valid]
    if unknown:
        raise ValueError(
            f"unknown hyperparameter {', '.join(map(repr, unknown))} for {cls.name}; "
            f"valid: {', '.join(valid)}"
        )
    return cls(**hyper)
