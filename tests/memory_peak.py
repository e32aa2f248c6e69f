"""Refusals that must not cost memory: a reader given a bomb says no before it inflates anything."""

from __future__ import annotations

import tracemalloc
from typing import Any, Callable

import pytest


def refused_within(error: type[Exception], read: Callable[[], Any], peak_allowed: int) -> str:
    """The message of the `error` that `read()` raises, asserting its memory peak stayed below `peak_allowed`."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as info:
            read()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < peak_allowed, f"the refusal took {peak:,} bytes at its peak"
    return str(info.value)
