"""One description of every TrainConfig setting: its flags, its label in the form, its help, and how
it is read from text. The CLI builds its flags from SETTINGS and the form its labels and parsers, so a
new setting is described here once.

    SETTINGS["hidden"].parse("100,50")     # (100, 50)
    SETTINGS["weight_init"].parse("0.01")  # 0.01
    SETTINGS["lr"].parse("abc")            # ConfigError: 'abc' is not a number  (field "lr")

A parser reads what a person typed and raises ConfigError (core.checks), with the field at fault, when
it is not that kind of value; its message is written to stand beside the field's name (the CLI prints
"argument --lr: ...", the form shows it under the row). Whether the value is allowed (lr > 0, a known
dataset) is TrainConfig's check, not the parser's; the lists of names live with what they name
(core.optimizers, core.network, ...) and a help that lists them is written out here.
This module imports nothing heavier than core.checks, so that `scratchnet --help` stays instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from core.checks import ConfigError

# ---------------------------------------------------------------------- parsers from text


def parse_name(field: str, text: str) -> str:
    """A name or a path, as typed (TrainConfig checks it)."""
    return text


def parse_whole(field: str, text: str) -> int:
    """'1_000' -> 1000."""
    text = text.strip().replace("_", "")
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a whole number" if text else "required: a whole number",
                          field=field) from None


def parse_number(field: str, text: str) -> float:
    """'0.01' -> 0.01; a finite number only."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a number" if text else "required: a number", field=field) from None
    if not math.isfinite(value):
        raise ConfigError(f"{text!r} is not a finite number", field=field)
    return value


def parse_hidden(field: str, text: str) -> tuple[int, ...]:
    """'100,50' (or '100 50', '100;50') -> (100, 50); '' or 'none' -> () (no hidden layer)."""
    if text.strip().lower() == "none":
        return ()
    sizes = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        try:
            size = int(part)
        except ValueError:
            raise ConfigError(f"{part.strip()!r} is not a whole number; write layer sizes like 100,50 "
                              f"(or none for no hidden layer)", field=field) from None
        if size < 1:
            raise ConfigError(f"layer sizes must be >= 1, got {size}", field=field)
        sizes.append(size)
    return tuple(sizes)


def parse_weight_init(field: str, text: str) -> str | float:
    """'he', 'Xavier' -> the initialization's name; '0.01' -> a standard deviation > 0."""
    from core.network import WEIGHT_INITS  # here, not above: core.network imports NumPy

    name = text.strip().lower()
    if name in WEIGHT_INITS:
        return name
    try:
        value = float(name)
    except ValueError:
        raise ConfigError(f"choose {' or '.join(WEIGHT_INITS)} or a standard deviation such as 0.01",
                          field=field) from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError("a standard deviation must be a positive number", field=field)
    return value


def parse_hyperparameter(field: str, text: str) -> tuple[str, float]:
    """'momentum=0.9' -> ("momentum", 0.9)."""
    name, _, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not name.strip() or number is None:
        raise ConfigError(f"expected NAME=NUMBER, e.g. momentum=0.9, got {text!r}", field=field)
    return name.strip(), number


# ---------------------------------------------------------------------- the settings


@dataclass(frozen=True)
class Setting:
    """A TrainConfig field as people meet it: `flags` on the command line (with `metavar` in the
    help), `label` in the form (at most 10 characters), `help`, and `reads`, its parser from text."""

    name: str
    flags: tuple[str, ...]
    label: str
    metavar: str
    help: str
    reads: Callable[[str, str], Any]

    def parse(self, text: str) -> Any:
        """The value `text` describes; ConfigError, with this setting as its field, if it describes none."""
        return self.reads(self.name, text)


def _setting(name: str, label: str, metavar: str, help: str, reads: Callable[[str, str], Any],
             flags: tuple[str, ...] = ()) -> Setting:
    """A setting whose flag is its name with dashes (--batch-size), besides any `flags` given first."""
    return Setting(name, (*flags, "--" + name.replace("_", "-")), label, metavar, help, reads)


#: Every TrainConfig field, in the dataclass's order, by name.
SETTINGS: dict[str, Setting] = {setting.name: setting for setting in (
    _setting("dataset", "dataset", "NAME", "dataset to train on (see `scratchnet datasets`)", parse_name),
    _setting("data_dir", "data dir", "DIR", "where to find or download MNIST / Fashion-MNIST", parse_name),
    _setting("noise", "noise", "X",
             "2-D problems, 0 to 0.5: flips labels near the boundary (circle, xor), widens the clusters (gauss), "
             "jitters the points (spiral, moons)", parse_number),
    _setting("n_samples", "points", "N", "2-D problems: number of points", parse_whole),
    _setting("test_ratio", "test ratio", "X", "2-D problems: fraction of points kept for testing", parse_number),
    _setting("subset_per_class", "per class", "N", "train on N examples of each class", parse_whole),
    _setting("validation", "validation", "X", "hold out this fraction of the training set as the test set",
             parse_number),
    _setting("hidden", "hidden", "SIZES", "hidden layer sizes, e.g. 100,50 (none: no hidden layer)", parse_hidden),
    _setting("activation", "activation", "NAME", "hidden-layer activation, e.g. relu, sigmoid, tanh", parse_name),
    _setting("output", "output", "NAME", "output function, e.g. softmax", parse_name),
    _setting("loss", "loss", "NAME", "loss function, e.g. cross_entropy", parse_name),
    _setting("weight_init", "init", "INIT", "weight init: he, xavier or a standard deviation", parse_weight_init,
             flags=("--init",)),
    _setting("optimizer", "optimizer", "NAME", "sgd, momentum, nesterov, adagrad, rmsprop or adam", parse_name),
    Setting("optimizer_params", ("--optimizer-param",), "params", "NAME=X",
            "an optimizer hyperparameter besides lr, e.g. momentum=0.9 (repeatable)", parse_hyperparameter),
    _setting("lr", "learn rate", "X", "learning rate", parse_number),
    _setting("batch_size", "batch", "N", "rows per training step", parse_whole),
    _setting("epochs", "epochs", "N", "passes over the training set", parse_whole),
    _setting("steps", "steps", "N", "train this many steps instead of --epochs", parse_whole),
    _setting("weight_decay", "wt decay", "X", "L2 penalty on the weights", parse_number),
    _setting("gradient", "gradient", "METHOD", "backprop, numerical or numerical-naive", parse_name),
    _setting("sampling", "sampling", "HOW", "epoch (shuffled passes) or random (draws with replacement)",
             parse_name),
    _setting("eval_every", "eval every", "N", "evaluate every N steps (0: every epoch)", parse_whole),
    _setting("eval_samples", "eval rows", "N", "training rows sampled to measure train accuracy", parse_whole),
    _setting("dtype", "dtype", "TYPE", "float32 or float64", parse_name),
    _setting("seed", "seed", "N", "random seed (weights, batches, data)", parse_whole),
)}
