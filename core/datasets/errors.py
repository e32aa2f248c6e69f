"""The one exception every dataset problem is reported with, and the knob checks that raise it."""

from __future__ import annotations

import numbers


class DatasetError(Exception):
    """A dataset could not be loaded: the message names the file or knob and what is wrong with it."""


def check_range(knob: str, value: float, low: float, high: float, *,
                low_open: bool = False, high_open: bool = False) -> None:
    """Raise DatasetError unless `value` is a number with `low <= value <= high` (strict on an open end)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise DatasetError(f"{knob}={value!r} is not a number")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise DatasetError(f"{knob}={value!r} is out of range: allowed {interval}")


def check_whole(knob: str, value: int) -> None:
    """Raise DatasetError unless `value` is a whole number (an int, not a bool or float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DatasetError(f"{knob}={value!r} is not a whole number")
