"""TrainConfig: everything that defines a training run, validated, and read from / written to TOML.

    config = TrainConfig(dataset="circle", hidden=(8, 8), optimizer="adam", lr=0.01)
    config.to_toml("run.toml")
    config = TrainConfig.from_toml("run.toml").replace(epochs=50)

Every invalid value raises ConfigError (core.checks) naming the field, the value and what is allowed,
with the field also as its `field` attribute. Whether the
network fits in memory depends on the memory free at the time, so it is checked (check_memory) when a
network is built, before anything is allocated, not when the config is made.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from core.checks import ConfigError, choice, invalid, number, whole
from core.datasets import DATASETS, Dataset
from core.datasets.mnist import IMAGE_SHAPE
from core.datasets.toy2d import MAX_NOISE, MAX_SAMPLES, MIN_SAMPLES
from core.files import PathError, atomic_write, read_input
from core.layers import LOSSES, OUTPUTS, OutputWithLoss
from core.metrics import EVAL_CHUNK
from core.network import ACTIVATIONS, DTYPES, WEIGHT_INITS, check_weight_init
from core.optimizers import DEFAULTS, OPTIMIZERS, make_optimizer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: "numerical": central differences, layer-aware (core.numerical's "fast" method);
#: "numerical-naive": the notebook's two full forward passes per parameter entry.
GRADIENTS = ("backprop", "numerical", "numerical-naive")
#: "epoch": every epoch visits the training set once in a fresh random order.
#: "random": every batch is drawn with replacement, as the notebook's np.random.choice does.
SAMPLINGS = ("epoch", "random")
#: The memory limit when the available memory cannot be read.
FALLBACK_MEMORY_LIMIT = 4 * 2**30
MAX_SEED = 2**63 - 1
#: The largest config file read. One written by to_toml is under 1 KiB, a few KiB with a comment on
#: every line; the cap also bounds tomllib's worst case (its time grows with the square of a dotted
#: key's parts) to about a tenth of a second.
MAX_CONFIG_BYTES = 16 * 2**10
#: How deeply tables and arrays may nest in a config file (a config needs 2).
MAX_TOML_DEPTH = 8
#: The most steps or epochs a run may ask for (far beyond any real run; keeps counts, rates and
#: times within a float's range).
MAX_STEPS = 10**12


def _count(field: str, value: Any) -> int:
    """A number of steps or epochs: a whole number >= 1, and at most MAX_STEPS."""
    count = whole(field, value, 1)
    if count > MAX_STEPS:
        raise invalid(field, value, f"a whole number >= 1 and at most {MAX_STEPS:,}")
    return count


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Dataset knobs are passed to core.datasets.load_dataset.

    hidden: sizes of the hidden layers, () for none. weight_init: "he", "xavier" or a standard
    deviation. optimizer_params: extra hyperparameters of the optimizer besides lr (e.g.
    momentum), given as a dict and kept as sorted (name, value) pairs. steps: when set, the run
    lasts this many steps and `epochs` is ignored. eval_every: steps between evaluations; 0
    evaluates at the end of every epoch. Train loss and accuracy are measured on a fixed random
    subset of eval_samples training rows, test loss and accuracy on the whole test set.
    """

    dataset: str = "mnist-sample"
    data_dir: str | None = None
    noise: float = 0.0
    n_samples: int = 500
    test_ratio: float = 0.5
    subset_per_class: int | None = None
    validation: float = 0.0
    hidden: tuple[int, ...] = (100,)
    activation: str = "relu"
    output: str = "softmax"
    loss: str = "cross_entropy"
    weight_init: str | float = "he"
    optimizer: str = "sgd"
    optimizer_params: tuple[tuple[str, float], ...] = ()
    lr: float = 0.1
    batch_size: int = 100
    epochs: int = 10
    steps: int | None = None
    weight_decay: float = 0.0
    gradient: str = "backprop"
    sampling: str = "epoch"
    eval_every: int = 0
    eval_samples: int = 2000
    dtype: str = "float32"
    seed: int = 0

    def __post_init__(self) -> None:
        def set_(field: str, value: Any) -> None:
            object.__setattr__(self, field, value)

        choice("dataset", self.dataset, DATASETS)
        if self.data_dir is not None:
            if not isinstance(self.data_dir, (str, os.PathLike)) or not str(self.data_dir):
                raise invalid("data_dir", self.data_dir, "a directory path")
            set_("data_dir", os.fspath(self.data_dir))
            if os.path.expanduser(self.data_dir).startswith("~"):  # an unknown ~user stays as it is
                raise invalid("data_dir", self.data_dir, f"a directory path; {self.data_dir.split(os.sep)[0]} "
                                                         "is not a user's home folder here")
        set_("noise", number("noise", self.noise, 0, MAX_NOISE))
        set_("n_samples", whole("n_samples", self.n_samples, MIN_SAMPLES, MAX_SAMPLES))
        set_("test_ratio", number("test_ratio", self.test_ratio, 0, 1, low_open=True, high_open=True))
        if self.subset_per_class is not None:
            set_("subset_per_class", whole("subset_per_class", self.subset_per_class, 1))
        set_("validation", number("validation", self.validation, 0, 1, high_open=True))

        hidden, allowed = self.hidden, "a list of layer sizes, whole numbers >= 1, e.g. [100, 50] (or [] for none)"
        if not isinstance(hidden, (tuple, list)):
            raise invalid("hidden", hidden, allowed)
        try:
            set_("hidden", tuple(whole("hidden", size, 1) for size in hidden))
        except ConfigError:
            raise invalid("hidden", hidden, allowed) from None
        choice("activation", self.activation, ACTIVATIONS)
        choice("output", self.output, OUTPUTS)
        choice("loss", self.loss, LOSSES)
        try:
            OutputWithLoss(self.output, self.loss)
        except ValueError as exc:
            raise ConfigError(f"invalid output={self.output!r} with loss={self.loss!r}: {exc}",
                              field="output") from None
        set_("weight_init", check_weight_init(self.weight_init))

        choice("optimizer", self.optimizer, OPTIMIZERS)
        set_("lr", number("lr", self.lr, 0, low_open=True))
        set_("optimizer_params", self._check_optimizer_params())
        set_("batch_size", whole("batch_size", self.batch_size, 1))
        set_("epochs", _count("epochs", self.epochs))
        if self.steps is not None:
            set_("steps", _count("steps", self.steps))
        set_("weight_decay", number("weight_decay", self.weight_decay, 0))
        choice("gradient", self.gradient, GRADIENTS)
        choice("sampling", self.sampling, SAMPLINGS)
        set_("eval_every", whole("eval_every", self.eval_every, 0))
        set_("eval_samples", whole("eval_samples", self.eval_samples, 1))
        choice("dtype", self.dtype, DTYPES)
        self._check_scales()
        set_("seed", whole("seed", self.seed, 0, MAX_SEED))

    def _check_scales(self) -> None:
        """The initial standard deviation and the weight decay are at most the square root of the
        dtype's largest number (1.8e19 in float32, 1.3e154 in float64). Beyond it a weight, or its
        square in the decay's penalty, is no longer a finite number: the first network would be
        infinite, and a checkpoint of it one that cannot be loaded back."""
        limit = math.sqrt(float(np.finfo(self.dtype).max))
        if not isinstance(self.weight_init, str) and self.weight_init > limit:
            raise invalid("weight_init", self.weight_init, f"one of {', '.join(WEIGHT_INITS)} or a positive "
                                                           f"standard deviation of at most {limit:.3g} in {self.dtype}")
        if self.weight_decay > limit:
            raise invalid("weight_decay", self.weight_decay, f"a number >= 0 and at most {limit:.3g} in {self.dtype}")

    def _check_optimizer_params(self) -> tuple[tuple[str, float], ...]:
        params = self.optimizer_params
        if isinstance(params, Mapping):
            params = tuple(params.items())
        valid = [name for name in DEFAULTS[self.optimizer] if name != "lr"]
        allowed = f"hyperparameters of {self.optimizer}: " + (", ".join(valid) if valid else "none besides lr")
        try:
            pairs = {str(name): value for name, value in params}
        except (TypeError, ValueError):
            raise invalid("optimizer_params", self.optimizer_params, allowed) from None
        for name, value in pairs.items():
            if name not in valid:
                raise invalid("optimizer_params", {name: value}, allowed)
            pairs[name] = number(f"optimizer_params.{name}", value)
        try:
            make_optimizer(self.optimizer, lr=self.lr, **pairs)
        except ConfigError as exc:  # a hyperparameter out of its range
            raise ConfigError(f"invalid optimizer_params={pairs!r}: {exc}", field="optimizer_params") from None
        return tuple(sorted(pairs.items()))

    # ------------------------------------------------------------------ derived values

    @property
    def optimizer_kwargs(self) -> dict[str, float]:
        """The optimizer's hyperparameters: lr and optimizer_params together."""
        return {"lr": self.lr, **dict(self.optimizer_params)}

    def layer_sizes(self, n_features: int | None = None, n_classes: int | None = None) -> tuple[int, ...]:
        """(inputs, *hidden, outputs), by default for the configured dataset."""
        if n_features is None or n_classes is None:
            n_features, n_classes = dataset_shape(self.dataset)
        return (n_features, *self.hidden, n_classes)

    def steps_per_epoch(self, n_train: int) -> int:
        """Steps that make one pass over n_train rows (a last partial batch is dropped)."""
        return max(n_train // self.batch_size, 1)

    def total_steps(self, n_train: int) -> int:
        return self.steps if self.steps is not None else self.epochs * self.steps_per_epoch(n_train)

    def validate_against(self, dataset: Dataset) -> None:
        """Raise ConfigError if this config cannot train on `dataset` (its memory is checked when the
        network is built: core.training.build_network)."""
        if self.batch_size > dataset.n_train:
            raise ConfigError(
                f"invalid batch_size={self.batch_size}: expected at most the {dataset.n_train} "
                f"training rows of {dataset.name}", field="batch_size"
            )

    # ------------------------------------------------------------------ conversions

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (and validated)."""
        _check_keys(changes, "replace()")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists and dicts, None for unset), as JSON and TOML hold them."""
        out = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        out["hidden"] = list(self.hidden)
        out["optimizer_params"] = dict(self.optimizer_params)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> "TrainConfig":
        """A config from plain values; missing keys take their defaults, unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a table of settings, got {type(data).__name__}")
        _check_keys(data, source)
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> "TrainConfig":
        """A config from a TOML file: a regular file of at most MAX_CONFIG_BYTES, nested at most
        MAX_TOML_DEPTH deep. ConfigError, naming the file once, for anything else."""
        where = f"config file {os.fspath(path)}"
        try:
            text = read_input(path, "config file", max_bytes=MAX_CONFIG_BYTES).decode()
            data = tomllib.loads(text)
        except PathError as exc:  # it names the file
            raise ConfigError(str(exc)) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where} is not valid TOML: {exc}") from None
        except RecursionError:  # tomllib parses nested arrays and inline tables recursively
            raise _too_deep(where) from None
        if _depth(data) > MAX_TOML_DEPTH:
            raise _too_deep(where)
        _check_keys(data, where)
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}", field=exc.field) from None

    def to_toml(self, path: str | os.PathLike) -> None:
        """Write toml() to `path`, whole or not at all (core.files.atomic_write)."""
        text = self.toml().encode()
        atomic_write(path, lambda file: file.write(text))

    def toml(self) -> str:
        """The config as TOML text (unset fields, which TOML cannot write as None, left out)."""
        import tomli_w

        data = {key: value for key, value in self.to_dict().items() if value is not None}
        params = data.pop("optimizer_params")
        if params:
            data["optimizer_params"] = params  # a table: TOML wants tables after plain keys
        return tomli_w.dumps(data)


FIELDS = tuple(field.name for field in dataclasses.fields(TrainConfig))


def _too_deep(where: str) -> ConfigError:
    return ConfigError(f"{where} nests tables or arrays more than {MAX_TOML_DEPTH} deep "
                       f"(a config needs 2: a list of layer sizes, the optimizer's table)")


def _depth(value: Any) -> int:
    """How deeply lists and tables nest in `value` (0 for a plain value), without recursion."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            depth += 1
            pending.extend((child, depth) for child in children)
        deepest = max(deepest, depth)
    return deepest


def _check_keys(data: Mapping[str, Any], source: str) -> None:
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; valid keys: {', '.join(FIELDS)}")


def dataset_shape(name: str) -> tuple[int, int]:
    """(features, classes) of a registered dataset, known without loading it."""
    info = DATASETS[name]
    n_features = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] if info.kind == "image" else 2
    return n_features, len(info.class_names)


# ---------------------------------------------------------------------- memory


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs, roughly: parameters (weights, gradients, a backup copy, and a float64
    copy for numerical gradients), optimizer state (state arrays and a scratch buffer), and the
    activations of the largest forward/backward pass (a batch or an evaluation chunk)."""

    parameters: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.parameters + self.optimizer + self.activations


def estimate_memory(config: TrainConfig, n_features: int | None = None, n_classes: int | None = None) -> MemoryEstimate:
    sizes = config.layer_sizes(n_features, n_classes)
    itemsize = np.dtype(config.dtype).itemsize
    n_params = sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))
    probe = 8 * n_params if config.gradient != "backprop" else 0
    rows = max(config.batch_size, EVAL_CHUNK)
    return MemoryEstimate(
        parameters=3 * n_params * itemsize + probe,
        optimizer=(1 + len(OPTIMIZERS[config.optimizer].state_names)) * n_params * itemsize,
        activations=4 * rows * sum(sizes) * itemsize,
    )


def memory_limit() -> int:
    """Bytes a run may use: 80% of the memory available now (Linux), else FALLBACK_MEMORY_LIMIT."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 * 4 // 5
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_MEMORY_LIMIT


def check_memory(config: TrainConfig, n_features: int | None = None, n_classes: int | None = None) -> None:
    """Raise ConfigError, naming the sizes, if the run would not fit in memory."""
    need = estimate_memory(config, n_features, n_classes)
    limit = memory_limit()
    if need.total > limit:
        shape = "-".join(map(str, config.layer_sizes(n_features, n_classes)))
        remedies = "smaller hidden layers or batch_size" + (", or float32" if config.dtype == "float64" else "")
        raise ConfigError(
            f"invalid hidden={list(config.hidden)}: the network {shape} would need about "
            f"{format_bytes(need.total)} (parameters {format_bytes(need.parameters)}, optimizer state "
            f"{format_bytes(need.optimizer)}, activations {format_bytes(need.activations)}), more than "
            f"the {format_bytes(limit)} available; expected {remedies}", field="hidden"
        )


def format_bytes(n: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    if n >= 1024 ** len(units):  # absurd; and n / 1024 overflows for an int too big for a float
        return f"10^{round(math.log10(n))} B"
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024
        i += 1
    return f"{n:.0f} B" if i == 0 else f"{n:.1f} {units[i]}"
