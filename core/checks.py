"""The checks every setting goes through, and the error they raise.

    lr = number("lr", lr, low=0, low_open=True)      # a finite number > 0
    seed = whole("seed", seed, 0, 2**63 - 1)
    dtype = choice("dtype", dtype, ("float32", "float64"))

Each check returns the value in its plain Python type, or raises ConfigError, which names the field
(also kept as its `field` attribute, for a form to mark), the value and what is allowed:
"invalid <field>=<value>: expected <allowed>". The config, the optimizers and the network check
with these, so that a setting is refused in the same words wherever it is given; the datasets use
the tests beneath them (is_whole, is_number, in_interval) and say the interval in their own words.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable


class ConfigError(ValueError):
    """An invalid setting: the message names the field, the value and what is allowed.

    `field` is the setting at fault ("lr", "optimizer_params.momentum"), or None when the error is
    about no setting in particular (an unknown key, an unreadable file).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def invalid(field: str, value: Any, allowed: str) -> ConfigError:
    """The error for `field`=`value`, which is not `allowed`."""
    return ConfigError(f"invalid {field}={value!r}: expected {allowed}", field=field)


def is_whole(value: Any) -> bool:
    """Whether `value` is a whole number: an int (or NumPy integer), not a bool or a float."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether `value` is a real number (int or float, not a bool), NaN excluded."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def in_interval(value: float, low: float | None, high: float | None, low_open: bool = False,
                high_open: bool = False) -> bool:
    """Whether low <= value <= high: strict on an open end, no limit on an end that is None. The ends
    are compared with the value itself, so a whole number stays exact (2**63 - 1 is not rounded up
    past a limit of 2**63 - 1, as its float would be)."""
    above_low = low is None or (value > low if low_open else value >= low)
    below_high = high is None or (value < high if high_open else value <= high)
    return above_low and below_high


def whole(field: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int if it is a whole number from `low` to `high` (no limit on an end that is None)."""
    if low is None:
        allowed = "a whole number" if high is None else f"a whole number <= {high}"
    else:
        allowed = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"
    if not (is_whole(value) and in_interval(value, low, high)):
        raise invalid(field, value, allowed)
    return int(value)


def number(field: str, value: Any, low: float | None = None, high: float | None = None, *,
           low_open: bool = False, high_open: bool = False, allowed: str | None = None) -> float:
    """`value` as a float if it is a finite number between `low` and `high`: an end is included
    unless it is open, and no limit when it is None. `allowed` replaces the description of the
    interval in the message."""
    if allowed is None:
        allowed = describe_interval(low, high, low_open, high_open)
    if not (is_number(value) and in_interval(value, low, high, low_open, high_open)):
        raise invalid(field, value, allowed)
    try:
        x = float(value)
    except OverflowError:  # an int too big for a float
        raise invalid(field, value, allowed) from None
    if not math.isfinite(x):
        raise invalid(field, value, allowed)
    return x


def describe_interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """The numbers from `low` to `high` in words: "a number > 0", "a number from 0 to 0.5", ..."""
    if low is None and high is None:
        return "a number"
    if high is None:
        return f"a number {'>' if low_open else '>='} {low}"
    if low is None:
        return f"a number {'<' if high_open else '<='} {high}"
    if low_open and high_open:
        return f"a number strictly between {low} and {high}"
    if low_open:
        return f"a number above {low} up to {high}"
    if high_open:
        return f"a number from {low} up to (not including) {high}"
    return f"a number from {low} to {high}"


def choice(field: str, value: Any, choices: Iterable[str]) -> str:
    """`value` if it is one of the names `choices`."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise invalid(field, value, "one of " + ", ".join(choices))
    return value
