"""Comparing a computed value with a number as the notebook printed it, to its last printed digit."""

from decimal import Decimal

import numpy as np


def ulps_apart(a: float, b: float) -> int:
    """How many doubles lie between a and b, plus one (0 when equal)."""
    ia, ib = (int(np.array(v, dtype=np.float64).view(np.int64)) for v in (a, b))
    return abs(ia - ib)


def agrees_to_printed_digits(value: float, printed: str, ulps: int = 0) -> bool:
    """True when |value - printed| is at most half a unit of the printed number's last digit,
    or when value is within `ulps` doubles of the double that `printed` stands for."""
    exact = Decimal(printed)
    half_unit = Decimal(1).scaleb(exact.as_tuple().exponent) / 2
    if abs(Decimal(float(value)) - exact) <= half_unit:
        return True
    return ulps > 0 and np.sign(value) == np.sign(float(printed)) and ulps_apart(value, float(printed)) <= ulps
