"""The exceptions dataset problems are reported with, and the knob checks that raise them.

DatasetError: data that cannot be loaded (a missing or damaged file, no network) or a setting that
cannot work. SettingError, the second kind, is also a ConfigError: a usage error, as an invalid
setting of a run is (the CLI exits 2 for it, and 1 for the first kind). The knobs are checked with
core.checks (where ConfigError is defined), in the words of an interval: "allowed [0.0, 0.5]".
"""

from __future__ import annotations

from core.checks import ConfigError, in_interval, is_number, is_whole


class DatasetError(Exception):
    """A dataset could not be loaded: the message names the file or knob and what is wrong with it."""


class SettingError(DatasetError, ConfigError):
    """A dataset setting (knob) that cannot work, alone or with this data: named (also as `field`),
    with what is allowed."""


def check_range(knob: str, value: float, low: float, high: float, *,
                low_open: bool = False, high_open: bool = False) -> None:
    """Raise SettingError unless `value` is a number with `low <= value <= high` (strict on an open end)."""
    if not is_number(value):
        raise SettingError(f"{knob}={value!r} is not a number", field=knob)
    if not in_interval(value, low, high, low_open, high_open):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise SettingError(f"{knob}={value!r} is out of range: allowed {interval}", field=knob)


def check_whole(knob: str, value: int) -> None:
    """Raise SettingError unless `value` is a whole number (an int, not a bool or float)."""
    if not is_whole(value):
        raise SettingError(f"{knob}={value!r} is not a whole number", field=knob)
