"""The exceptions dataset problems are reported with, and the knob checks that raise them.

DatasetError: data that cannot be loaded (a missing or damaged file, no network) or a setting that
cannot work. SettingError, the second kind, is also a ConfigError: a usage error, as an invalid
setting of a run is (the CLI exits 2 for it, and 1 for the first kind).
"""

from __future__ import annotations

import numbers


class ConfigError(ValueError):
    """An invalid setting: the message names the field, the value and what is allowed.

    Defined here, at the bottom of core, so that SettingError can be one; core.config re-exports it.
    """


class DatasetError(Exception):
    """A dataset could not be loaded: the message names the file or knob and what is wrong with it."""


class SettingError(DatasetError, ConfigError):
    """A dataset setting (knob) that cannot work, alone or with this data: named, with what is allowed."""


def check_range(knob: str, value: float, low: float, high: float, *,
                low_open: bool = False, high_open: bool = False) -> None:
    """Raise SettingError unless `value` is a number with `low <= value <= high` (strict on an open end)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise SettingError(f"{knob}={value!r} is not a number")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise SettingError(f"{knob}={value!r} is out of range: allowed {interval}")


def check_whole(knob: str, value: int) -> None:
    """Raise SettingError unless `value` is a whole number (an int, not a bool or float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SettingError(f"{knob}={value!r} is not a whole number")
